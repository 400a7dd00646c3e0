"""Lineage SQL: upstream and downstream closures, paths, node details and refs as of a seq.

Read-only recursive SQL over the edges projection, one text for SQLite and PostgreSQL; never
writes, and never loads more of the graph into Python than the answer itself holds.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeVar

from lineal.errors import InvalidInput, NotFound
from lineal.model.entities import Edge, artifact_node
from lineal.model.refs import Ref
from lineal.store.base import Answer, Columns, NodeRow
from lineal.store.sql import queries
from lineal.store.sql.adjacency import HEAD
from lineal.store.sql.projections import Sql

if TYPE_CHECKING:
    from lineal.store.sql.adjacency import Adjacency

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


# -- walks over the lineage index ----------------------------------------------------------
def _refreshed(db: Sql, index: Adjacency, nodes: Sequence[str]) -> dict[str, int]:
    """Bring the index to the head and read the node numbers of those of ``nodes`` an edge
    names, both in one round trip."""
    head, numbered = db.any_of_each([(HEAD, ()), (_NUMBERED, list(dict.fromkeys(nodes)))])
    index.refresh(db, head[0] if head else ())
    return {str(n): int(i) for n, i in numbered}


_NUMBERED = "SELECT node, id FROM node_ids WHERE node IN ({})"


def _node_set(db: Sql, numbers: list[int], texts: list[str]) -> tuple[str, tuple[Any, ...]]:
    """A ``nodes(node, id)`` CTE of the numbered nodes and the ``texts`` no edge names, each
    list bound as one value (one statement for any number of nodes)."""
    from lineal.store.sql.sqlite import SqliteSql

    if isinstance(db, SqliteSql):
        return (
            "nodes(node, id) AS (SELECT i.node, i.id FROM json_each(?) j "
            "JOIN node_ids i ON i.id = j.value "
            "UNION ALL SELECT j.value, NULL FROM json_each(?) j)",
            (json.dumps(numbers), json.dumps(texts)),
        )
    return (
        "nodes(node, id) AS (SELECT i.node, i.id FROM node_ids i "
        "WHERE i.id = ANY(CAST(? AS BIGINT[])) "
        "UNION ALL SELECT t.node, NULL FROM unnest(CAST(? AS TEXT[])) AS t(node))",
        (numbers, texts),
    )


def _node_details(as_of: int | None) -> tuple[str, tuple[int, ...]]:
    """One row per node of ``nodes(node, id)`` and alias it held (``_details`` in one pass):
    number, node, artifact kind, name and version, alias kind, name and alias, run name,
    status and finish seq, agent name."""
    a, a_args = _at(as_of, "a.seq")
    v, v_args = _at(as_of, "v.seq")
    r, r_args = _at(as_of, "r.seq")
    g, g_args = _at(as_of, "g.seq")
    alive, alive_args = _alive(as_of, "s.")
    return (
        "SELECT n.id, n.node, a.kind, a.name, v.version, s.kind, s.name, s.alias, "
        "r.name, r.status, r.finish_seq, g.name FROM nodes n "
        f"LEFT JOIN artifacts a ON a.node = n.node{a} "
        "LEFT JOIN versions v ON v.kind = a.kind AND v.name = a.name "
        f"AND v.digest = a.digest{v} "
        "LEFT JOIN aliases s ON s.digest = a.digest AND s.kind = a.kind "
        f"AND s.name = a.name{alive} "
        "LEFT JOIN runs r ON substr(n.node, 1, 4) = 'run/' "
        f"AND r.id = substr(n.node, 5){r} "
        "LEFT JOIN agents g ON substr(n.node, 1, 6) = 'agent/' "
        f"AND g.name = substr(n.node, 7){g}",
        (*a_args, *v_args, *alive_args, *r_args, *g_args),
    )


def _described(
    db: Sql,
    numbers: list[int],
    texts: list[str],
    as_of: int | None,
    also: Sequence[tuple[str, Sequence[Any]]] = (),
) -> tuple[dict[int, tuple[Any, ...]], dict[str, tuple[Any, ...]], list[list[tuple[Any, ...]]]]:
    """Each node's (node, type, kind, name, version, status, aliases) as of ``as_of``, by
    number and (for the ``texts`` no edge names) by text, in one statement; type None for a
    node no projection describes (then)."""
    cte, cte_args = _node_set(db, numbers, texts)
    sql, args = _node_details(as_of)
    found: dict[Any, list[Any]] = {}
    rows, *others = db.any_of_each([(f"WITH {cte} {sql}", (*cte_args, *args)), *also])
    for (
        number,
        node,
        kind,
        name,
        version,
        s_kind,
        s_name,
        alias,
        run,
        status,
        done,
        agent,
    ) in rows:
        key = node if number is None else int(number)
        if key in found:  # another alias (or key of an agent) of a node already read
            if alias is not None:
                found[key][6].append(f"{s_kind}/{s_name}:{alias}")
            continue
        if kind is not None:
            held = [] if alias is None else [f"{s_kind}/{s_name}:{alias}"]
            found[key] = [node, "artifact", kind, name, version, None, held]
        elif run is not None:
            late = as_of is not None and (done is None or done > as_of)
            found[key] = [node, "run", "run", run, None, "running" if late else status, []]
        elif agent is not None:
            found[key] = [node, "agent", "agent", agent, None, None, []]
        else:
            found[key] = [node, None, None, None, None, None, []]
    by_number: dict[int, tuple[Any, ...]] = {}
    by_text: dict[str, tuple[Any, ...]] = {}
    for key, (*row, held) in found.items():
        described = (*row, tuple(sorted(held)) if held else ())
        if isinstance(key, int):
            by_number[key] = described
        else:
            by_text[key] = described
    return by_number, by_text, others


def _columns(
    db: Sql,
    index: Adjacency,
    texts: list[tuple[str, int]],
    walked: tuple[Any, Any, Any],
    as_of: int | None,
    also: Sequence[tuple[str, Sequence[Any]]] = (),
) -> tuple[Columns, list[list[tuple[Any, ...]]]]:
    """The columns of an answer: ``texts``, the (node, depth) no edge names; ``walked``, the
    index's (node numbers, depths, edge positions); and the answers to the ``also`` queries,
    sent with the description of the nodes (one round trip)."""
    numbers, depths, edges = walked
    number_list: list[int] = numbers.tolist()
    by_number, by_text, others = _described(db, number_list, [t for t, _ in texts], as_of, also)
    rows: list[tuple[Any, ...]] = []
    missing: list[str] = []
    for text, depth in texts:
        row = by_text.get(text)
        if row is None or row[1] is None:
            missing.append(text)
        else:
            rows.append((*row, depth))
    first = len(rows)
    for number, depth in zip(number_list, depths.tolist(), strict=True):
        row = by_number.get(number)
        if row is None or row[1] is None:  # a node no projection describes (then)
            missing.append(f"node #{number}" if row is None else row[0])
        else:
            rows.append((*row, depth))
    cols: list[list[Any]] = [list(c) for c in zip(*rows, strict=True)] if rows else [[]] * 8
    import numpy as np

    # Each edge end's position in the node columns: numbers sorted, then looked up.
    order = np.argsort(numbers, kind="stable")
    ordered = numbers[order]
    ends = []
    for column in (index.parent, index.child):
        at = np.searchsorted(ordered, column[edges])
        ends.append((order[at] + first).tolist())
    kind_names, roles = index.kinds, index.roles
    if missing:
        ends = [[], []]
        edges = edges[:0]
    node_id, node_type, kind, name, version, status, aliases, least = cols
    return Columns(
        id=node_id,
        type=node_type,
        kind=kind,
        name=name,
        version=version,
        status=status,
        aliases=aliases,
        depth=least,
        parent=ends[0],
        child=ends[1],
        edge_kind=[kind_names[k] for k in index.kind[edges].tolist()],
        role=[roles[r] or None for r in index.role[edges].tolist()],
        seq=index.seqs[edges].tolist(),
        missing=tuple(missing),
    ), others


def index_subgraph(
    db: Sql,
    index: Adjacency,
    start_ids: Sequence[str],
    *,
    upstream: bool,
    depth: int | None = None,
    as_of: int | None = None,
    also: Sequence[tuple[str, Sequence[Any]]] = (),
) -> tuple[Columns, list[list[tuple[Any, ...]]]]:
    """``subgraph`` answered from the lineage index: the walk over its arrays, then the
    answer's nodes described in one statement (sent with the ``also`` queries, whose answers
    come back beside the columns)."""
    starts = list(dict.fromkeys(start_ids))
    numbered = _refreshed(db, index, starts)
    walked = index.walk(
        [numbered[s] for s in starts if s in numbered], upstream=upstream, depth=depth, as_of=as_of
    )
    texts = [(s, 0) for s in starts if s not in numbered]
    return _columns(db, index, texts, walked, as_of, also)


def index_path(
    db: Sql, index: Adjacency, sources: Sequence[str], target: str, as_of: int | None = None
) -> Columns:
    """``path_subgraph`` answered from the lineage index: what is both below a source and
    above the target, the edges among it, depths from the sources on a path."""
    import numpy as np

    starts = list(dict.fromkeys(sources))
    numbered = _refreshed(db, index, [*starts, target])
    down, _, down_edges = index.walk(
        [numbered[s] for s in starts if s in numbered], upstream=False, depth=None, as_of=as_of
    )
    up, _, _ = (
        index.walk([numbered[target]], upstream=True, depth=None, as_of=as_of)
        if target in numbered
        else (np.zeros(0, np.int64), None, None)
    )
    both = np.intersect1d(down, up)
    inside = np.isin(index.parent[down_edges], both) & np.isin(index.child[down_edges], both)
    edges = down_edges[inside]
    roots = [s for s in starts if (s in numbered and numbered[s] in both) or s == target]
    steps = list(zip(index.parent[edges].tolist(), index.child[edges].tolist(), strict=True))
    while True:
        least = depths([numbered[r] for r in roots if r in numbered], steps)
        numbers = np.fromiter(least, np.int64, len(least))
        walked = (numbers, np.fromiter(least.values(), np.int64, len(least)), edges)
        texts = [(r, 0) for r in roots if r not in numbered]
        answer = _columns(db, index, texts, walked, as_of)[0]
        # A source not recorded yet at ``as_of`` (itself the target: no edge) is on no path.
        unknown = set(answer.missing) & set(roots)
        if not unknown:
            return answer
        roots = [r for r in roots if r not in unknown]
