"""The shapes of a lineage answer the Store protocol returns: node rows, the (depths, edges,
rows) tuple and the columns (lineal.store.base names them; plain data, no store).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from lineal.model.entities import Edge, edges_from_columns


class NodeRow(NamedTuple):
    """What the projections said about one node as of a seq (``name`` of a run: its name)."""

    id: str
    type: str  # 'artifact', 'run' or 'agent'
    kind: str  # the artifact kind, 'run' or 'agent'
    name: str | None = None
    version: int | None = None
    status: str | None = None
    aliases: tuple[str, ...] = ()  # KIND/NAME:ALIAS held then


#: A lineage answer: least depths, the edges among the nodes (in recording order), the nodes
Answer = tuple[dict[str, int], list[Edge], dict[str, NodeRow]]


@dataclass(frozen=True, slots=True)
class Columns:
    """A lineage answer in columns: node i is ``id[i]`` (its type, kind, name, version,
    status and aliases as of the answer's moment, least ``depth`` from the roots); edge j
    joins node ``parent[j]`` to node ``child[j]`` (positions in the node columns), with its
    ``edge_kind``, ``role`` and ``seq``, edges in recording order. ``missing``: nodes an edge
    names that no projection describes (a damaged store; the lineage service refuses it)."""

    id: list[str]
    type: list[str]
    kind: list[str]
    name: list[str | None]
    version: list[int | None]
    status: list[str | None]
    aliases: list[tuple[str, ...]]
    depth: list[int]
    parent: list[int]
    child: list[int]
    edge_kind: list[str]
    role: list[str | None]
    seq: list[int]
    missing: tuple[str, ...] = ()

    NODE_FIELDS = ("id", "type", "kind", "name", "version", "status", "aliases", "depth")
    EDGE_FIELDS = ("parent", "child", "edge_kind", "role", "seq")

    def answer(self) -> Answer:
        """The same answer as (depths, edges, node rows), objects made here."""
        ids = self.id
        depths = dict(zip(ids, self.depth, strict=True))
        depths.update(dict.fromkeys(self.missing, 0))
        rows = {
            node: NodeRow(node, *details)
            for node, *details in zip(
                ids, self.type, self.kind, self.name, self.version, self.status, self.aliases,
                strict=True,
            )
        }  # fmt: skip
        return depths, self.edges(), rows

    def edges(self) -> list[Edge]:
        """The edges as Edge objects (projection rows, validated when written: not again)."""
        return edges_from_columns(
            self.id, self.edge_kind, self.parent, self.child, self.role, self.seq
        )
