"""A page of a runs listing in any order, and the keys a runs table can show: the SQL half of
``Store.runs_page`` and ``Store.run_keys``.

The database sorts and counts: the order is one LEFT JOIN (the key's row of ``run_metrics``,
``params`` or current ``tags``) and an ORDER BY with missing values last, then the listing's
own order (newest first) for ties; only the page's runs are read in full. A filter with
``metrics.K@STEP`` fields is matched exactly as ``search_runs`` matches it (lineal.store.sql.
search): the covering candidates in order, kept when the filter holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lineal.model.entities import Run
from lineal.model.filters import Expr, check_step_fields
from lineal.model.run_order import RunOrder
from lineal.store.sql import run_queries
from lineal.store.sql.filters import compile_where
from lineal.store.sql.projections import Sql
from lineal.store.sql.search import resolver, step_matches

_CHUNK = 500
#: The row of the sort key each run joins, by scope (``?``: the key).
_JOINS = {
    "metrics": " LEFT JOIN run_metrics srt ON srt.run_id = r.id AND srt.key = ?",
    "params": " LEFT JOIN params srt ON srt.run_id = r.id AND srt.key = ?",
    "tags": " LEFT JOIN tags srt ON srt.target = 'run/' || r.id AND srt.key = ? "
    "AND srt.until_seq IS NULL",
}


def _order_sql(order: RunOrder, status: str) -> tuple[str, list[Any], str]:
    """The JOIN the order needs, its argument, and the ORDER BY clause."""
    field = order.field
    way = " DESC" if order.descending else ""
    if field.scope is None:
        join, args = "", []
        column = f"({status})" if field.name == "status" else f"r.{field.name}"
        keys = [column]
        missing = f"({column} IS NULL)"
    else:
        join, args = _JOINS[field.scope], [field.name]
        # A param: numbers (num) before other values, each in its own order.
        keys = ["srt.num", "srt.value"] if field.scope == "params" else ["srt.value"]
        missing = "(srt.value IS NULL)"
        if field.scope == "params":
            missing += ", (srt.num IS NULL)"
    by = ", ".join(f"{key}{way}" for key in keys)
    if field.scope is None and field.name == "started":
        ties = f", r.id{way}"
    else:
        ties = ", r.started DESC, r.id DESC"  # the listing's own order
    return join, args, f" ORDER BY {missing}, {by}{ties}"


def runs_page(
    db: Sql,
    expr: Expr | None,
    order: RunOrder,
    *,
    crashed: Sequence[str] = (),
    offset: int = 0,
    limit: int | None = None,
    with_meta: bool = True,
) -> tuple[list[Run], int]:
    """The runs ``expr`` matches (None: all) in ``order``, ``limit`` of them from ``offset``,
    and how many it matches in all."""
    status = run_queries.status_sql(crashed)
    where, params = "", list[Any]()  # no filter: every run
    if expr is not None:
        where, params = compile_where(expr, resolve=resolver(db), status_sql=status)
    join, join_args, order_by = _order_sql(order, status)
    chosen = f" FROM runs r{join}" + (f" WHERE {where}" if where else "")
    listed = f"SELECT r.id{chosen}{order_by}"
    args = [*join_args, *params]
    if expr is None or not check_step_fields(expr):
        count = "SELECT COUNT(*) FROM runs r" + (f" WHERE {where}" if where else "")
        total = int(db.all(count, params)[0][0])
        if offset >= total:
            return [], total
        # LIMIT before OFFSET, as both SQLite and PostgreSQL take it; the largest 64-bit
        # number stands for "no limit" (SQLite has no LIMIT ALL).
        listed += f" LIMIT {int(limit if limit is not None else 2**63 - 1)} OFFSET {int(offset)}"
        ids = [row[0] for row in db.all(listed, args)]
    else:
        ordered = [row[0] for row in db.all(listed, args)]
        found, _ = step_matches(db, expr, set(ordered), where, params, status=status)
        matched = [run_id for run_id in ordered if run_id in found]
        total = len(matched)
        end = None if limit is None else offset + limit
        ids = matched[offset:end]
    runs: dict[str, Run] = {}
    for start in range(0, len(ids), _CHUNK):
        part = ids[start : start + _CHUNK]
        for run in run_queries.list_runs(
            db,
            f"r.id IN ({', '.join('?' * len(part))})",
            part,
            status_sql=status,
            with_meta=with_meta,
        ):
            runs[run.id] = run
    return [runs[run_id] for run_id in ids], total


def run_keys(db: Sql) -> dict[str, list[str]]:
    """The param, metric and (current) tag keys some run has, each list sorted."""
    return {
        "params": [row[0] for row in db.all("SELECT DISTINCT key FROM params ORDER BY key")],
        "metrics": [row[0] for row in db.all("SELECT DISTINCT key FROM run_metrics ORDER BY key")],
        "tags": [
            row[0]
            for row in db.all(
                "SELECT DISTINCT key FROM tags WHERE target LIKE ? AND until_seq IS NULL "
                "ORDER BY key",
                ["run/%"],
            )
        ],
    }
