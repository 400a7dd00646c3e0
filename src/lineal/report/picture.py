"""The provenance graph of a report as a picture: laid out by grandalf's Sugiyama layout (the
layered drawing of a DAG, as Graphviz's dot draws it), written as inline SVG so the report
needs no network and no program beside Python.

Upstream at the top, the subject at the bottom; each node a box with its kind and reference,
each edge a polyline through the layout's routing points, labelled with its kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import TYPE_CHECKING, Any

from lineal.interop.extras import require

if TYPE_CHECKING:
    from lineal.lineage.graph import Graph

#: Past this many nodes the picture is not drawn (the tables list them all): a layered layout
#: of thousands of nodes is unreadable on a page, and slow to compute.
MOST_NODES = 300
_CHAR = 6.6  # px per character of the 11 px monospace label
_HEIGHT = 38.0
_GAP = 24.0
FILL = {"dataset": "#dbeafe", "model": "#fde68a", "schema": "#e9d5ff", "scene": "#bbf7d0",
        "run": "#e5e7eb", "code": "#fecaca", "env": "#f5f5f4"}  # fmt: skip


def graph_picture(
    graph: Graph, subject: str, beside: Iterable[tuple[str, str, str]] = ()
) -> dict[str, Any]:
    """The nodes and links to draw: ``graph`` (the subject's upstream) and ``beside`` (the
    ``(parent, run, role)`` inputs of the runs that used the subject), as plain data."""
    nodes: dict[str, dict[str, Any]] = {
        node.id: {"id": node.id, "label": node.label, "kind": node.kind, "type": node.type}
        for node in graph.nodes.values()
    }
    links = [
        {"parent": link.parent, "child": link.child, "kind": link.kind}
        for link in graph.links
        if link.parent in nodes and link.child in nodes
    ]
    for parent, run, _ in beside:
        for node in (parent, run):
            if node not in nodes:
                kind = "run" if node.startswith("run/") else node.split("/", 1)[0]
                kind_type = "run" if kind == "run" else "artifact"
                nodes[node] = {"id": node, "label": node, "kind": kind, "type": kind_type}
        links.append({"parent": parent, "child": run, "kind": "used"})
    if subject in nodes:
        nodes[subject]["subject"] = True
    return {"nodes": list(nodes.values()), "links": _unique(links)}


def _unique(links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[tuple[str, str, str]] = set()
    found = []
    for link in links:
        key = (link["parent"], link["child"], link["kind"])
        if key not in seen:
            seen.add(key)
            found.append(link)
    return found


class _Box:
    """A vertex's view for grandalf: its size in, its centre out."""

    def __init__(self, w: float, h: float) -> None:
        self.w, self.h = w, h
        self.xy = (0.0, 0.0)


class _Line:
    """An edge's view for grandalf: the routing points it sets."""

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []

    def setpath(self, points: list[tuple[float, float]]) -> None:
        self.points = [(float(x), float(y)) for x, y in points]


def _label(node: Mapping[str, Any]) -> str:
    text = str(node["label"])
    return text if len(text) <= 48 else text[:22] + "…" + text[-22:]


def svg(picture: Mapping[str, Any]) -> str | None:
    """The picture as an ``<svg>`` element, or None when it has more than MOST_NODES nodes."""
    nodes, links = picture["nodes"], picture["links"]
    if not nodes or len(nodes) > MOST_NODES:
        return None
    graphs = require("grandalf.graphs", "report")
    layouts = require("grandalf.layouts", "report")
    routing = require("grandalf.routing", "report")
    vertices = {n["id"]: graphs.Vertex(n) for n in nodes}
    for vertex in vertices.values():
        width = max(len(_label(vertex.data)), len(vertex.data["kind"]) + 2) * _CHAR + 20
        vertex.view = _Box(width, _HEIGHT)
    edges = []
    for link in links:
        edge = graphs.Edge(vertices[link["parent"]], vertices[link["child"]], data=link)
        edge.view = _Line()
        edges.append(edge)
    whole = graphs.Graph(list(vertices.values()), edges)
    shift = 0.0
    for part in whole.C:  # each connected part laid out on its own, side by side
        layout = layouts.SugiyamaLayout(part)
        layout.route_edge = routing.route_with_lines
        layout.init_all()
        layout.draw()
        placed = list(part.sV)
        left = min(v.view.xy[0] - v.view.w / 2 for v in placed)
        right = max(v.view.xy[0] + v.view.w / 2 for v in placed)
        for vertex in placed:
            vertex.view.xy = (vertex.view.xy[0] - left + shift, vertex.view.xy[1])
        for edge in part.sE:
            edge.view.points = [(x - left + shift, y) for x, y in edge.view.points]
        shift += right - left + _GAP * 2
    return _draw(list(vertices.values()), edges)


def _draw(vertices: list[Any], edges: list[Any]) -> str:
    top = min(v.view.xy[1] - v.view.h / 2 for v in vertices) - _GAP
    bottom = max(v.view.xy[1] + v.view.h / 2 for v in vertices) + _GAP
    right = max(v.view.xy[0] + v.view.w / 2 for v in vertices) + _GAP
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" viewBox="{-_GAP:.0f} {top:.0f} '
        f'{right + _GAP:.0f} {bottom - top:.0f}" width="{right + _GAP:.0f}" '
        f'height="{bottom - top:.0f}" role="img" aria-label="provenance graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#555"/></marker></defs>',
    ]
    for edge in edges:
        a, b = edge.v
        points = edge.view.points or [a.view.xy, b.view.xy]
        # From the parent's bottom edge to the child's top edge.
        points = [(points[0][0], a.view.xy[1] + a.view.h / 2), *points[1:-1],
                  (points[-1][0], b.view.xy[1] - b.view.h / 2)]  # fmt: skip
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        kind = escape(edge.data["kind"])
        out.append(
            f'<polyline class="edge" data-kind="{kind}" points="{path}" fill="none" '
            f'stroke="#777" marker-end="url(#arrow)"><title>{kind}</title></polyline>'
        )
    for vertex in vertices:
        node, (x, y), w, h = vertex.data, vertex.view.xy, vertex.view.w, vertex.view.h
        fill = FILL.get(node["kind"], "#ffffff")
        stroke = ' stroke-width="3" stroke="#b45309"' if node.get("subject") else ' stroke="#555"'
        out.append(
            f'<g class="node" data-id="{escape(node["id"])}"><title>{escape(node["id"])}</title>'
            f'<rect x="{x - w / 2:.1f}" y="{y - h / 2:.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'rx="6" fill="{fill}"{stroke}/>'
            f'<text x="{x:.1f}" y="{y - 4:.1f}" text-anchor="middle" class="kind">'
            f"{escape(node['kind'])}</text>"
            f'<text x="{x:.1f}" y="{y + 11:.1f}" text-anchor="middle" class="ref">'
            f"{escape(_label(node))}</text></g>"
        )
    out.append("</svg>")
    return "\n".join(out)
