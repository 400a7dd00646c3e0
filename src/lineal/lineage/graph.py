"""The answer to a lineage query: a Graph of Nodes, Edges and Through links, and its renderings
as JSON-shaped data, Graphviz, Mermaid and a text tree. Pure values and text; no store, no print.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lineal.errors import InvalidInput
from lineal.lineage import render
from lineal.lineage.through import Through, find_through
from lineal.lineage.walk_order import walk_order
from lineal.model.entities import Edge, edges_from_columns

NODE_TYPES = ("artifact", "run", "agent")
#: A link of an answer: an edge of the ledger, or a Through link standing for hidden nodes.
Link = Edge | Through
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


#: A node's fields as columns, in Node's order.
_NODE_FIELDS = ("id", "type", "kind", "label", "name", "version", "status", "depth", "aliases")
_SET_NODE = tuple(Node.__dict__[name].__set__ for name in _NODE_FIELDS)


class Graph:
    """Nodes reached from ``roots`` going ``direction`` (upstream, downstream, or the nodes on
    the paths from the roots down to a target), with the edges among them, as of seq
    ``as_of`` (None: now). ``through`` holds the links ``only`` draws where it hid the nodes
    between two it shows (none in an unfiltered answer).

    Held as columns (a list per field of the nodes, and of the edges with their ends as node
    positions); ``nodes`` and ``edges`` make objects on first access, JSON reads the columns.
    """

    __slots__ = ("_adjacency", "_cols", "_edge_cols", "_edges", "_nodes", "as_of", "direction",
                 "roots", "through")  # fmt: skip

    def __init__(
        self,
        *,
        roots: Iterable[str],
        direction: str,
        nodes: Mapping[str, Node],
        edges: Iterable[Edge] = (),
        through: Iterable[Through] = (),
        as_of: int | None = None,
    ) -> None:
        held = dict(nodes)
        listed = list(held.values())
        cols = [[getattr(n, f) for n in listed] for f in _NODE_FIELDS]
        edge_list = tuple(edges)
        at = {node_id: i for i, node_id in enumerate(held)}
        through = tuple(through)
        ends = {e.parent for e in edge_list} | {e.child for e in edge_list}
        ends |= {t.parent for t in through} | {t.child for t in through}
        missing = [r for r in roots if r not in held] + sorted(ends - held.keys())
        if direction in DIRECTIONS and missing:
            raise InvalidInput(f"graph refers to nodes it does not hold: {missing[:3]}")
        edge_cols: list[list[Any]] = [
            [at[e.parent] for e in edge_list],
            [at[e.child] for e in edge_list],
            [e.kind for e in edge_list],
            [e.role for e in edge_list],
            [e.seq for e in edge_list],
        ]
        self._setup(roots, direction, cols, edge_cols, through, as_of)
        self._nodes: dict[str, Node] | None = held
        self._edges: tuple[Edge, ...] | None = edge_list

    def _setup(
        self,
        roots: Iterable[str],
        direction: str,
        cols: list[list[Any]],
        edge_cols: list[list[Any]],
        through: tuple[Through, ...],
        as_of: int | None,
    ) -> None:
        if direction not in DIRECTIONS:
            raise InvalidInput(f"bad direction {direction!r}: expected {', '.join(DIRECTIONS)}")
        self.roots = tuple(roots)
        self.direction = direction
        self.through = through
        self.as_of = as_of
        self._cols = cols
        self._edge_cols = edge_cols
        self._nodes = None
        self._edges = None
        self._adjacency: tuple[dict[str, list[Link]], dict[str, list[Link]]] | None = None

    @classmethod
    def from_columns(
        cls,
        *,
        roots: Iterable[str],
        direction: str,
        nodes: Sequence[list[Any]],
        edges: Sequence[list[Any]],
        as_of: int | None = None,
    ) -> Graph:
        """A graph from its columns, trusted as a store's answer is: ``nodes`` the lists of
        ids, types, kinds, labels, names, versions, statuses, depths and aliases (tuples);
        ``edges`` the lists of parent and child positions, kinds, roles and seqs."""
        graph = cls.__new__(cls)
        roots = tuple(roots)
        ids = set(nodes[0])
        missing = [r for r in roots if r not in ids]
        if missing:
            raise InvalidInput(f"graph refers to nodes it does not hold: {missing[:3]}")
        graph._setup(roots, direction, list(nodes), list(edges), (), as_of)
        return graph

    @property
    def nodes(self) -> Mapping[str, Node]:
        """Node objects by id, made on first access."""
        if self._nodes is None:
            made: dict[str, Node] = {}
            for values in zip(*self._cols, strict=True):
                node = object.__new__(Node)
                for setter, value in zip(_SET_NODE, values, strict=True):
                    setter(node, value)
                made[values[0]] = node
            self._nodes = made
        return self._nodes

    @property
    def edges(self) -> tuple[Edge, ...]:
        """The edges in recording order, made on first access."""
        if self._edges is None:
            parents, children, kinds, roles, seqs = self._edge_cols
            made = edges_from_columns(self._cols[0], kinds, parents, children, roles, seqs)
            self._edges = tuple(made)
        return self._edges

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Graph):
            return NotImplemented
        return (self.roots, self.direction, self.as_of, self.through) == (
            other.roots, other.direction, other.as_of, other.through,
        ) and (self.nodes, self.edges) == (other.nodes, other.edges)  # fmt: skip

    __hash__ = None  # type: ignore[assignment]  # a graph compares by value

    def __repr__(self) -> str:
        counts = f"{len(self._cols[0])} nodes, {len(self._edge_cols[0])} edges"
        return f"Graph(roots={self.roots!r}, {self.direction}, {counts}, as_of={self.as_of!r})"

    @property
    def links(self) -> tuple[Link, ...]:
        """The edges, then the Through links."""
        return (*self.edges, *self.through)

    def _adjacent(self) -> tuple[dict[str, list[Link]], dict[str, list[Link]]]:
        """(links into each node, links out of each node), built on first use."""
        if self._adjacency is None:
            up: dict[str, list[Link]] = {}
            down: dict[str, list[Link]] = {}
            for edge in self.links:
                up.setdefault(edge.child, []).append(edge)
                down.setdefault(edge.parent, []).append(edge)
            self._adjacency = (up, down)
        return self._adjacency

    def _order(self) -> list[int]:
        """Node positions in walk() order (lineal.lineage.walk_order)."""
        return walk_order(self._cols, self._edge_cols, self.through, self.roots, self.direction)

    # -- navigation ----------------------------------------------------------------------
    def _sorted(self, ids: Iterable[str]) -> list[Node]:
        nodes = (self.nodes[i] for i in set(ids))
        return sorted(nodes, key=lambda n: (n.depth, n.kind, n.label, n.id))

    def parents(self, node_id: str) -> list[Node]:
        """The nodes with a link into ``node_id`` (its direct upstream in this answer)."""
        return self._sorted(e.parent for e in self._adjacent()[0].get(node_id, ()))

    def children(self, node_id: str) -> list[Node]:
        """The nodes ``node_id`` has a link to (its direct downstream in this answer)."""
        return self._sorted(e.child for e in self._adjacent()[1].get(node_id, ()))

    def _onward(self, node_id: str) -> list[tuple[Link, Node]]:
        """The links leading away from the roots out of ``node_id``, with where they go."""
        up, down = self._adjacent()
        if self.direction == "upstream":
            pairs = [(e, self.nodes[e.parent]) for e in up.get(node_id, ())]
        else:
            pairs = [(e, self.nodes[e.child]) for e in down.get(node_id, ())]
        return sorted(pairs, key=lambda p: (p[1].kind, p[1].label, p[1].id, p[0].kind))

    def walk(self) -> Iterator[Node]:
        """Every node once: breadth-first from the roots, away from them; then, by depth, any
        node no link leads to from the roots (only in a Graph built by hand: a query's answer
        reaches every node it holds, filtered or not)."""
        nodes, ids = self.nodes, self._cols[0]
        for i in self._order():
            yield nodes[ids[i]]

    def only(self, kinds: Iterable[str]) -> Graph:
        """The roots and the nodes of ``kinds`` (artifact kinds, 'run', 'agent'), keeping what
        descends from what exactly.

        The edges between kept nodes stay. Where a kept node descends from another along paths
        whose inner nodes are all hidden, and no edge joins the two, a Through link joins them,
        counting the fewest hidden nodes on such a path. So a node is below another in the
        filtered answer if and only if it was in the whole one, and nothing else is.
        """
        wanted, roots = set(kinds), set(self.roots)  # a bare name's every version is a root
        kept = {i: n for i, n in self.nodes.items() if n.kind in wanted or i in roots}
        edges = [e for e in self.edges if e.parent in kept and e.child in kept]
        steps = [(e.parent, e.child, 0) for e in self.edges]
        steps += [(t.parent, t.child, t.hidden) for t in self.through]
        rank = {node.id: i for i, node in enumerate(self._sorted(kept))}
        through = sorted(
            find_through(kept.keys(), steps), key=lambda t: (rank[t.parent], rank[t.child])
        )
        return Graph(
            roots=self.roots,
            direction=self.direction,
            nodes=kept,
            edges=tuple(edges),
            through=tuple(through),
            as_of=self.as_of,
        )

    def counts(self) -> dict[str, int]:
        """How many nodes of each kind."""
        return dict(sorted(Counter(self._cols[2]).items()))

    # -- renderings ----------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        """The graph as JSON-shaped data: nodes in walk order, edges in recording order, then
        the Through links as edges of kind ``via`` that say how many hidden nodes they pass
        (``through``)."""
        ids = self._cols[0]
        order = self._order()
        picked = [[column[i] for i in order] for column in self._cols]
        picked[8] = [list(held) for held in picked[8]]
        parents, children, kinds, roles, seqs = self._edge_cols
        edges = [
            {"kind": k, "parent": ids[p], "child": ids[c], "role": r, "seq": q}
            for p, c, k, r, q in zip(parents, children, kinds, roles, seqs, strict=True)
        ]
        edges += [
            {"kind": t.kind, "parent": t.parent, "child": t.child, "role": None, "seq": None,
             "through": t.hidden}
            for t in self.through
        ]  # fmt: skip
        return {
            "direction": self.direction,
            "roots": list(self.roots),
            "as_of": self.as_of,
            "nodes": [
                dict(zip(_NODE_FIELDS, row, strict=True)) for row in zip(*picked, strict=True)
            ],
            "edges": edges,
            "counts": self.counts(),
        }

    def as_columns(self) -> dict[str, Any]:
        """as_dict()'s answer in columns, compact for a big answer (``--format columns``, the
        server's ``?columns=true``): ``nodes`` and ``edges`` each a dict of equal-length lists,
        one per field of as_dict()'s node and edge, in the same order; an edge's ``parent``
        and ``child`` are its nodes' positions in those lists, and ``through`` is null on a
        real edge. Row i of the columns is as_dict()'s item i."""
        order = self._order()
        picked = [[column[i] for i in order] for column in self._cols]
        picked[8] = [list(held) for held in picked[8]]
        at = [0] * len(order)
        for position, i in enumerate(order):
            at[i] = position
        parents, children, kinds, roles, seqs = self._edge_cols
        where = {node_id: at[i] for i, node_id in enumerate(self._cols[0])} if self.through else {}
        real, via = [None] * len(parents), [None] * len(self.through)
        return {
            "direction": self.direction,
            "roots": list(self.roots),
            "as_of": self.as_of,
            "nodes": dict(zip(_NODE_FIELDS, picked, strict=True)),
            "edges": {
                "kind": kinds + [t.kind for t in self.through],
                "parent": [at[p] for p in parents] + [where[t.parent] for t in self.through],
                "child": [at[c] for c in children] + [where[t.child] for t in self.through],
                "role": roles + via,
                "seq": seqs + via,
                "through": real + [t.hidden for t in self.through],
            },
            "counts": self.counts(),
        }

    def to_json(self, *, columns: bool = False) -> bytes:
        """as_dict() (or as_columns()) as compact UTF-8 JSON, the bytes the server sends (by
        orjson where installed, extra ``server``; else the standard library, alike)."""
        body = self.as_columns() if columns else self.as_dict()
        try:
            import orjson
        except ImportError:
            return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        return orjson.dumps(body)

    def to_dot(self) -> str:
        """Graphviz source: artifacts as boxes, runs as ellipses, agents as houses; a Through
        link dashed."""
        return render.dot(self)

    def to_mermaid(self) -> str:
        """Mermaid flowchart source (renders on GitHub, GitLab and in many wikis); a Through
        link dotted."""
        return render.mermaid(self)

    def footer(self) -> str:
        """One line: how many nodes of each kind, edges (how many of them real and how many
        through hidden nodes, when some are), and the moment."""
        kinds = ", ".join(f"{count} {kind}" for kind, count in self.counts().items())
        moment = f", as of seq {self.as_of}" if self.as_of is not None else ""
        plural = "" if len(self.nodes) == 1 else "s"
        total = len(self.edges) + len(self.through)
        split = f" ({len(self.edges)} real, {len(self.through)} through hidden nodes)"
        return (
            f"{len(self.nodes)} node{plural} ({kinds or 'none'}), {total} "
            f"edge{'' if total == 1 else 's'}{split if self.through else ''}{moment}"
        )

    def to_tree(
        self, *, max_lines: int = 200, max_depth: int = 16, max_children: int = 40
    ) -> list[str]:
        """Text lines: a tree from each root away from it, then a footer with counts.

        A subtree reached a second time is printed once and then referred to as
        ``(see above: LABEL)``; a Through link reads ``⋯ via N hidden:``. At most
        ``max_children`` entries under a node, ``max_depth`` levels and ``max_lines`` lines
        are drawn, so a large answer stays readable; a line says what was left out.
        """
        return render.tree(
            self, max_lines=max_lines, max_depth=max_depth, max_children=max_children
        )
