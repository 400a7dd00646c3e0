"""Lineage SQL: upstream and downstream closures, paths, node details and refs as of a seq.

Read-only recursive SQL over the edges projection, one text for SQLite and PostgreSQL; never
writes, and never loads more of the graph into Python than the answer itself holds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lineal.errors import InvalidInput, NotFound
from lineal.model.entities import Edge
from lineal.model.refs import Ref
from lineal.store import queries
from lineal.store.projections import Sql

#: The most values bound into one IN list or seed list.
CHUNK = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeRow:
    """What the projections said about one node as of a seq (``name`` of a run: its name)."""

    id: str
    type: str  # 'artifact', 'run' or 'agent'
    kind: str  # the artifact kind, 'run' or 'agent'
    name: str | None = None
    version: int | None = None
    status: str | None = None
    aliases: tuple[str, ...] = ()  # KIND/NAME:ALIAS held then


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


_SET_EDGE = tuple(Edge.__dict__[f].__set__ for f in ("kind", "parent", "child", "role", "seq"))
_EDGE_COLUMNS = "e.kind, e.parent, e.child, e.role, e.seq"
_EDGE_ORDER = " ORDER BY e.seq, e.parent, e.child, e.kind, e.role"


def _edges(rows: Iterable[tuple[Any, ...]]) -> list[Edge]:
    """Edges from ``_EDGE_COLUMNS`` rows. Projection rows were validated as ops when written:
    skipping Edge's checks keeps a large answer from costing more in Python than in SQL."""
    set_kind, set_parent, set_child, set_role, set_seq = _SET_EDGE
    edges = []
    for kind, parent, child, role, seq in rows:
        edge = object.__new__(Edge)
        set_kind(edge, kind)
        set_parent(edge, parent)
        set_child(edge, child)
        set_role(edge, role or None)
        set_seq(edge, seq)
        edges.append(edge)
    return edges


def _merged(rows: list[tuple[Any, ...]], chunks: int) -> list[tuple[Any, ...]]:
    """Rows of several queries (each ordered by ``_EDGE_ORDER``) as one ordered, unique list."""
    if chunks <= 1:
        return rows
    return sorted(set(rows), key=lambda r: (r[4], r[1], r[2], r[0], r[3]))


# -- closures --------------------------------------------------------------------------------
def _direction(upstream: bool) -> tuple[str, str]:
    """(the edge column matched against the walk, the column the walk moves to)."""
    return ("child", "parent") if upstream else ("parent", "child")


def _at(as_of: int | None, column: str = "seq") -> tuple[str, tuple[int, ...]]:
    """`` AND column <= ?`` and its argument, or nothing when reading the present."""
    return ("", ()) if as_of is None else (f" AND {column} <= ?", (as_of,))


def _node_walk(name: str, seeds: int, upstream: bool, as_of: int | None) -> str:
    """``name(node)``: every node reachable from the seeds. ``UNION`` keeps one row per node
    (so the walk ends even on data with a cycle); this node-only shape stays cheap at any
    depth, where carrying the depth would make a row per node per path length."""
    match, reach = _direction(upstream)
    seq, _ = _at(as_of, "e.seq")
    values = ", ".join(["(CAST(? AS TEXT))"] * seeds)
    return (
        f"{name}(node) AS (VALUES {values} "
        f"UNION SELECT e.{reach} FROM edges e JOIN {name} ON e.{match} = {name}.node{seq}) "
    )


def _depth_walk(seeds: int, upstream: bool, as_of: int | None) -> str:
    """Nodes within ``?`` steps of the seeds, with the least number of steps to each."""
    match, reach = _direction(upstream)
    seq, _ = _at(as_of, "e.seq")
    values = ", ".join(["(CAST(? AS TEXT), 0)"] * seeds)
    return (
        f"WITH RECURSIVE walk(node, depth) AS (VALUES {values} "
        f"UNION SELECT e.{reach}, walk.depth + 1 FROM edges e JOIN walk "
        f"ON e.{match} = walk.node WHERE walk.depth < ?{seq}) "
        "SELECT node, MIN(depth) FROM walk GROUP BY node"
    )


def depths(seeds: Iterable[str], steps: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Least steps from the seeds to each node, by a breadth-first pass over the answer's
    ``(from, to)`` steps (the answer only: never the whole graph)."""
    step: dict[str, list[str]] = {}
    for origin, target in steps:
        step.setdefault(origin, []).append(target)
    depth = dict.fromkeys(seeds, 0)
    queue = deque(depth)
    while queue:
        node = queue.popleft()
        for target in step.get(node, ()):
            if target not in depth:
                depth[target] = depth[node] + 1
                queue.append(target)
    return depth


def _walk_rows(
    db: Sql, starts: Sequence[str], upstream: bool, as_of: int | None, columns: str, order: str
) -> list[tuple[Any, ...]]:
    """``columns`` of every edge met walking from ``starts`` at full depth. Each edge whose
    near end the walk reached leads to a node of the answer, so these are exactly the edges
    among the answer's nodes."""
    match, _ = _direction(upstream)
    seq, seq_args = _at(as_of, "e.seq")
    rows: list[tuple[Any, ...]] = []
    chunks = 0
    for chunk in _chunks(starts):
        sql = (
            f"WITH RECURSIVE {_node_walk('walk', len(chunk), upstream, as_of)}"
            f"SELECT {columns} FROM walk JOIN edges e ON e.{match} = walk.node{seq}{order}"
        )
        rows.extend(db.all(sql, (*chunk, *seq_args, *seq_args)))
        chunks += 1
    return _merged(rows, chunks) if order else rows


def subgraph(
    db: Sql,
    start_ids: Sequence[str],
    *,
    upstream: bool,
    depth: int | None = None,
    as_of: int | None = None,
) -> tuple[dict[str, int], list[Edge]]:
    """The nodes reachable from ``start_ids`` (each with its least depth) and the edges among
    them in recording order, following edges up (to parents) or down (to children), as
    recorded by seq ``as_of``."""
    starts = list(dict.fromkeys(start_ids))
    if depth is not None:
        reached = _walk_limited(db, starts, upstream, depth, as_of)
        return reached, edges_among(db, reached, as_of)
    rows = _walk_rows(db, starts, upstream, as_of, _EDGE_COLUMNS, _EDGE_ORDER)
    near, far = (2, 1) if upstream else (1, 2)
    return depths(starts, [(row[near], row[far]) for row in rows]), _edges(rows)


def _walk_limited(
    db: Sql, starts: Sequence[str], upstream: bool, depth: int, as_of: int | None
) -> dict[str, int]:
    _, seq_args = _at(as_of)
    reached: dict[str, int] = {}
    for chunk in _chunks(starts):
        sql = _depth_walk(len(chunk), upstream, as_of)
        for node, steps in db.all(sql, (*chunk, depth, *seq_args)):
            if node not in reached or steps < reached[node]:
                reached[node] = int(steps)
    return reached


def _nodes_only(
    db: Sql, start_ids: Sequence[str], upstream: bool, depth: int | None, as_of: int | None
) -> list[tuple[str, int]]:
    starts = list(dict.fromkeys(start_ids))
    if depth is not None:
        reached = _walk_limited(db, starts, upstream, depth, as_of)
    else:
        match, reach = _direction(upstream)
        rows = _walk_rows(db, starts, upstream, as_of, f"e.{match}, e.{reach}", "")
        reached = depths(starts, rows)
    return sorted(reached.items(), key=lambda item: (item[1], item[0]))


def upstream_nodes(
    db: Sql, start_ids: Sequence[str], *, depth: int | None = None, as_of: int | None = None
) -> list[tuple[str, int]]:
    """``(node, least steps up)`` for the starts and everything upstream of them."""
    return _nodes_only(db, start_ids, True, depth, as_of)


def downstream_nodes(
    db: Sql, start_ids: Sequence[str], *, depth: int | None = None, as_of: int | None = None
) -> list[tuple[str, int]]:
    """``(node, least steps down)`` for the starts and everything downstream of them."""
    return _nodes_only(db, start_ids, False, depth, as_of)


def path_nodes(db: Sql, a: str | Sequence[str], b: str, as_of: int | None = None) -> list[str]:
    """The nodes on any path from ``a`` (one node or several) down to ``b``, both included:
    what is downstream of ``a`` and upstream of ``b`` at once."""
    sources = [a] if isinstance(a, str) else list(dict.fromkeys(a))
    _, seq_args = _at(as_of)
    found: set[str] = set()
    for chunk in _chunks(sources):
        sql = (
            f"WITH RECURSIVE {_node_walk('down', len(chunk), False, as_of)}, "
            f"{_node_walk('up', 1, True, as_of)}"
            "SELECT node FROM down INTERSECT SELECT node FROM up"
        )
        found.update(row[0] for row in db.all(sql, (*chunk, *seq_args, b, *seq_args)))
    return sorted(found)


def edges_among(db: Sql, ids: Iterable[str], as_of: int | None = None) -> list[Edge]:
    """The edges (recorded by ``as_of``) whose two ends are both in ``ids``."""
    wanted = set(ids)
    seq, seq_args = _at(as_of, "e.seq")
    rows: list[tuple[Any, ...]] = []
    for chunk in _chunks(sorted(wanted)):
        found = db.all(
            f"SELECT {_EDGE_COLUMNS} FROM edges e WHERE e.child IN ({_marks(chunk)}){seq}",
            (*chunk, *seq_args),
        )
        rows.extend(row for row in found if row[1] in wanted)
    return _edges(_merged(rows, 2))


# -- node details ----------------------------------------------------------------------------
def _alive(as_of: int | None) -> tuple[str, tuple[int, ...]]:
    """The condition for a row of a changing fact (an alias) that held at ``as_of``."""
    if as_of is None:
        return " AND until_seq IS NULL", ()
    return " AND seq <= ? AND (until_seq IS NULL OR until_seq > ?)", (as_of, as_of)


def node_rows(db: Sql, ids: Iterable[str], as_of: int | None = None) -> dict[str, NodeRow]:
    """Kind, names and versions, run name and status, aliases: each node as of ``as_of``.

    A run finished after ``as_of`` was still ``running`` then. Nodes unknown then are left out.
    """
    wanted = sorted(set(ids))
    on, seq_args = _at(as_of)
    found: dict[str, NodeRow] = {}
    digests = [n for n in wanted if n.startswith("sha256:")]
    for chunk in _chunks(digests):
        marks = _marks(chunk)
        kinds = dict(
            db.all(
                f"SELECT digest, kind FROM artifacts WHERE digest IN ({marks}){on}",
                (*chunk, *seq_args),
            )
        )
        names: dict[str, tuple[str, int]] = {}
        for digest, name, version in db.all(
            f"SELECT digest, name, version FROM versions WHERE digest IN ({marks}){on} "
            "ORDER BY seq DESC, name DESC",
            (*chunk, *seq_args),
        ):
            names[digest] = (name, version)  # the first name given to it wins
        alive, alive_args = _alive(as_of)
        aliases: dict[str, list[str]] = {}
        for digest, kind, name, alias in sorted(  # in Python: one order on every backend
            db.all(
                f"SELECT digest, kind, name, alias FROM aliases WHERE digest IN ({marks}){alive}",
                (*chunk, *alive_args),
            )
        ):
            aliases.setdefault(digest, []).append(f"{kind}/{name}:{alias}")
        for digest, kind in kinds.items():
            name, version = names.get(digest, (None, None))
            found[digest] = NodeRow(
                id=digest,
                type="artifact",
                kind=kind,
                name=name,
                version=version,
                aliases=tuple(aliases.get(digest, ())),
            )
    runs = [n[4:] for n in wanted if n.startswith("run/")]
    for chunk in _chunks(runs):
        for run_id, name, recorded, finish_seq in db.all(
            f"SELECT id, name, status, finish_seq FROM runs WHERE id IN ({_marks(chunk)}){on}",
            (*chunk, *seq_args),
        ):
            # a run that finished after the moment was still running then
            late = as_of is not None and (finish_seq is None or finish_seq > as_of)
            status = "running" if late else recorded
            found[f"run/{run_id}"] = NodeRow(
                id=f"run/{run_id}", type="run", kind="run", name=name, status=status
            )
    agents = [n[6:] for n in wanted if n.startswith("agent/")]
    for chunk in _chunks(agents):
        for (name,) in db.all(
            f"SELECT DISTINCT name FROM agents WHERE name IN ({_marks(chunk)}){on}",
            (*chunk, *seq_args),
        ):
            found[f"agent/{name}"] = NodeRow(
                id=f"agent/{name}", type="agent", kind="agent", name=name
            )
    return found


# -- references and moments ------------------------------------------------------------------
def seq_at_time(db: Sql, when: str) -> int:
    """The last ledger seq written at or before ``when`` (canonical UTC text); 0 if none."""
    row = db.one("SELECT seq FROM ledger WHERE time <= ? ORDER BY seq DESC LIMIT 1", (when,))
    return int(row[0]) if row else 0


def _lookup(db: Sql, ref: Ref, as_of: int | None, every_version: bool) -> list[str]:
    on, seq_args = _at(as_of)
    if ref.kind == "run":
        rows = db.all(f"SELECT id FROM runs WHERE id = ?{on}", (ref.name, *seq_args))
        return [f"run/{row[0]}" for row in rows]
    if ref.kind is None:
        sql = f"SELECT digest FROM artifacts WHERE digest LIKE ?{on} ORDER BY digest LIMIT 2"
        return _one_digest(ref, db.all(sql, (f"{ref.digest}%", *seq_args)))
    base = f"SELECT digest FROM versions WHERE kind = ? AND name = ?{on}"
    args = (ref.kind, ref.name, *seq_args)
    if ref.version is not None:
        rows = db.all(base + " AND version = ?", (*args, ref.version))
    elif ref.digest is not None:
        sql = base + " AND digest LIKE ? ORDER BY digest LIMIT 2"
        return _one_digest(ref, db.all(sql, (*args, f"{ref.digest}%")))
    elif ref.alias is not None:
        alive, alive_args = _alive(as_of)
        rows = db.all(
            f"SELECT digest FROM aliases WHERE kind = ? AND name = ? AND alias = ?{alive}",
            (ref.kind, ref.name, ref.alias, *alive_args),
        )
    elif every_version:
        rows = db.all(base + " ORDER BY version", args)
    else:
        rows = db.all(base + " ORDER BY version DESC LIMIT 1", args)
    return [row[0] for row in rows]


def _one_digest(ref: Ref, rows: list[tuple[Any, ...]]) -> list[str]:
    if len(rows) > 1:
        raise InvalidInput(f"{ref} is ambiguous", hint="give more hex characters of the digest")
    return [row[0] for row in rows]


def resolve_at(
    db: Sql, ref: Ref, as_of: int | None = None, *, every_version: bool = False
) -> list[str]:
    """The node ids ``ref`` named as of seq ``as_of`` (the latest version recorded by then,
    the version an alias pointed at then; every version by then for a bare name with
    ``every_version``), or NotFound saying whether it did not exist yet or at all."""
    found = _lookup(db, ref, as_of, every_version)
    if found:
        return found
    if as_of is not None and _lookup(db, ref, None, every_version):
        raise NotFound(
            f"{ref} did not exist yet at seq {as_of}",
            hint="pick a later --as-of (`lineal log` lists each record's seq and time)",
        )
    hint = "`lineal log --op artifact.record` lists recorded artifacts"
    if ref.alias is not None:
        hint = "`lineal log --op alias.set` lists every alias change"
    try:
        queries.resolve(db, ref)  # raises the usual NotFound, which says what is recorded
    except NotFound as exc:
        raise NotFound(exc.message, hint=exc.hint or hint) from None
    raise NotFound(f"no match for {ref}", hint=hint)


def agent_at(db: Sql, name: str, as_of: int | None = None) -> str:
    """``agent/NAME`` if that agent was registered by ``as_of``, else NotFound."""
    on, seq_args = _at(as_of)
    if db.one(f"SELECT 1 FROM agents WHERE name = ?{on}", (name, *seq_args)):
        return f"agent/{name}"
    if as_of is not None and db.one("SELECT 1 FROM agents WHERE name = ?", (name,)):
        raise NotFound(f"agent/{name} did not exist yet at seq {as_of}", hint="pick a later seq")
    raise NotFound(f"no agent/{name}", hint="`lineal log --op agent.register` lists agents")
