"""Projecting run ops (start, params, finish, metrics batches) into the run tables.

Called only through projections.apply, at append time and on replay; never writes the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lineal.errors import Conflict, NotFound
from lineal.model import canonical
from lineal.model.ops import MetricsBatch, RunFinish
from lineal.model.outcomes import stored_value as _stored
from lineal.model.outcomes import summary_value


def json_text(value: Any) -> str:
    # Values here are parts of a payload canonical.encode() has already checked.
    return canonical.encode_checked(value) if value else "{}"


def _number(value: Any) -> float | None:
    """A param's numeric value (for range filters); bools are not numbers here."""
    if type(value) in (int, float):
        return float(value)
    return None


_RUN = "SELECT status, started FROM runs WHERE id = ?"


def require_run(db: Any, run_id: str) -> tuple[str, str]:
    return _found_run(run_id, db.one(_RUN, (run_id,)))


def _found_run(run_id: str, row: tuple[Any, ...] | None) -> tuple[str, str]:
    """The run's status and start from its _RUN row, or NotFound when there is none."""
    if row is None:
        raise NotFound(f"unknown run 'run/{run_id}'", hint="start the run first")
    return str(row[0]), str(row[1])


def insert_params(db: Any, run_id: str, params: Mapping[str, Any], seq: int) -> None:
    if not params:
        return
    taken = {
        row[0]: row[1]
        for row in db.all("SELECT key, value FROM params WHERE run_id = ?", (run_id,))
        if row[0] in params
    }
    rows = []
    for key, value in params.items():
        # Each value exactly (not json_text: that turns 0, False, "" and [] into {}).
        text = canonical.encode(value).decode()
        if key in taken:
            raise Conflict(
                f"param {key!r} of run/{run_id} is already {taken[key]}, not {text}",
                hint="params are set once per run; log the new value under another key",
            )
        rows.append((run_id, key, text, _number(value), seq))
    db.many("INSERT INTO params (run_id, key, value, num, seq) VALUES (?, ?, ?, ?, ?)", rows)


def run_start(db: Any, seq: int, author: str, op: Any, replay: bool) -> None:
    if db.one("SELECT 1 FROM runs WHERE id = ?", (op.id,)) is not None:
        raise Conflict(f"run {op.id} was already started")
    db.execute(
        "INSERT INTO runs (id, name, status, started, author, meta, seq) "
        "VALUES (?, ?, 'running', ?, ?, ?, ?)",
        (op.id, op.name, op.started, author, json_text(op.meta), seq),
    )
    insert_params(db, op.id, op.params, seq)


def run_starts(
    db: Any,
    items: Sequence[tuple[int, str, Any]],
    runs: dict[str, tuple[str, str]] | None = None,
) -> None:
    """Many run.start ops ``(seq, author, op)`` at once, with the effect and error of one by
    one: a run started twice (before, or earlier in the batch) is refused. A new run has no
    params yet, so its params need no check. ``runs``: each run's (status, started) as read
    before the batch (RUNS_OF, kept up to date here), instead of reading."""
    ids = [op.id for _, _, op in items]
    if runs is None:
        started = {row[0] for row in db.any_of("SELECT id FROM runs WHERE id IN ({})", ids)}
    else:
        started = set(runs)
    for _, _, op in items:
        if op.id in started:
            raise Conflict(f"run {op.id} was already started")
        started.add(op.id)
        if runs is not None:
            runs[op.id] = ("running", op.started)
    db.many(
        "INSERT INTO runs (id, name, status, started, author, meta, seq) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (op.id, op.name, "running", op.started, author, json_text(op.meta), seq)
            for seq, author, op in items
        ],
    )
    params = [
        (op.id, key, canonical.encode(value).decode(), _number(value), seq)
        for seq, _, op in items
        for key, value in op.params.items()
    ]
    if params:
        db.many("INSERT INTO params (run_id, key, value, num, seq) VALUES (?, ?, ?, ?, ?)", params)


def run_params(db: Any, seq: int, author: str, op: Any, replay: bool) -> None:
    require_run(db, op.id)
    insert_params(db, op.id, op.params, seq)


def run_finish(db: Any, seq: int, author: str, op: RunFinish, replay: bool) -> None:
    run_finishes(db, [(seq, author, op)])


_FINISH = (
    "UPDATE runs SET status = ?, ended = ?, duration = ?, summary = ?, error = ?, "
    "finish_seq = ? WHERE id = ?"
)


def run_finishes(
    db: Any,
    items: Sequence[tuple[int, str, RunFinish]],
    runs: dict[str, tuple[str, str]] | None = None,
) -> None:
    """Many run.finish ops ``(seq, author, op)`` at once, with the effect and error of one by
    one: each run must have started and still be running (a run finished twice, before or
    earlier in the batch, is refused). ``runs``: as run_starts takes it."""
    if runs is None:
        ids = [op.id for _, _, op in items]
        rows = {row[0]: (str(row[1]), str(row[2])) for row in db.any_of(RUNS_OF, ids)}
    else:
        rows = runs
    updates, metrics = [], []
    for seq, _, op in items:
        status, started = _found_run(op.id, rows.get(op.id))
        if status != "running":
            raise Conflict(f"run/{op.id} has already finished")
        rows[op.id] = (op.status, started)
        ended, began = canonical.parse_time(op.ended), canonical.parse_time(started)
        duration = (ended - began).total_seconds()
        summary = json_text(op.summary)
        updates.append((op.status, op.ended, duration, summary, op.error, seq, op.id))
        metrics += _summary_rows(op.id, op.summary, seq)
    db.many(_FINISH, updates)
    if metrics:
        db.many(_UPSERT, metrics)


RUNS_OF = "SELECT id, status, started FROM runs WHERE id IN ({})"


_UPSERT = (
    "INSERT INTO run_metrics (run_id, key, value, step, points, seq) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, step = excluded.step, "
    "points = run_metrics.points + excluded.points, seq = excluded.seq"
)


def _summary_metrics(db: Any, run_id: str, summary: Mapping[str, Any], seq: int) -> None:
    rows = _summary_rows(run_id, summary, seq)
    if rows:
        db.many(_UPSERT, rows)


def _summary_rows(
    run_id: str, summary: Mapping[str, Any], seq: int
) -> list[tuple[str, str, Any, None, int, int]]:
    """Explicit summary values override the latest logged ones (step NULL marks them)."""
    rows = []
    for key, value in summary.items():
        stored = summary_value(value)
        if stored is not False:
            rows.append((run_id, key, stored, None, 0, seq))
    return rows


def _check_order(op: MetricsBatch, last: dict[str, int]) -> None:
    """Refuse a batch that goes back behind a key's last logged step (``last``)."""
    for one in op.series:
        if one.key in last and one.steps[0] < last[one.key]:
            raise Conflict(
                f"metric {one.key!r} of run/{op.run} goes back from step "
                f"{last[one.key]} to {one.steps[0]}",
                hint="log steps in increasing order (or leave step out to count on)",
            )


def _latest_metrics(db: Any, op: MetricsBatch, seq: int) -> None:
    db.many(
        _UPSERT,
        [
            (op.run, one.key, _stored(one.values[-1]), one.steps[-1], len(one), seq)
            for one in op.series
        ],
    )


def metrics_batch(db: Any, seq: int, author: str, op: MetricsBatch, replay: bool) -> None:
    keys = [one.key for one in op.series]
    marks = ", ".join("?" * len(keys))
    # The run, and each key's last logged step (a summary value in run_metrics has none, and
    # must not let a late batch go back behind what was logged before it), in one go.
    run, last = db.any_of_each(
        [
            (_RUN, (op.run,)),
            (
                "SELECT key, MAX(last_step) FROM metric_batches WHERE run_id = ? "
                f"AND key IN ({marks}) GROUP BY key",
                (op.run, *keys),
            ),
        ]
    )
    _found_run(op.run, run[0] if run else None)
    _check_order(op, dict(last))  # before this batch's own rows exist
    db.many(
        "INSERT INTO metric_batches (run_id, key, seq, points, first_step, last_step) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(op.run, one.key, seq, len(one), one.steps[0], one.steps[-1]) for one in op.series],
    )
    _latest_metrics(db, op, seq)


def rebuild_run_metrics(db: Any, run_id: str, decode: Any) -> None:
    """Re-derive one run's latest metrics from its remaining batches and its summary.

    ``decode(seq)`` gives the op of a ledger record (None once redacted).
    """
    db.execute("DELETE FROM run_metrics WHERE run_id = ?", (run_id,))
    seqs = {row[0] for row in db.all("SELECT seq FROM metric_batches WHERE run_id = ?", (run_id,))}
    finish = db.one("SELECT finish_seq FROM runs WHERE id = ?", (run_id,))
    if finish and finish[0] is not None:
        seqs.add(finish[0])
    for seq in sorted(seqs):
        op = decode(seq)
        if isinstance(op, MetricsBatch):
            _latest_metrics(db, op, seq)
        elif isinstance(op, RunFinish):
            _summary_metrics(db, run_id, op.summary, seq)
