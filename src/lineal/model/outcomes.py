"""What a write makes: the artifact or run an op records, built from the op itself.

A write returns these rather than reading its own write back, so a store that cannot answer
at once (the HTTP store's spool) returns the same thing as one that can. The projections use
the same rules (``summary_value``), so the two never disagree.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

from lineal.model import canonical
from lineal.model.entities import Artifact, Run

if TYPE_CHECKING:
    from lineal.model.ops import ArtifactRecord, MetricsBatch, RunFinish, RunStart

NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def stored_value(value: float) -> float | None:
    """A metric value as the projections keep it: NaN as None (SQLite turns NaN into NULL,
    PostgreSQL keeps it; both keep None so a replay matches), and no negative zero."""
    return None if math.isnan(value) else float(value) + 0.0


def summary_value(value: Any) -> float | bool | None:
    """A summary entry as a metric value; False when it is not a number at all."""
    if type(value) in (int, float):
        return stored_value(float(value))
    if isinstance(value, str) and value in NON_FINITE:
        return stored_value(NON_FINITE[value])
    return False


def recorded_artifact(
    op: ArtifactRecord, *, version: int | None = None, seq: int | None = None
) -> Artifact:
    """The artifact ``op`` records (``version``: the number its store gave it, if known)."""
    return Artifact(
        kind=op.kind,
        digest=op.digest,
        name=op.name,
        version=version,
        size=op.size,
        uri=op.uri,
        meta=op.meta,
        seq=seq,
    )


def started_run(op: RunStart, *, author: str | None = None, seq: int | None = None) -> Run:
    """The run ``op`` starts."""
    return Run(
        id=op.id,
        name=op.name,
        params=op.params,
        meta=op.meta,
        started=op.started,
        author=author,
        seq=seq,
    )


def logged_run(before: Run, op: MetricsBatch) -> Run:
    """``before`` with ``op``'s points written: each key's latest value is its last point."""
    metrics = dict(before.metrics)
    for one in op.series:
        metrics[one.key] = stored_value(one.values[-1])
    return dataclasses.replace(before, metrics=metrics)


def finished_run(before: Run, op: RunFinish) -> Run:
    """``before`` as ``op`` leaves it: final status, end, duration, error, summary metrics."""
    duration = None
    if before.started is not None:
        ended, started = canonical.parse_time(op.ended), canonical.parse_time(before.started)
        duration = (ended - started).total_seconds()
    metrics = dict(before.metrics)
    for key, value in op.summary.items():
        stored = summary_value(value)
        if stored is not False:
            metrics[key] = stored
    return dataclasses.replace(
        before, status=op.status, ended=op.ended, duration=duration, error=op.error, metrics=metrics
    )
