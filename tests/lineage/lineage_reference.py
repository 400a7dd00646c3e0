"""The reference answer lineage tests compare with: a plain breadth-first walk in Python; and
the row form of a Graph's columns."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any


def bfs(starts: Iterable[str], steps: list[tuple[str, str]], depth: int | None) -> dict[str, int]:
    """Least steps from ``starts`` to every node ``(from, to)`` steps reach, ``depth`` at most."""
    found = dict.fromkeys(starts, 0)
    queue = deque(found)
    while queue:
        node = queue.popleft()
        if depth is not None and found[node] >= depth:
            continue
        for origin, target in steps:
            if origin == node and target not in found:
                found[target] = found[node] + 1
                queue.append(target)
    return found


def rows(columns: dict[str, Any]) -> dict[str, Any]:
    """A Graph's as_columns() back in as_dict()'s shape, as its docstring describes it."""
    nodes, edges = columns["nodes"], columns["edges"]
    node_rows = [
        dict(zip(nodes, values, strict=True)) for values in zip(*nodes.values(), strict=True)
    ]
    edge_rows = []
    for values in zip(*edges.values(), strict=True):
        edge = dict(zip(edges, values, strict=True))
        edge["parent"], edge["child"] = (node_rows[edge[end]]["id"] for end in ("parent", "child"))
        if edge["through"] is None:
            del edge["through"]
        edge_rows.append(edge)
    return columns | {"nodes": node_rows, "edges": edge_rows}
