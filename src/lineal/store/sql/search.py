"""Searching runs with a parsed filter: the SQL half of ``Store.search_runs``.

``metrics.KEY@STEP`` is answered in two passes. SQL narrows the candidates: the whole filter
with each step comparison replaced by a condition it implies (a ``metric_batches`` row of KEY
spanning STEP; see lineal.store.sql.filters). Then the points of those candidates are read
(``run_queries.metric_series``) and the filter is applied exactly (lineal.model.filters.evaluate):
each step comparison is a set of run ids, the step-free rest of the filter is answered by SQL
within the candidates, and ``and``/``or``/``not`` combine the sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lineal.errors import InvalidInput
from lineal.model.entities import Run
from lineal.model.filters import Expr, Field, check_step_fields, evaluate
from lineal.model.refs import parse
from lineal.model.series import Series, value_at
from lineal.store.sql import run_queries
from lineal.store.sql.filters import COVERING, compile_where
from lineal.store.sql.lineage_queries import resolve_at
from lineal.store.sql.projections import Sql

_CHUNK = 500
#: The runs a filter matched, newest first, and for each ``metrics.K@N`` field the value at
#: that step of every candidate run that has one.
Matches = tuple[list[Run], dict[Field, dict[str, float]]]


def resolver(db: Sql) -> Any:
    cache: dict[str, list[str]] = {}

    def resolve(text: str) -> list[str]:
        """The nodes ``uses(REF)`` names: one version, or every version of a name. A reference
        to nothing recorded is NotFound, not an empty answer: a misspelt name would otherwise
        match no run (or, under ``not``, every run) without a word."""
        if text not in cache:
            ref = parse(text)
            if ref.kind == "run":
                raise InvalidInput(f"uses()/generated() take an artifact, not {text}")
            cache[text] = resolve_at(db, ref, every_version=True)
        return cache[text]

    return resolve


def search_runs(
    db: Sql,
    expr: Expr | None,
    *,
    crashed: Sequence[str] = (),
    limit: int | None = None,
    with_meta: bool = True,
) -> Matches:
    """The runs ``expr`` matches (None: every run), newest first, crashed runs shown so."""
    status = run_queries.status_sql(crashed)
    if expr is None:
        return run_queries.list_runs(db, status_sql=status, limit=limit, with_meta=with_meta), {}
    resolve = resolver(db)
    where, params = compile_where(expr, resolve=resolve, status_sql=status)
    fields = check_step_fields(expr)
    if not fields:
        runs = run_queries.list_runs(
            db, where, params, status_sql=status, limit=limit, with_meta=with_meta
        )
        return runs, {}
    ordered = [
        row[0]
        for row in db.all(
            f"SELECT r.id FROM runs r WHERE {where} ORDER BY r.started DESC, r.id DESC", params
        )
    ]
    found, at_step = step_matches(db, expr, set(ordered), where, params, status=status)
    chosen = [run_id for run_id in ordered if run_id in found][:limit]
    runs = []
    for start in range(0, len(chosen), _CHUNK):  # each slice is in order: so is the whole
        part = chosen[start : start + _CHUNK]
        runs += run_queries.list_runs(
            db,
            f"r.id IN ({', '.join('?' * len(part))})",
            part,
            status_sql=status,
            with_meta=with_meta,
        )
    return runs, at_step


def step_matches(
    db: Sql, expr: Expr, candidates: set[str], where: str, params: list[Any], *, status: str
) -> tuple[set[str], dict[Field, dict[str, float]]]:
    """Which of ``candidates`` (the runs the covering ``where`` matched) a filter with step
    fields matches exactly, and the values at those steps."""
    resolve = resolver(db)
    at_step = _values_at_steps(db, check_step_fields(expr), where, params)

    def ids(part: Expr) -> set[str]:
        sql, more = compile_where(part, resolve=resolve, status_sql=status)
        rows = db.all(f"SELECT r.id FROM runs r WHERE ({where}) AND ({sql})", [*params, *more])
        return {row[0] for row in rows}

    return evaluate(expr, candidates, at_step, ids), at_step


def _values_at_steps(
    db: Sql, fields: list[Field], where: str, params: list[Any]
) -> dict[Field, dict[str, float]]:
    """For each step field, the last value logged at its step by each candidate run."""
    series: dict[tuple[str, str], Series | None] = {}
    found: dict[Field, dict[str, float]] = {}
    for field in fields:
        assert field.step is not None  # noqa: S101 - step_fields gives step fields only
        values = found.setdefault(field, {})
        rows = db.all(COVERING.format(where=where), [field.name, field.step, field.step, *params])
        for (run_id,) in rows:
            if (run_id, field.name) not in series:
                points = run_queries.metric_series(db, run_id, field.name)
                series[run_id, field.name] = points.get(field.name)
            value = value_at(series[run_id, field.name], field.step)
            if value is not None:
                values[run_id] = value
    return found
