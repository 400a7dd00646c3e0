"""Lineage walks answered from the lineage index (lineal.store.sql.adjacency): the walk over
its arrays, then one statement describing every node of the answer as of its moment, the
answer returned in columns. The same answers as lineage_queries' recursive SQL, which the
tests hold them to.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lineal.store.base import Columns
from lineal.store.sql.adjacency import HEAD
from lineal.store.sql.lineage_queries import _alive, _at, depths
from lineal.store.sql.projections import Sql

if TYPE_CHECKING:
    from lineal.store.sql.adjacency import Adjacency


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
