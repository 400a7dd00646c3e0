"""The answer to a lineage query: a Graph of Nodes and Edges, and its renderings as JSON-shaped
data, Graphviz, Mermaid and a text tree. Pure values and text; never reads a store or prints.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from lineal.errors import InvalidInput
from lineal.model.entities import Edge

NODE_TYPES = ("artifact", "run", "agent")
DIRECTIONS = ("upstream", "downstream", "path")


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """One node of an answer, described as of the answer's moment.

    ``label`` is the best reference to it (``dataset/x@v3``, ``run/ID``, ``agent/NAME`` or the
    digest); ``depth`` the least number of edges from the query's root(s); ``aliases`` the
    ``KIND/NAME:ALIAS`` references that pointed at it then.
    """

    id: str
    type: str
    kind: str
    label: str
    name: str | None = None
    version: int | None = None
    status: str | None = None
    depth: int = 0
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in NODE_TYPES:
            raise InvalidInput(f"bad node type {self.type!r}: expected {', '.join(NODE_TYPES)}")
        if isinstance(self.depth, bool) or not isinstance(self.depth, int) or self.depth < 0:
            raise InvalidInput(f"bad depth {self.depth!r}: expected a non-negative integer")

    @property
    def text(self) -> str:
        """The label with what a reader wants beside it: a run's name and status, aliases."""
        if self.type == "run":
            return f"{self.label} {self.name} ({self.status})"
        if not self.aliases:
            return self.label
        own = f"{self.kind}/{self.name}:"
        held = [a.removeprefix(own) if a.startswith(own) else a for a in self.aliases]
        return f"{self.label} [{', '.join(held)}]"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "kind": self.kind,
            "label": self.label,
            "name": self.name,
            "version": self.version,
            "status": self.status,
            "depth": self.depth,
            "aliases": list(self.aliases),
        }


def _via(edge: Edge) -> str:
    return f"{edge.kind} ({edge.role})" if edge.role else edge.kind


def _quote_dot(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quote_mermaid(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


_DOT_SHAPES = {"artifact": "box", "run": "ellipse", "agent": "house"}
_MERMAID_SHAPES = {"artifact": ("[", "]"), "run": ("([", "])"), "agent": ("{{", "}}")}


@dataclass(frozen=True, slots=True, kw_only=True)
class Graph:
    """Nodes reached from ``roots`` going ``direction`` (upstream, downstream, or the nodes on
    the paths from the roots down to a target), with the edges among them, as of seq
    ``as_of`` (None: now)."""

    roots: tuple[str, ...]
    direction: str
    nodes: Mapping[str, Node]
    edges: tuple[Edge, ...] = ()
    as_of: int | None = None
    _links: tuple[dict[str, list[Edge]], dict[str, list[Edge]]] | None = field(
        init=False, default=None, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise InvalidInput(
                f"bad direction {self.direction!r}: expected {', '.join(DIRECTIONS)}"
            )
        object.__setattr__(self, "roots", tuple(self.roots))
        object.__setattr__(self, "nodes", dict(self.nodes))
        object.__setattr__(self, "edges", tuple(self.edges))
        held = self.nodes.keys()
        ends = {e.parent for e in self.edges} | {e.child for e in self.edges}
        missing = [r for r in self.roots if r not in held] + sorted(ends - held)
        if missing:
            raise InvalidInput(f"graph refers to nodes it does not hold: {missing[:3]}")

    def _adjacent(self) -> tuple[dict[str, list[Edge]], dict[str, list[Edge]]]:
        """(edges into each node, edges out of each node), built on first use."""
        if self._links is None:
            up: dict[str, list[Edge]] = {}
            down: dict[str, list[Edge]] = {}
            for edge in self.edges:
                up.setdefault(edge.child, []).append(edge)
                down.setdefault(edge.parent, []).append(edge)
            object.__setattr__(self, "_links", (up, down))
        assert self._links is not None  # noqa: S101 - set just above
        return self._links

    # -- navigation ----------------------------------------------------------------------
    def _sorted(self, ids: Iterable[str]) -> list[Node]:
        nodes = (self.nodes[i] for i in set(ids))
        return sorted(nodes, key=lambda n: (n.depth, n.kind, n.label, n.id))

    def parents(self, node_id: str) -> list[Node]:
        """The nodes with an edge into ``node_id`` (its direct upstream)."""
        return self._sorted(e.parent for e in self._adjacent()[0].get(node_id, ()))

    def children(self, node_id: str) -> list[Node]:
        """The nodes ``node_id`` has an edge to (its direct downstream)."""
        return self._sorted(e.child for e in self._adjacent()[1].get(node_id, ()))

    def _onward(self, node_id: str) -> list[tuple[Edge, Node]]:
        """The edges leading away from the roots out of ``node_id``, with where they go."""
        up, down = self._adjacent()
        if self.direction == "upstream":
            pairs = [(e, self.nodes[e.parent]) for e in up.get(node_id, ())]
        else:
            pairs = [(e, self.nodes[e.child]) for e in down.get(node_id, ())]
        return sorted(pairs, key=lambda p: (p[1].kind, p[1].label, p[1].id, p[0].kind))

    def walk(self) -> Iterator[Node]:
        """Every node once: breadth-first from the roots, away from them; then any node no
        kept edge leads to (after ``only``), by depth."""
        seen: set[str] = set()
        for node in self._reached():
            seen.add(node.id)
            yield node
        yield from self._sorted(set(self.nodes) - seen)

    def only(self, kinds: Iterable[str]) -> Graph:
        """The roots and the nodes of ``kinds`` (artifact kinds, 'run', 'agent'), with the
        edges between the nodes kept."""
        wanted = set(kinds)
        kept = {i: n for i, n in self.nodes.items() if n.kind in wanted or i in self.roots}
        edges = [e for e in self.edges if e.parent in kept and e.child in kept]
        return Graph(
            roots=self.roots,
            direction=self.direction,
            nodes=kept,
            edges=tuple(edges),
            as_of=self.as_of,
        )

    def counts(self) -> dict[str, int]:
        """How many nodes of each kind."""
        return dict(sorted(Counter(n.kind for n in self.nodes.values()).items()))

    # -- renderings ----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The graph as JSON-shaped data: nodes in walk order, edges in recording order."""
        return {
            "direction": self.direction,
            "roots": list(self.roots),
            "as_of": self.as_of,
            "nodes": [node.as_dict() for node in self.walk()],
            "edges": [
                {"kind": e.kind, "parent": e.parent, "child": e.child, "role": e.role, "seq": e.seq}
                for e in self.edges
            ],
            "counts": self.counts(),
        }

    def to_dot(self) -> str:
        """Graphviz source: artifacts as boxes, runs as ellipses, agents as houses."""
        lines = ["digraph lineage {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
        for node in self.walk():
            style = ", style=bold" if node.id in self.roots else ""
            lines.append(
                f"  {_quote_dot(node.id)} [label={_quote_dot(node.text)}, "
                f"shape={_DOT_SHAPES[node.type]}{style}];"
            )
        for edge in self.edges:
            lines.append(
                f"  {_quote_dot(edge.parent)} -> {_quote_dot(edge.child)} "
                f"[label={_quote_dot(_via(edge))}];"
            )
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_mermaid(self) -> str:
        """Mermaid flowchart source (renders on GitHub, GitLab and in many wikis)."""
        names: dict[str, str] = {}
        lines = ["flowchart LR"]
        for node in self.walk():
            names[node.id] = f"n{len(names)}"
            opening, closing = _MERMAID_SHAPES[node.type]
            lines.append(f"  {names[node.id]}{opening}{_quote_mermaid(node.text)}{closing}")
        for edge in self.edges:
            lines.append(
                f"  {names[edge.parent]} -->|{_quote_mermaid(_via(edge))}| {names[edge.child]}"
            )
        return "\n".join(lines) + "\n"

    def footer(self) -> str:
        """One line: how many nodes of each kind, edges, and the moment."""
        kinds = ", ".join(f"{count} {kind}" for kind, count in self.counts().items())
        moment = f", as of seq {self.as_of}" if self.as_of is not None else ""
        plural = "" if len(self.nodes) == 1 else "s"
        return (
            f"{len(self.nodes)} node{plural} ({kinds or 'none'}), {len(self.edges)} "
            f"edge{'' if len(self.edges) == 1 else 's'}{moment}"
        )

    def _strays(self) -> list[Node]:
        """Nodes no kept edge leads to from the roots (what ``only`` left unlinked) that no
        other such node leads to either: the tree hangs them from the first root."""
        reached = {node.id for node in self._reached()}
        strays = set(self.nodes) - reached
        led_to = {node.id for stray in strays for _, node in self._onward(stray)}
        return self._sorted(strays - led_to)

    def _reached(self) -> Iterator[Node]:
        seen = set(self.roots)
        queue = deque(self.roots)
        while queue:
            node_id = queue.popleft()
            yield self.nodes[node_id]
            for _, node in self._onward(node_id):
                if node.id not in seen:
                    seen.add(node.id)
                    queue.append(node.id)

    def to_tree(
        self, *, max_lines: int = 200, max_depth: int = 16, max_children: int = 40
    ) -> list[str]:
        """Text lines: a tree from each root away from it, then a footer with counts.

        A subtree reached a second time is printed once and then referred to as
        ``(see above: LABEL)``; nodes left unlinked by ``only`` hang from the first root
        marked ``⋯`` with their depth. At most ``max_children`` entries under a node,
        ``max_depth`` levels and ``max_lines`` lines are drawn, so a large answer stays
        readable; a line says what was left out.
        """
        lines: list[str] = []
        shown: set[str] = set()
        expanded: set[str] = set()
        strays = self._strays()
        # (a node, or a note line; the edge that led here; line prefix; child indent; level)
        stack: list[tuple[Node | str, Edge | None, str, str, int]] = [
            (self.nodes[root], None, "", "", 0) for root in reversed(self.roots)
        ]
        while stack and len(lines) < max_lines:
            item, edge, head, indent, level = stack.pop()
            if isinstance(item, str):
                lines.append(f"{head}{item}")
                continue
            via = "" if edge is None else f"{_via(edge)}: "
            if level and edge is None:
                via = "⋯ "
            onward: list[tuple[Edge | None, Node]] = list(self._onward(item.id))
            if level == 0 and item.id == self.roots[0]:
                onward += [(None, node) for node in strays]
            if item.id in expanded and onward:
                lines.append(f"{head}{via}(see above: {item.label})")
                continue
            steps = f"{item.depth} step{'' if item.depth == 1 else 's'}"
            suffix = f"  ({steps})" if level and edge is None else ""
            lines.append(f"{head}{via}{item.text}{suffix}")
            shown.add(item.id)
            if not onward:
                continue
            if level >= max_depth:
                stack.append(("└── … deeper levels not shown", None, indent, indent, level))
                continue
            expanded.add(item.id)
            entries: list[tuple[Node | str, Edge | None, str, str, int]] = []
            for e, node in onward[:max_children]:
                entries.append((node, e, "", "", level + 1))
            if len(onward) > max_children:
                entries.append((f"… {len(onward) - max_children} more", None, "", "", level))
            for index, (entry, e, _, _, lvl) in enumerate(entries):
                last = index == len(entries) - 1
                branch, extend = ("└── ", "    ") if last else ("├── ", "│   ")
                entries[index] = (entry, e, indent + branch, indent + extend, lvl)
            stack.extend(reversed(entries))
        hidden = len(set(self.nodes) - shown)
        if hidden:
            lines.append(
                f"… {hidden} more node{'s' if hidden != 1 else ''} not shown "
                "(narrow the answer with a depth or kinds, or render it as JSON)"
            )
        lines.append(self.footer())
        return lines
