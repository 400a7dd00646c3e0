"""Projecting ``edge.record``: the edges table, the node numbers lineage walks follow, and
the guards (both ends recorded, no cycle).

Part of lineal.store.sql.projections, kept apart by concept; like it, never writes the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lineal.errors import Conflict, NotFound
from lineal.model.digests import is_digest
from lineal.model.entities import node_type

if TYPE_CHECKING:
    from lineal.model.ops import Op
    from lineal.store.sql.projections import Sql


# parent -> child closes a cycle iff parent is already downstream of child. Walking down from
# the child (not up from the parent) is what makes this cheap: lineage grows at its leaves, so
# the child of a new edge is usually a fresh run or artifact with nothing below it yet.
_DESCENDANT = """
WITH RECURSIVE down(node) AS (
    SELECT ?
    UNION
    SELECT e.child FROM edges e JOIN down ON e.parent = down.node
)
SELECT 1 FROM down WHERE node = ? LIMIT 1
"""


_HAS_BELOW = "SELECT DISTINCT parent FROM edges WHERE parent IN ({})"

_INSERT_EDGE = (
    "INSERT INTO edges (parent, child, kind, role, seq, parent_id, child_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_NODE_TABLES = {
    "artifact": ("SELECT node FROM artifacts WHERE node IN ({})", 0),
    "run": ("SELECT 'run/' || id FROM runs WHERE id IN ({})", 4),
    "agent": ("SELECT 'agent/' || name FROM agents WHERE name IN ({})", 6),
}


def _existing(db: Sql, sql: str, values: Sequence[str]) -> set[str]:
    return {row[0] for row in db.any_of(sql, values)}


def unknown(node: str) -> NotFound:
    return NotFound(
        f"unknown node {node!r}: record it before linking or tagging it",
        hint="record the artifact (or start the run) first",
    )


def recorded_nodes(db: Sql, named: Sequence[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """The node each ``(text, seq)`` means when record ``seq`` names ``text``, for those
    recorded: a named version (``KIND/NAME@DIGEST``), run or agent is itself. A bare digest
    is the unnamed artifact with those bytes; records written before named versions were
    nodes of their own named every artifact by its digest, and there it means the named
    version most recently recorded with those bytes up to ``seq``. Both readings depend only
    on records before ``seq``, so the append and every replay agree."""
    return _recorded_nodes(db, named, [])[0]


def _recorded_nodes(
    db: Sql, named: Sequence[tuple[str, int]], also: list[tuple[str, Sequence[Any]]]
) -> tuple[dict[tuple[str, int], str], list[list[tuple[Any, ...]]]]:
    """recorded_nodes, and the answers to the ``also`` queries (any_of's), all read in one
    go (see Sql.any_of_each)."""
    texts = list(dict.fromkeys(text for text, _ in named))
    queries: list[tuple[str, Sequence[Any]]] = [
        (sql, [t[cut:] for t in texts if node_type(t) == kind and not is_digest(t)])
        for kind, (sql, cut) in _NODE_TABLES.items()
    ]
    bare = [t for t in texts if is_digest(t)]
    queries.append(("SELECT digest, node, name, seq FROM artifacts WHERE digest IN ({})", bare))
    answers = db.any_of_each(queries + also)
    known = {row[0] for rows in answers[: len(_NODE_TABLES)] for row in rows}
    holders: dict[str, list[tuple[int, bool, str]]] = {}
    for digest, node, name, seq in answers[len(_NODE_TABLES)]:
        holders.setdefault(digest, []).append((seq, name is None, node))
    found: dict[tuple[str, int], str] = {}
    for text, seq in named:
        if text in known:
            found[(text, seq)] = text
        elif text in holders:
            earlier = [h for h in holders[text] if h[0] <= seq]
            if earlier:  # the unnamed node first, else the latest named version
                found[(text, seq)] = max(earlier, key=lambda h: (h[1], h[0]))[2]
    return found, answers[len(queries) :]


def edge_record(db: Sql, seq: int, author: str, op: Any, replay: bool) -> None:
    edge_records(db, [(seq, op)])


def edge_records(db: Sql, items: Sequence[tuple[int, Op]]) -> None:
    """Many edge.record ops at once, with exactly the effect (and errors) of one by one.

    The cycle walk is the costly part, and it is skipped when it cannot find anything: an edge
    parent -> child closes a cycle only through a path leaving the child, so a child without
    edges below it (a fresh run or artifact: the usual case) needs no walk at all.
    """
    ops: list[tuple[int, Any]] = list(items)
    # Asked with the ends, in the same round trip: which children have edges below them, and
    # the ends' numbers. A node named by other than a bare digest is the node it names; a bare
    # digest is asked as itself too (the unnamed artifact it names, as a rule), and asked
    # again only when it means another node (a named version holding those bytes).
    named = {op.child for _, op in ops}
    asked = list(dict.fromkeys(n for _, op in ops for n in (op.parent, op.child)))
    means, (below, numbered, top) = _recorded_nodes(
        db,
        [(n, seq) for seq, op in ops for n in (op.parent, op.child)],
        [(_HAS_BELOW, list(named)), (_NUMBERED, asked), (_TOP, ())],
    )
    first: _Numbers | None = (set(asked), dict(numbered), int(top[0][0]) if top else 0)
    resolved: list[tuple[int, Any, str, str]] = []
    for seq, op in ops:
        for node in (op.parent, op.child):
            if (node, seq) not in means:
                raise unknown(node)
        resolved.append((seq, op, means[(op.parent, seq)], means[(op.child, seq)]))
    has_below = {row[0] for row in below}
    rest = list({child for *_, child in resolved} - named)
    if rest:
        has_below |= _existing(db, _HAS_BELOW, rest)
    pending: list[tuple[Any, ...]] = []
    for seq, op, parent, child in resolved:
        if child in has_below:
            if pending:  # the walk must see this batch's earlier edges
                _insert_edges(db, pending, first)
                pending, first = [], None
            if db.one(_DESCENDANT, (child, parent)) is not None:
                raise Conflict(
                    f"a {op.kind!r} edge {parent} -> {child} would close a cycle",
                    hint=f"{child} is already upstream of {parent}; lineage must stay a DAG",
                )
        pending.append((parent, child, op.kind, op.role or "", seq))
        has_below.add(parent)
    if pending:
        _insert_edges(db, pending, first)


_NUMBERED = "SELECT node, id FROM node_ids WHERE node IN ({})"
_TOP = "SELECT COALESCE(MAX(id), 0) FROM node_ids"
#: Node numbers read before any edge of the batch was inserted: the nodes asked about, the
#: numbers of those that have one, and the highest number given.
_Numbers = tuple[set[str], dict[str, int], int]


def _insert_edges(db: Sql, rows: list[tuple[Any, ...]], read: _Numbers | None = None) -> None:
    """Insert edge rows (parent, child, kind, role, seq) with their ends' node numbers: a node
    new to node_ids gets the next number, in the order the rows name them, parent first (so
    a replay, one record at a time or in batches, numbers every node alike). ``read``: the
    numbers as read already, if nothing was numbered since."""
    ends = list(dict.fromkeys(node for row in rows for node in row[:2]))
    if read is not None and read[0].issuperset(ends):
        numbers = {node: read[1][node] for node in ends if node in read[1]}
        last = read[2]
    else:
        known, top = db.any_of_each([(_NUMBERED, ends), (_TOP, ())])  # one round trip
        numbers, last = dict(known), int(top[0][0]) if top else 0
    new = []
    if len(numbers) < len(ends):
        for parent, child, _kind, _role, seq in rows:
            for node in (parent, child):
                if node not in numbers:
                    last += 1
                    numbers[node] = last
                    new.append((last, node, seq))
        db.many("INSERT INTO node_ids (id, node, seq) VALUES (?, ?, ?)", new)
    db.many(_INSERT_EDGE, [(*row, numbers[row[0]], numbers[row[1]]) for row in rows])
