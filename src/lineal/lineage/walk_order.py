"""The order Graph.walk() visits nodes in, on the graph's columns (lineal.lineage.graph)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lineal.lineage.through import Through


def walk_order(
    cols: Sequence[list[Any]],
    edge_cols: Sequence[list[Any]],
    through: Sequence[Through],
    roots: Sequence[str],
    direction: str,
) -> list[int]:
    """Node positions in walk() order: breadth-first from the roots, each node's onward
    links by (kind, label, id) of where they go and the link's kind; then the nodes no
    link reaches, by (depth, kind, label, id)."""
    ids, _, kinds, labels = cols[:4]
    depth = cols[7]
    count = len(ids)
    rank = [0] * count
    for i, spot in enumerate(sorted(range(count), key=lambda i: (kinds[i], labels[i], ids[i]))):
        rank[spot] = i
    parents, children, link_kinds = edge_cols[:3]
    near, far = (children, parents) if direction == "upstream" else (parents, children)
    onward: list[list[tuple[int, str, int]]] = [[] for _ in range(count)]
    for a, b, kind in zip(near, far, link_kinds, strict=True):
        onward[a].append((rank[b], kind, b))
    position = {node_id: i for i, node_id in enumerate(ids)}
    upward = direction == "upstream"
    for t in through:
        a, b = (
            position[t.child if upward else t.parent],
            position[t.parent if upward else t.child],
        )
        onward[a].append((rank[b], t.kind, b))
    seen = [False] * count
    order: list[int] = []
    for root in roots:
        i = position[root]
        if not seen[i]:
            seen[i] = True
            order.append(i)
    head = 0
    while head < len(order):
        links = onward[order[head]]
        head += 1
        if len(links) > 1:
            links.sort()
        for _, _, b in links:
            if not seen[b]:
                seen[b] = True
                order.append(b)
    if len(order) < count:
        rest = [i for i in range(count) if not seen[i]]
        rest.sort(key=lambda i: (depth[i], kinds[i], labels[i], ids[i]))
        order += rest
    return order
