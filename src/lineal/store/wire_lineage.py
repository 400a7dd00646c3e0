"""The wire form of a lineage answer (Store.subgraph, path_subgraph, closure); see
lineal.store.wire."""

from __future__ import annotations

from typing import Any

from lineal.errors import InvalidInput
from lineal.model.entities import Edge
from lineal.store.base import Columns, NodeRow


def answer(value: Any) -> Any:
    """A lineage answer, edges as rows ``[kind, parent, child, role, seq]`` (compact: an
    answer may hold hundreds of thousands of them)."""
    depths, edges, nodes = value
    return {
        "depths": depths,
        "edges": [[e.kind, e.parent, e.child, e.role, e.seq] for e in edges],
        "nodes": {key: list(row) for key, row in nodes.items()},
    }


_SET_EDGE = tuple(Edge.__dict__[f].__set__ for f in ("kind", "parent", "child", "role", "seq"))


def to_answer(body: Any) -> Any:
    """The answer back; edges are built as the SQL store builds them, without re-checking
    each one (they are projection rows the server's store validated when written)."""
    nodes = {key: NodeRow._make([*row[:-1], tuple(row[-1])]) for key, row in body["nodes"].items()}
    set_kind, set_parent, set_child, set_role, set_seq = _SET_EDGE
    edges = []
    try:
        for kind, parent, child, role, seq in body["edges"]:
            edge = object.__new__(Edge)
            set_kind(edge, str(kind))
            set_parent(edge, str(parent))
            set_child(edge, str(child))
            set_role(edge, None if role is None else str(role))
            set_seq(edge, None if seq is None else int(seq))
            edges.append(edge)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"bad lineage answer from the server: {exc}") from exc
    return body["depths"], edges, nodes


_FIELDS = (*Columns.NODE_FIELDS, *Columns.EDGE_FIELDS)


def columns(value: Columns) -> Any:
    """A columnar answer: one JSON list per column (its ``missing`` nodes beside)."""
    body = {name: getattr(value, name) for name in _FIELDS}
    body["missing"] = list(value.missing)
    return body


def to_columns(body: Any) -> Columns:
    """The columns back; checked for shape (equal lengths, edge ends within the nodes), not
    re-validated row by row (the server's store validated them when written)."""
    try:
        found = {name: list(body[name]) for name in _FIELDS}
        found["aliases"] = [tuple(str(a) for a in held) for held in found["aliases"]]
        missing = tuple(str(m) for m in body.get("missing", ()))
    except (KeyError, TypeError) as exc:
        raise InvalidInput(f"bad lineage answer from the server: {exc}") from exc
    nodes = {len(found[name]) for name in Columns.NODE_FIELDS}
    edges = {len(found[name]) for name in Columns.EDGE_FIELDS}
    count = nodes.pop() if len(nodes) == 1 else -1
    ends = found["parent"] + found["child"]
    if (
        count < 0
        or len(edges) > 1
        or any(not isinstance(i, int) or not 0 <= i < count for i in ends)
    ):
        raise InvalidInput("bad lineage answer from the server: columns of unequal lengths")
    return Columns(**found, missing=missing)


def closure(value: Any) -> Any:
    """A Store.closure answer: roots, the lineage answer (columns), crashed runs."""
    roots, found, crashed = value
    return {"roots": roots, "answer": columns(found), "crashed": crashed}


def to_closure(body: Any) -> Any:
    return body["roots"], to_columns(body["answer"]), body["crashed"]
