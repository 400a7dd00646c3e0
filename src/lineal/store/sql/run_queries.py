"""Reading runs in bulk: filtered listings with params and metrics, metric series, liveness.

Read-only SQL; metric points are read from the ledger payloads that hold them (the projections
keep only where each batch is and each metric's latest value).
"""

from __future__ import annotations

import dataclasses
import json
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Any

from lineal.errors import InvalidInput
from lineal.model import canonical
from lineal.model.entities import Run
from lineal.model.ops import MetricsBatch
from lineal.model.series import (
    Series,
    between,
    merge,
    packed_items,
    thin_indices,
    unpack_column,
)
from lineal.store.sql.projections import Sql

_CHUNK = 500
_JSON = json.JSONDecoder()


def _param(text: str) -> Any:
    """A param's canonical JSON back to its value; plain strings (the common case) are sliced."""
    if text[:1] == '"' and "\\" not in text:
        return text[1:-1]  # canonical JSON escapes nothing else: no backslash, nothing escaped
    return _JSON.decode(text)


_FIELDS = (
    "id", "name", "status", "started", "ended", "author", "meta", "seq", "duration", "error",
    "params", "metrics", "tags",
)  # fmt: skip
_SETTERS = tuple(getattr(Run, name).__set__ for name in _FIELDS)
_CHECKED = set(_FIELDS) | {f.name for f in dataclasses.fields(Run)}
assert len(_CHECKED) == len(_FIELDS), "list_runs must fill every Run field"  # noqa: S101


def _trusted_run(values: Sequence[Any]) -> Run:
    """A Run from projection rows, which were validated when their ops were: no re-checks."""
    run = Run.__new__(Run)
    for setter, value in zip(_SETTERS, values, strict=True):
        setter(run, value)
    return run


def list_runs(
    db: Sql,
    where: str = "",
    params: Sequence[Any] = (),
    *,
    status_sql: str = "r.status",
    limit: int | None = None,
    with_meta: bool = True,
) -> list[Run]:
    """Runs matching ``where`` (SQL over ``runs r``), newest first, with params and metrics."""
    chosen = " FROM runs r"
    if where:
        chosen += f" WHERE {where}"
    chosen += " ORDER BY r.started DESC, r.id DESC"
    if limit is not None:
        chosen += f" LIMIT {int(limit)}"
    rows = db.all(
        f"SELECT r.id, r.name, {status_sql}, r.started, r.ended, r.author, "
        f"{'r.meta' if with_meta else 'NULL'}, r.seq, r.duration, r.error{chosen}",
        params,
    )
    ids = [row[0] for row in rows]
    found_params: dict[str, dict[str, Any]] = {i: {} for i in ids}
    found_metrics: dict[str, dict[str, float | None]] = {i: {} for i in ids}
    found_tags: dict[str, dict[str, str]] = {i: {} for i in ids}
    # A few runs: name them; many: let the database pick them again (one statement per
    # table instead of thousands of bound ids).
    if len(ids) <= _CHUNK:
        marks, args = ", ".join("?" * len(ids)), list(ids)
        nodes, node_args = marks, [f"run/{i}" for i in ids]
    else:
        marks, args = f"SELECT r.id{chosen}", list(params)
        nodes, node_args = f"SELECT 'run/' || r.id{chosen}", args
    if ids:
        for run_id, key, value in db.all(
            f"SELECT run_id, key, value FROM params WHERE run_id IN ({marks})", args
        ):
            found_params[run_id][key] = _param(value)
        for run_id, key, value in db.all(
            f"SELECT run_id, key, value FROM run_metrics WHERE run_id IN ({marks})", args
        ):
            found_metrics[run_id][key] = value
        for target, key, value in db.all(
            "SELECT t.target, t.key, t.value FROM tags t WHERE t.until_seq IS NULL AND "
            f"t.target IN ({nodes})",
            node_args,
        ):
            found_tags[target[4:]][key] = value
    return [
        _trusted_run(
            (
                rid, name, status, started, ended, author,
                _JSON.decode(meta) if meta else {}, seq, duration, error,
                found_params[rid], found_metrics[rid], found_tags[rid],
            )
        )
        for rid, name, status, started, ended, author, meta, seq, duration, error in rows
    ]  # fmt: skip


def metric_series(
    db: Sql,
    run_id: str,
    key: str | None = None,
    *,
    from_step: int | None = None,
    to_step: int | None = None,
    max_points: int | None = None,
) -> dict[str, Series]:
    """Every logged point of a run's metrics (or of one key), joined across batches; with
    ``from_step``/``to_step``, only the points between them (and only the batches that hold
    some are read); with ``max_points``, thinned to at most that many per key as
    model.series.downsample does, decoding of the columns only what it needs."""
    if max_points is not None and max_points < 1:
        raise InvalidInput(f"bad max_points {max_points}: expected 1 or more")
    sql = "SELECT DISTINCT seq FROM metric_batches WHERE run_id = ?"
    args: list[Any] = [run_id]
    if key is not None:
        sql += " AND key = ?"
        args.append(key)
    if from_step is not None:
        sql += " AND last_step >= ?"
        args.append(from_step)
    if to_step is not None:
        sql += " AND first_step <= ?"
        args.append(to_step)
    seqs = [row[0] for row in db.all(sql + " ORDER BY seq", args)]
    payloads = []
    for start in range(0, len(seqs), _CHUNK):
        chunk = seqs[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        for (payload,) in db.all(
            f"SELECT payload FROM ledger WHERE seq IN ({marks}) ORDER BY seq", chunk
        ):
            payloads.append(canonical.decode(bytes(payload)))
    if max_points is not None:
        return _thinned(payloads, key, max_points, from_step, to_step)
    found: list[Series] = []
    for payload in payloads:
        found.extend(_stored_series(payload, key))
    merged = merge(found)
    if from_step is None and to_step is None:
        return merged
    kept = {name: between(one, from_step, to_step) for name, one in merged.items()}
    return {name: one for name, one in kept.items() if len(one)}


def _stored_series(payload: Any, key: str | None) -> list[Series]:
    """The series of a stored metrics.batch payload (of ``key`` only). The ledger holds only
    batches that passed MetricsBatch's checks when written, so only the wanted key's columns
    are unpacked, and its steps are known to be in order (checking a million again costs
    ~80 ms a read)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("series"), list):
        return list(MetricsBatch.from_payload(payload).series)  # its one-line error
    return [
        Series.unpack(one, ordered=True)
        for one in payload["series"]
        if key is None or (isinstance(one, dict) and one.get("key") == key)
    ]


def _thinned(
    payloads: list[Any], key: str | None, max_points: int, first: int | None, last: int | None
) -> dict[str, Series]:
    """The stored batches' series, per key, thinned to ``max_points`` within the step range:
    the values are decoded in full (the thinning reads them all), the steps only when a range
    must be found in them, and the times only at the points kept (a million points' times
    and steps would cost ~90 ms to decode for the thousand kept)."""
    packed: dict[str, list[dict[str, Any]]] = {}
    for payload in payloads:
        if not isinstance(payload, dict) or not isinstance(payload.get("series"), list):
            MetricsBatch.from_payload(payload)  # its one-line error
        for one in payload["series"]:
            if not isinstance(one, dict) or set(one) != {"key", "n", "steps", "values", "times"}:
                Series.unpack(one)  # its one-line error
            if key is None or one["key"] == key:
                packed.setdefault(one["key"], []).append(one)
    thinned: dict[str, Series] = {}
    for name, parts in packed.items():
        starts, values = [], array("d")
        for one in parts:
            starts.append(len(values))
            values.extend(unpack_column(one["values"], "d", one["n"], "values"))
        lo, hi = 0, len(values)
        steps = None
        if first is not None or last is not None:
            steps = array("q")
            for one in parts:
                steps.extend(unpack_column(one["steps"], "q", one["n"], "steps"))
            lo = 0 if first is None else bisect_left(steps, first)
            hi = len(steps) if last is None else bisect_right(steps, last)
            if lo >= hi:
                continue
        kept = [lo + i for i in thin_indices(values[lo:hi], max_points)]
        thinned[name] = Series(
            name,
            _items(parts, starts, kept, "steps", "q")
            if steps is None
            else array("q", (steps[i] for i in kept)),
            array("d", (values[i] for i in kept)),
            _items(parts, starts, kept, "times", "d"),
            ordered=True,
        )
    return thinned


def _items(
    parts: list[dict[str, Any]], starts: list[int], kept: list[int], column: str, typecode: str
) -> array[Any]:
    """The items at ``kept`` (indices into the joined parts) of each part's packed ``column``."""
    found = array(typecode)
    for part, indices in _by_part(kept, starts):
        one = parts[part]
        found.extend(packed_items(one[column], typecode, one["n"], indices, column))
    return found


def _by_part(indices: list[int], starts: list[int]) -> list[tuple[int, list[int]]]:
    """``indices`` (in order) into joined parts beginning at ``starts``, as (part, indices
    within it)."""
    grouped: list[tuple[int, list[int]]] = []
    for i in indices:
        part = bisect_right(starts, i) - 1
        if not grouped or grouped[-1][0] != part:
            grouped.append((part, []))
        grouped[-1][1].append(i - starts[part])
    return grouped


def finished_runs_tagged(db: Sql, key: str, value: str, *, without: str) -> list[str]:
    """Ids of finished runs whose current tag ``key`` is ``value`` and which have no current
    tag ``without``, newest first (at most 20)."""
    rows = db.all(
        "SELECT r.id FROM tags t JOIN runs r ON t.target = 'run/' || r.id "
        "WHERE t.key = ? AND t.value = ? AND t.until_seq IS NULL AND r.status = 'finished' "
        "AND NOT EXISTS (SELECT 1 FROM tags h WHERE h.target = t.target AND h.key = ? "
        "AND h.until_seq IS NULL) ORDER BY r.seq DESC LIMIT 20",
        (key, value, without),
    )
    return [row[0] for row in rows]


def tag_values_beside(db: Sql, key: str, *, where_key: str, where_value: str) -> list[str]:
    """The current values of tag ``key`` on every node whose current ``where_key`` tag is
    ``where_value``."""
    rows = db.all(
        "SELECT o.value FROM tags o JOIN tags c ON c.target = o.target WHERE o.key = ? "
        "AND c.key = ? AND c.value = ? AND o.until_seq IS NULL AND c.until_seq IS NULL",
        (key, where_key, where_value),
    )
    return [row[0] for row in rows]


def running_beats(db: Sql) -> list[tuple[str, str, int, str | None, float]]:
    """(run id, host, pid, process start, last beat) of runs the projections call running."""
    # From heartbeats (a handful of rows: finished runs drop theirs), never a scan of runs.
    return beats(db.all(RUNNING_BEATS))


#: Heartbeats of the runs the projections call running (see running_beats).
RUNNING_BEATS = (
    "SELECT h.run_id, h.host, h.pid, h.process_start, h.beat FROM heartbeats h "
    "WHERE EXISTS (SELECT 1 FROM runs r WHERE r.id = h.run_id AND r.status = 'running')"
)


def beats(rows: Sequence[Sequence[Any]]) -> list[tuple[str, str, int, str | None, float]]:
    """RUNNING_BEATS rows, typed."""
    return [(str(a), str(b), int(c), d, float(e)) for a, b, c, d, e in rows]


def status_sql(crashed: Sequence[str]) -> str:
    """The status column with runs known to have died shown as crashed.

    The ids are validated ULIDs (only [0-9A-Z]), so inlining them is safe, and it keeps the
    expression free of placeholders wherever a filter repeats it.
    """
    if not crashed:
        return "r.status"
    ids = ", ".join(f"'{i}'" for i in crashed if i.isalnum())
    return f"(CASE WHEN r.status = 'running' AND r.id IN ({ids}) THEN 'crashed' ELSE r.status END)"
