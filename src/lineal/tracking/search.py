"""Searching runs with the filter language, with crashed runs shown as crashed.

A service over ``Store.search_runs`` (the store compiles the parsed filter); never writes and
never prints.
"""

from __future__ import annotations

from typing import Any

from lineal.client import Lineal
from lineal.errors import InvalidInput, NotFound
from lineal.model.entities import Run, check_limit
from lineal.model.filters import parse as parse_filter
from lineal.model.series import Series


def search_runs(
    repo: Lineal, where: str | None = "", *, limit: int | None = None, with_meta: bool = True
) -> list[Run]:
    """Runs matching ``where`` (empty or None: all), newest first."""
    limit = check_limit(limit)
    expr = parse_filter(where) if where is not None and where.strip() else None
    return repo.store.search_runs(expr, limit=limit, with_meta=with_meta)[0]


def effective_status(repo: Lineal, run: Run) -> str:
    """``run``'s status, with a dead process's run shown as crashed."""
    if run.status == "running" and run.id in repo.store.crashed_runs():
        return "crashed"
    return run.status


def metric_points(
    repo: Lineal, ref: str, key: str | None = None, *, max_points: int | None = None
) -> dict[str, Series]:
    """Every logged point of ``ref``'s metrics (or of one ``key``), by key; ``max_points``: at
    most that many per key, the shape and extremes kept (for a chart)."""
    run = repo.resolve(ref)
    if not isinstance(run, Run):
        raise InvalidInput(f"{ref} is an artifact, not a run", hint="pass run/ULID")
    found = repo.store.metric_series(run.id, key, max_points=max_points)
    if key is not None and key not in found:
        known = ", ".join(sorted(run.metrics)) or "none"
        raise NotFound(f"{run.ref} has no metric {key!r}", hint=f"its metrics: {known}")
    return found


def erased_metrics(repo: Lineal, ref: str) -> list[dict[str, Any]]:
    """The redactions of ``ref``'s metrics batches (Store.redactions): points that were
    logged and erased since, with who erased them, when and why."""
    run = repo.resolve(ref)
    if not isinstance(run, Run):
        raise InvalidInput(f"{ref} is an artifact, not a run", hint="pass run/ULID")
    return [one for one in repo.store.redactions(f"run/{run.id}") if one["op"] == "metrics.batch"]
