"""Ending a run: its last points, schema tags, finish and heartbeat's end in one transaction.

What the finish needs to read is read before that transaction opens (it holds the chain head,
which every other writer of the store waits for). Never loses the last points: when the
finish fails they are written alone.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lineal.errors import NotFound, StoreUnavailable
from lineal.model import canonical
from lineal.model.ops import MetricsBatch, RunFinish, TagSet
from lineal.model.outcomes import finished_run, logged_run

if TYPE_CHECKING:
    from lineal.model.entities import Run
    from lineal.model.series import Series
    from lineal.tracking.runs import ActiveRun


def record_finish(
    run: ActiveRun, pending: list[Series], status: str, summary: dict[str, Any], error: str | None
) -> Run:
    """Record ``run``'s end with the points its flusher had not written; the run as ended."""
    batch = MetricsBatch(run=run.id, series=tuple(pending)) if pending else None
    try:
        before, op, tags = _append(run, batch, status, summary, error)
    except BaseException:
        if batch is not None:  # the points at least stay, as when they went first
            with contextlib.suppress(Exception):
                run.repo.store.append(batch)
        raise
    tagged = dict(before.tags)
    for key, value in tags.items():
        if value is None:
            tagged.pop(key, None)
        else:
            tagged[key] = value
    return finished_run(replace(before, tags=tagged), op)


def _append(
    run: ActiveRun,
    batch: MetricsBatch | None,
    status: str,
    summary: dict[str, Any],
    error: str | None,
) -> tuple[Run, RunFinish, dict[str, str | None]]:
    """The run as found (with ``batch``'s points), the finish and the schema tags set."""
    from lineal.labels.runs import schema_tags

    repo = run.repo
    try:  # the run as the finish finds it: the op says the rest
        before = repo.store.get_run(run.id)
    except (NotFound, StoreUnavailable):
        before = run.info  # a server that has not had the start yet, or is away
    if batch is not None:
        before = logged_run(before, batch)  # per-class keys among them count
    _, tags = schema_tags(repo, before)
    ended = canonical.format_time(datetime.now(UTC))
    op = RunFinish(id=run.id, status=status, ended=ended, summary=summary, error=error)
    records = [
        *([batch] if batch is not None else []),
        *(TagSet(target=run.ref, key=key, value=value) for key, value in tags.items()),
        op,
    ]
    with repo.atomic():
        repo.store.append(records)
        repo.store.forget_beat(run.id)
    return before, op, tags
