"""Searching runs with the filter language, with crashed runs shown as crashed.

A service over ``Store.search_runs`` (the store compiles the parsed filter); never writes and
never prints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lineal.client import Lineal
from lineal.errors import InvalidInput, NotFound
from lineal.model.entities import Run, check_limit
from lineal.model.filters import COLUMNS
from lineal.model.filters import parse as parse_filter
from lineal.model.run_order import parse_order
from lineal.model.series import Series


def search_runs(
    repo: Lineal, where: str | None = "", *, limit: int | None = None, with_meta: bool = True
) -> list[Run]:
    """Runs matching ``where`` (empty or None: all), newest first."""
    limit = check_limit(limit)
    expr = parse_filter(where) if where is not None and where.strip() else None
    return repo.store.search_runs(expr, limit=limit, with_meta=with_meta)[0]


@dataclass(frozen=True, slots=True)
class RunPage:
    """A page of a runs listing: ``runs`` from ``offset`` in ``sort`` order, of ``total``."""

    runs: list[Run]
    total: int
    offset: int
    sort: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "offset": self.offset,
            "sort": self.sort,
            "runs": [run_summary(run) for run in self.runs],
        }


def page_runs(
    repo: Lineal,
    where: str | None = "",
    *,
    sort: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> RunPage:
    """``limit`` runs from ``offset`` of those ``where`` matches (empty: all), in the order
    ``sort`` names (``-metrics.acc``, ``params.lr``, ``created``…; None: newest first), with
    how many match in all. The database sorts and counts (Store.runs_page)."""
    limit = check_limit(limit)
    order = parse_order(sort)  # a bad sort is refused before the store is asked
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInput(f"bad offset {offset!r}: expected 0 or more", hint="e.g. --offset 50")
    expr = parse_filter(where) if where is not None and where.strip() else None
    runs, total = repo.store.runs_page(
        expr, sort=str(order), offset=offset, limit=limit, with_meta=True
    )
    return RunPage(runs, total, offset, str(order))


def run_columns(repo: Lineal) -> dict[str, list[str]]:
    """The keys a runs table can show as columns: ``params``, ``metrics`` and ``tags`` keys
    some run has, each sorted, and the run ``columns`` themselves."""
    return {"columns": ["created", *COLUMNS], **repo.store.run_keys()}


def effective_status(repo: Lineal, run: Run) -> str:
    """``run``'s status, with a dead process's run shown as crashed."""
    if run.status == "running" and run.id in repo.store.crashed_runs():
        return "crashed"
    return run.status


def _check_range(from_step: int | None, to_step: int | None) -> None:
    if from_step is not None and to_step is not None and from_step > to_step:
        raise InvalidInput(
            f"bad step range {from_step}..{to_step}: the first step is after the last",
            hint="pass from_step <= to_step",
        )


def metric_points(
    repo: Lineal,
    ref: str,
    key: str | None = None,
    *,
    max_points: int | None = None,
    from_step: int | None = None,
    to_step: int | None = None,
) -> dict[str, Series]:
    """Every logged point of ``ref``'s metrics (or of one ``key``), by key; ``max_points``: at
    most that many per key, the shape and extremes kept (for a chart); ``from_step`` and
    ``to_step``: only the points between those steps (both kept), as a chart's zoom asks."""
    run = repo.resolve(ref)
    if not isinstance(run, Run):
        raise InvalidInput(f"{ref} is an artifact, not a run", hint="pass run/ULID")
    _check_range(from_step, to_step)
    found = repo.store.metric_series(
        run.id, key, max_points=max_points, from_step=from_step, to_step=to_step
    )
    ranged = from_step is not None or to_step is not None
    if key is not None and key not in found and not (ranged and key in run.metrics):
        known = ", ".join(sorted(run.metrics)) or "none"
        raise NotFound(f"{run.ref} has no metric {key!r}", hint=f"its metrics: {known}")
    return found


def compared_points(
    repo: Lineal,
    refs: list[str],
    key: str | None = None,
    *,
    max_points: int | None = None,
    from_step: int | None = None,
    to_step: int | None = None,
) -> dict[str, dict[str, dict[str, list[Any]]]]:
    """Each run's points as :func:`series_dict` gives them, by the run's ``run/ID``: the
    series of a chart comparing runs. A run without ``key`` has no entry for it (only a
    ``key`` no run has is NotFound)."""
    _check_range(from_step, to_step)
    answer: dict[str, dict[str, dict[str, list[Any]]]] = {}
    for ref in dict.fromkeys(refs):
        run = repo.resolve(ref)
        if not isinstance(run, Run):
            raise InvalidInput(f"{ref} is an artifact, not a run", hint="pass run/ULID")
        found = repo.store.metric_series(
            run.id, key, max_points=max_points, from_step=from_step, to_step=to_step
        )
        answer[run.ref] = series_dict(found)
        have = answer[run.ref]
        if key is not None and key not in have and key in run.metrics:
            have[key] = {"steps": [], "times": [], "values": []}  # none in this range
    if key is not None and not any(key in one for one in answer.values()):
        raise NotFound(f"no run of {', '.join(answer)} has metric {key!r}", hint="pick a key")
    return answer


def erased_metrics(repo: Lineal, ref: str) -> list[dict[str, Any]]:
    """The redactions of ``ref``'s metrics batches (Store.redactions): points that were
    logged and erased since, with who erased them, when and why."""
    run = repo.resolve(ref)
    if not isinstance(run, Run):
        raise InvalidInput(f"{ref} is an artifact, not a run", hint="pass run/ULID")
    return [one for one in repo.store.redactions(f"run/{run.id}") if one["op"] == "metrics.batch"]


def json_number(value: float | None) -> float | str:
    """A metric value as JSON tools read it: NaN (and a value never logged, None), Infinity
    and -Infinity as those words."""
    if value is None or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def seed_of(run: Run) -> Any:
    """The run's seed: `start_run(seed=…)` keeps it in the run's meta; a param called `seed`
    stands in for runs recorded without one."""
    seed = run.meta.get("seed")
    return run.params.get("seed") if seed is None else seed


def run_summary(run: Run) -> dict[str, Any]:
    """One run as `lineal runs --json` lists it."""
    return {
        "ref": run.ref,
        "name": run.name,
        "status": run.status,
        "author": run.author,
        "started": run.started,
        "ended": run.ended,
        "duration": run.duration,
        "error": run.error,
        "params": dict(run.params),
        "seed": seed_of(run),
        "metrics": {k: json_number(v) for k, v in run.metrics.items()},
        "tags": dict(run.tags),
    }


def series_dict(series: Mapping[str, Series]) -> dict[str, dict[str, list[Any]]]:
    """``{key: {steps, times, values}}`` by key, as `lineal metrics --json` prints it."""
    return {
        name: {
            "steps": list(one.steps),
            "times": list(one.times),
            "values": [json_number(value) for value in one.values],
        }
        for name, one in sorted(series.items())
    }
