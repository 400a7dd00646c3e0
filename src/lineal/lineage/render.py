"""Graph's text renderings: Graphviz, Mermaid and the text tree (lineal.lineage.graph)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lineal.lineage.through import Through

if TYPE_CHECKING:
    from lineal.lineage.graph import Graph, Link, Node

_DOT_SHAPES = {"artifact": "box", "run": "ellipse", "agent": "house"}
_MERMAID_SHAPES = {"artifact": ("[", "]"), "run": ("([", "])"), "agent": ("{{", "}}")}


def via(link: Link) -> str:
    """How a link reads beside its arrow."""
    if isinstance(link, Through):
        return f"via {link.hidden} hidden"
    return f"{link.kind} ({link.role})" if link.role else link.kind


def _quote_dot(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quote_mermaid(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def dot(graph: Graph) -> str:
    """Graph.to_dot."""
    lines = ["digraph lineage {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    roots = set(graph.roots)
    for node in graph.walk():
        style = ", style=bold" if node.id in roots else ""
        lines.append(
            f"  {_quote_dot(node.id)} [label={_quote_dot(node.text)}, "
            f"shape={_DOT_SHAPES[node.type]}{style}];"
        )
    for link in graph.links:
        dashed = ", style=dashed" if isinstance(link, Through) else ""
        lines.append(
            f"  {_quote_dot(link.parent)} -> {_quote_dot(link.child)} "
            f"[label={_quote_dot(via(link))}{dashed}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def mermaid(graph: Graph) -> str:
    """Graph.to_mermaid."""
    names: dict[str, str] = {}
    lines = ["flowchart LR"]
    for node in graph.walk():
        names[node.id] = f"n{len(names)}"
        opening, closing = _MERMAID_SHAPES[node.type]
        lines.append(f"  {names[node.id]}{opening}{_quote_mermaid(node.text)}{closing}")
    for link in graph.links:
        arrow = "-.->" if isinstance(link, Through) else "-->"
        lines.append(
            f"  {names[link.parent]} {arrow}|{_quote_mermaid(via(link))}| {names[link.child]}"
        )
    return "\n".join(lines) + "\n"


def tree(graph: Graph, *, max_lines: int, max_depth: int, max_children: int) -> list[str]:
    """Graph.to_tree."""
    lines: list[str] = []
    shown: set[str] = set()
    expanded: set[str] = set()
    # (a node, or a note line; the link that led here; line prefix; child indent; level)
    stack: list[tuple[Node | str, Link | None, str, str, int]] = [
        (graph.nodes[root], None, "", "", 0) for root in reversed(graph.roots)
    ]
    while stack and len(lines) < max_lines:
        item, edge, head, indent, level = stack.pop()
        if isinstance(item, str):
            lines.append(f"{head}{item}")
            continue
        said = "" if edge is None else f"{via(edge)}: "
        if isinstance(edge, Through):
            said = f"⋯ {said}"
        onward = graph._onward(item.id)
        if item.id in expanded and onward:
            lines.append(f"{head}{said}(see above: {item.label})")
            continue
        lines.append(f"{head}{said}{item.text}")
        shown.add(item.id)
        if not onward:
            continue
        if level >= max_depth:
            stack.append(("└── … deeper levels not shown", None, indent, indent, level))
            continue
        expanded.add(item.id)
        entries: list[tuple[Node | str, Link | None, str, str, int]] = []
        for e, node in onward[:max_children]:
            entries.append((node, e, "", "", level + 1))
        if len(onward) > max_children:
            entries.append((f"… {len(onward) - max_children} more", None, "", "", level))
        for index, (entry, link, _, _, lvl) in enumerate(entries):
            last = index == len(entries) - 1
            branch, extend = ("└── ", "    ") if last else ("├── ", "│   ")
            entries[index] = (entry, link, indent + branch, indent + extend, lvl)
        stack.extend(reversed(entries))
    left_out = len(set(graph.nodes) - shown)
    if left_out:
        lines.append(
            f"… {left_out} more node{'s' if left_out != 1 else ''} not shown "
            "(narrow the answer with a depth or kinds, or render it as JSON)"
        )
    lines.append(graph.footer())
    return lines
