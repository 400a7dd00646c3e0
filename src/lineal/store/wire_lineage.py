"""The wire form of a lineage answer (Store.subgraph, path_subgraph); see lineal.store.wire."""

from __future__ import annotations

from typing import Any

from lineal.errors import InvalidInput
from lineal.model.entities import Edge
from lineal.store.base import NodeRow


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


def closure(value: Any) -> Any:
    """A Store.closure answer: roots, the lineage answer, crashed runs."""
    roots, found, crashed = value
    return {"roots": roots, "answer": answer(found), "crashed": crashed}


def to_closure(body: Any) -> Any:
    return body["roots"], to_answer(body["answer"]), body["crashed"]
