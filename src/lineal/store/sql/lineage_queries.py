"""Lineage SQL: upstream and downstream closures, paths, node details and refs as of a seq.

Read-only recursive SQL over the edges projection, one text for SQLite and PostgreSQL; never
writes, and never loads more of the graph into Python than the answer itself holds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any, TypeVar

from lineal.errors import InvalidInput, NotFound
from lineal.model.entities import Edge, artifact_node
from lineal.model.refs import Ref
from lineal.store.base import Answer, NodeRow
from lineal.store.sql import queries
from lineal.store.sql.projections import Sql

_N = TypeVar("_N", str, int)

#: The most values bound into one IN list or seed list.
CHUNK = 500


_Parts = Sequence[tuple[str, Sequence[Any]]]  # (CTEs defining ``nodes``, their arguments)


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    return (values[start : start + CHUNK] for start in range(0, len(values), CHUNK))


def _at(as_of: int | None, column: str = "seq") -> tuple[str, tuple[int, ...]]:
    """`` AND column <= ?`` and its argument, or nothing when reading the present."""
    return ("", ()) if as_of is None else (f" AND {column} <= ?", (as_of,))


def _alive(as_of: int | None, table: str = "") -> tuple[str, tuple[int, ...]]:
    """The condition for a row of a changing fact (an alias) that held at ``as_of``."""
    t = table
    if as_of is None:
        return f" AND {t}until_seq IS NULL", ()
    return f" AND {t}seq <= ? AND ({t}until_seq IS NULL OR {t}until_seq > ?)", (as_of, as_of)


def _direction(upstream: bool) -> tuple[str, str]:
    """(the edge column matched against the walk, the column the walk moves to)."""
    return ("child", "parent") if upstream else ("parent", "child")


_SET_EDGE = tuple(Edge.__dict__[f].__set__ for f in ("kind", "parent", "child", "role", "seq"))
#: Edge rows (kind, parent, child, role, seq) in recording order: one edge per record.
_EDGE_ORDER = itemgetter(5)


def _edges(rows: Iterable[Sequence[Any]]) -> list[Edge]:
    """Edges from tag-0 rows (0, kind, parent, child, role, seq, NULL). Projection rows were
    validated as ops when written: skipping Edge's checks keeps a large answer cheap."""
    set_kind, set_parent, set_child, set_role, set_seq = _SET_EDGE
    edges = []
    for _tag, kind, parent, child, role, seq, _pad in rows:
        edge = object.__new__(Edge)
        set_kind(edge, kind)
        set_parent(edge, parent)
        set_child(edge, child)
        set_role(edge, role or None)
        set_seq(edge, seq)
        edges.append(edge)
    return edges


def depths(seeds: Iterable[_N], steps: Iterable[tuple[_N, _N]]) -> dict[_N, int]:
    """Least steps from the seeds to each node, by a breadth-first pass over the answer's
    ``(from, to)`` steps (the answer only: never the whole graph)."""
    step: dict[_N, list[_N]] = {}
    for origin, target in steps:
        step.setdefault(origin, []).append(target)
    depth = dict.fromkeys(seeds, 0)
    queue = deque(depth)
    while queue:
        node = queue.popleft()
        below = depth[node] + 1
        for target in step.get(node, ()):
            if target not in depth:
                depth[target] = below
                queue.append(target)
    return depth


# -- the SQL shapes --------------------------------------------------------------------------
def _walk(name: str, seeds: int, upstream: bool, as_of: int | None) -> str:
    """``name(node, id)``: the seeds and every node reachable from them, one row each, with its
    number in node_ids (NULL for a seed no edge names). The walk follows edges by number
    (``UNION``: it ends even on a cycle); carrying depths would make a row per path length."""
    match, reach = _direction(upstream)
    seq, _ = _at(as_of, "e.seq")
    values = ", ".join(["(CAST(? AS TEXT))"] * seeds)
    return (
        f"{name}_seed(node) AS (VALUES {values}), "
        f"{name}_walk(id) AS (SELECT i.id FROM {name}_seed s JOIN node_ids i ON i.node = s.node "
        f"UNION SELECT e.{reach}_id FROM edges e JOIN {name}_walk w ON e.{match}_id = w.id{seq}), "
        f"{name}(node, id) AS (SELECT s.node, i.id FROM {name}_seed s "
        f"LEFT JOIN node_ids i ON i.node = s.node "
        f"UNION SELECT i.node, i.id FROM {name}_walk w JOIN node_ids i ON i.id = w.id)"
    )


def _depth_walk(seeds: int, upstream: bool, as_of: int | None) -> str:
    """``nodes(node, id, depth)``: the nodes within ``?`` steps, with the least steps to each."""
    match, reach = _direction(upstream)
    seq, _ = _at(as_of, "e.seq")
    values = ", ".join(["(CAST(? AS TEXT))"] * seeds)
    return (
        f"seed(node) AS (VALUES {values}), "
        "walk(id, depth) AS (SELECT i.id, 0 FROM seed s JOIN node_ids i ON i.node = s.node "
        f"UNION SELECT e.{reach}_id, walk.depth + 1 FROM edges e JOIN walk "
        f"ON e.{match}_id = walk.id WHERE walk.depth < ?{seq}), "
        "nodes(node, id, depth) AS (SELECT x.node, x.id, MIN(x.depth) FROM ("
        "SELECT s.node, i.id, 0 AS depth FROM seed s LEFT JOIN node_ids i ON i.node = s.node "
        "UNION ALL SELECT i.node, i.id, w.depth FROM walk w JOIN node_ids i ON i.id = w.id"
        ") AS x GROUP BY x.node, x.id)"
    )


def _details(as_of: int | None) -> tuple[str, tuple[int, ...]]:
    """Tagged rows (7 columns) describing each node of a ``nodes(node)`` CTE as of ``as_of``:
    1 artifact with its name and version then, 2 each alias it held then, 3 run, 4 agent."""
    a, a_args = _at(as_of, "a.seq")
    v, v_args = _at(as_of, "v.seq")
    r, r_args = _at(as_of, "r.seq")
    g, g_args = _at(as_of, "g.seq")
    alive, alive_args = _alive(as_of, "s.")
    return (
        "SELECT 1, n.node, a.kind, a.name, NULL, v.version, NULL FROM nodes n JOIN artifacts a "
        f"ON a.node = n.node{a} LEFT JOIN versions v ON v.kind = a.kind AND v.name = a.name "
        f"AND v.digest = a.digest{v} "
        "UNION ALL SELECT 2, n.node, s.kind, s.name, s.alias, NULL, NULL FROM nodes n "
        "JOIN artifacts h ON h.node = n.node JOIN aliases s ON s.digest = h.digest "
        f"AND s.kind = h.kind AND s.name = h.name{alive} "
        "UNION ALL SELECT 3, n.node, r.name, r.status, NULL, r.finish_seq, NULL FROM nodes n "
        f"JOIN runs r ON r.id = substr(n.node, 5) AND substr(n.node, 1, 4) = 'run/'{r} "
        "UNION ALL SELECT 4, n.node, NULL, NULL, NULL, NULL, NULL FROM nodes n "
        f"JOIN agents g ON g.name = substr(n.node, 7) AND substr(n.node, 1, 6) = 'agent/'{g}",
        (*a_args, *v_args, *alive_args, *r_args, *g_args),
    )


def _read(rows: Iterable[Sequence[Any]], as_of: int | None) -> Any:
    """Tagged rows as (edge rows, NodeRows, depths): a run finished after ``as_of`` was still
    running then; tag 5 rows carry depths."""
    edges: list[tuple[Any, ...]] = []
    found: dict[str, Any] = {}
    names: dict[str, tuple[str | None, int | None]] = {}
    aliases: dict[str, list[str]] = {}
    steps: dict[str, int] = {}
    for row in rows:
        if row[0] == 0:
            edges.append(tuple(row))
            continue
        tag, x1, x2, x3, x4, n1, _ = row
        if tag == 1:
            found[x1] = x2
            names[x1] = (x3, n1)
        elif tag == 2:
            aliases.setdefault(x1, []).append(f"{x2}/{x3}:{x4}")
        elif tag == 3:
            late = as_of is not None and (n1 is None or n1 > as_of)
            found[x1] = NodeRow(x1, "run", "run", x2, None, "running" if late else x3)
        elif tag == 4:
            found[x1] = NodeRow(x1, "agent", "agent", x1[6:])
        else:
            steps[x1] = n1
    for node, kind in found.items():
        if isinstance(kind, str):
            name, version = names[node]
            held = tuple(sorted(aliases[node])) if node in aliases else ()
            found[node] = NodeRow(node, "artifact", kind, name, version, None, held)
    return edges, found, steps


def _gather(db: Sql, parts: _Parts, upstream: bool, as_of: int | None, extra: str = "") -> Any:
    """Run one statement per part (CTEs defining ``nodes``, their arguments): its edge rows,
    its nodes' details and ``extra`` rows, merged, the edges in recording order."""
    seq, edge_args = _at(as_of, "e.seq")
    # Tag 0: the edges whose near end is in ``nodes`` (after a full walk, the far end too).
    edge_sql = "SELECT 0, e.kind, e.parent, e.child, e.role, e.seq, NULL FROM nodes n "
    edge_sql += f"JOIN edges e ON e.{_direction(upstream)[0]}_id = n.id{seq}"
    detail_sql, detail_args = _details(as_of)
    edge_rows: list[tuple[Any, ...]] = []
    nodes: dict[str, NodeRow] = {}
    steps: dict[str, int] = {}
    for ctes, args in parts:
        sql = f"WITH RECURSIVE {ctes} {edge_sql} UNION ALL {detail_sql}{extra}"
        edges, found, least = _read(db.all(sql, (*args, *edge_args, *detail_args)), as_of)
        edge_rows += edges
        nodes.update(found)
        for node, value in least.items():
            steps[node] = min(value, steps.get(node, value))
    return sorted(set(edge_rows) if len(parts) > 1 else edge_rows, key=_EDGE_ORDER), nodes, steps


_DEPTHS = " UNION ALL SELECT 5, node, NULL, NULL, NULL, depth, NULL FROM nodes"


def subgraph(
    db: Sql,
    start_ids: Sequence[str],
    *,
    upstream: bool,
    depth: int | None = None,
    as_of: int | None = None,
) -> Answer:
    """The nodes reachable from ``start_ids`` up (to parents) or down (to children) as of seq
    ``as_of``: least depths, edges among them and details, in one statement per 500 starts."""
    starts = list(dict.fromkeys(start_ids))
    _, seq_args = _at(as_of)
    if depth is None:
        parts = [
            (_walk("nodes", len(c), upstream, as_of), (*c, *seq_args)) for c in _chunks(starts)
        ]
        edge_rows, nodes, _ = _gather(db, parts, upstream, as_of)
        near, far = (3, 2) if upstream else (2, 3)
        return depths(starts, [(r[near], r[far]) for r in edge_rows]), _edges(edge_rows), nodes
    parts = [
        (_depth_walk(len(c), upstream, as_of), (*c, depth, *seq_args)) for c in _chunks(starts)
    ]
    edge_rows, nodes, reached = _gather(db, parts, upstream, as_of, _DEPTHS)
    edge_rows = [r for r in edge_rows if r[2] in reached and r[3] in reached]
    return reached, _edges(edge_rows), nodes


def path_subgraph(db: Sql, sources: Sequence[str], target: str, as_of: int | None = None) -> Answer:
    """Like ``subgraph`` for the nodes on any path from ``sources`` down to ``target``: what is
    both downstream of a source and upstream of the target. Depths count from the sources."""
    _, seq_args = _at(as_of)
    both = "nodes(node, id) AS (SELECT node, id FROM down INTERSECT SELECT node, id FROM up)"
    parts = [
        (
            f"{_walk('down', len(c), False, as_of)}, {_walk('up', 1, True, as_of)}, {both}",
            (*c, *seq_args, target, *seq_args),
        )
        for c in _chunks(list(dict.fromkeys(sources)))
    ]
    edge_rows, nodes, _ = _gather(db, parts, False, as_of)
    edge_rows = [r for r in edge_rows if r[3] in nodes]
    roots = [s for s in sources if s in nodes]
    return depths(roots, [(r[2], r[3]) for r in edge_rows]), _edges(edge_rows), nodes


def _nodes_only(
    db: Sql, start_ids: Sequence[str], upstream: bool, depth: int | None, as_of: int | None
) -> list[tuple[str, int]]:
    """``(node, least depth)``, no details: the walk's edge ends and a BFS, or the depth walk."""
    starts = list(dict.fromkeys(start_ids))
    (match, reach), (seq, seq_args) = _direction(upstream), _at(as_of, "e.seq")
    reached: dict[str, int] = {}
    steps: list[tuple[str, str]] = []
    for c in _chunks(starts):
        if depth is None:
            sql = f"{_walk('nodes', len(c), upstream, as_of)} SELECT e.{match}, e.{reach} "
            sql += f"FROM nodes n JOIN edges e ON e.{match}_id = n.id{seq}"
            steps += db.all(f"WITH RECURSIVE {sql}", (*c, *seq_args, *seq_args))
            continue
        sql = f"WITH RECURSIVE {_depth_walk(len(c), upstream, as_of)} SELECT node, depth FROM nodes"
        for node, least in db.all(sql, (*c, depth, *seq_args)):
            reached[node] = min(least, reached.get(node, least))
    reached = depths(starts, steps) if depth is None else reached
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
    """The nodes on any path from ``a`` (one node or several) down to ``b``, both included."""
    return sorted(path_subgraph(db, [a] if isinstance(a, str) else a, b, as_of)[2])


def edges_among(db: Sql, ids: Iterable[str], as_of: int | None = None) -> list[Edge]:
    """The edges (recorded by ``as_of``) whose two ends are both in ``ids``."""
    wanted = set(ids)
    seq, seq_args = _at(as_of, "e.seq")
    rows: list[tuple[Any, ...]] = []
    for chunk in _chunks(sorted(wanted)):
        found = db.all(
            "SELECT 0, e.kind, e.parent, e.child, e.role, e.seq, NULL FROM edges e "
            f"WHERE e.child IN ({', '.join('?' * len(chunk))}){seq}",
            (*chunk, *seq_args),
        )
        rows.extend(row for row in found if row[2] in wanted)
    return _edges(sorted(rows, key=_EDGE_ORDER))


def node_rows(db: Sql, ids: Iterable[str], as_of: int | None = None) -> dict[str, NodeRow]:
    """Each node as of ``as_of``: kind, first name and version, aliases held, run name and
    status (``running`` if it finished later); nodes unknown then are left out."""
    found: dict[str, NodeRow] = {}
    detail_sql, detail_args = _details(as_of)
    for chunk in _chunks(sorted(set(ids))):
        values = ", ".join(["(CAST(? AS TEXT))"] * len(chunk))
        rows = db.all(f"WITH nodes(node) AS (VALUES {values}) {detail_sql}", (*chunk, *detail_args))
        found.update(_read(rows, as_of)[1])
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
        match, bounds = queries.digest_match(ref)
        if not db.one(f"SELECT 1 FROM artifacts WHERE {match}{on} LIMIT 1", (*bounds, *seq_args)):
            return []
        return [queries.by_digest(db, ref).node]  # which node a bare digest means, or refused
    base = f"SELECT digest FROM versions WHERE kind = ? AND name = ?{on}"
    args = (ref.kind, ref.name, *seq_args)
    if ref.version is not None:
        rows = db.all(base + " AND version = ?", (*args, ref.version))
    elif ref.digest is not None:
        match, bounds = queries.digest_match(ref)
        rows = db.all(f"{base} AND {match} LIMIT 2", (*args, *bounds))
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
    if ref.digest is not None and len(rows) > 1:
        raise InvalidInput(f"{ref} is ambiguous", hint="give more hex characters of the digest")
    return [artifact_node(ref.kind, ref.name, row[0]) for row in rows]


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
