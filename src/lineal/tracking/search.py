"""Searching runs with the filter language, with crashed runs shown as crashed.

A service over the filter compiler and the run queries; never writes and never prints.
"""

from __future__ import annotations

from lineal.client import Lineal
from lineal.errors import InvalidInput, NotFound
from lineal.model.entities import Run, check_limit
from lineal.model.refs import parse
from lineal.model.series import Series
from lineal.store import liveness, run_queries
from lineal.store.lineage_queries import resolve_at
from lineal.tracking.filters import compile_where, step_fields
from lineal.tracking.filters import parse as parse_filter


def _digests(repo: Lineal, text: str) -> list[str]:
    """The artifact digests a reference names: one version, or every version of a name.

    A reference to nothing recorded is NotFound, not an empty answer: a misspelt name would
    otherwise match no run (or, under ``not``, every run) without a word.
    """
    ref = parse(text)
    if ref.kind == "run":
        raise InvalidInput(f"uses()/generated() take an artifact, not {text}")
    return resolve_at(repo.store.sql(), ref, every_version=True)


def search_runs(
    repo: Lineal, where: str | None = "", *, limit: int | None = None, with_meta: bool = True
) -> list[Run]:
    """Runs matching ``where`` (empty or None: all), newest first."""
    limit = check_limit(limit)
    db = repo.store.sql()
    status = run_queries.status_sql(liveness.crashed(db))
    sql, params = "", list[object]()
    if where is not None and where.strip():
        expr = parse_filter(where)
        if step_fields(expr):  # values at a step are read from the ledger: see tracking.query
            from lineal.tracking.query import matching_runs

            found = matching_runs(repo, expr, limit=limit, with_meta=with_meta, status_sql=status)
            return found[0]
        sql, params = compile_where(
            expr, resolve=lambda text: _digests(repo, text), status_sql=status
        )
    return run_queries.list_runs(
        db, sql, params, status_sql=status, limit=limit, with_meta=with_meta
    )


def effective_status(repo: Lineal, run: Run) -> str:
    """``run``'s status, with a dead process's run shown as crashed."""
    if run.status == "running" and run.id in liveness.crashed(repo.store.sql()):
        return "crashed"
    return run.status


def metric_points(repo: Lineal, ref: str, key: str | None = None) -> dict[str, Series]:
    """Every logged point of ``ref``'s metrics (or of one ``key``), by key."""
    run = repo.resolve(ref)
    if not isinstance(run, Run):
        raise InvalidInput(f"{ref} is an artifact, not a run", hint="pass run/ULID")
    found = run_queries.metric_series(repo.store.sql(), run.id, key)
    if key is not None and key not in found:
        known = ", ".join(sorted(run.metrics)) or "none"
        raise NotFound(f"{run.ref} has no metric {key!r}", hint=f"its metrics: {known}")
    return found
