"""Cross-run questions: the runs a filter matches, values at a metric step included, with their
inputs, outputs, params and metrics. A service; never prints and never writes.

``metrics.KEY@STEP`` is answered in two passes. SQL narrows the candidates: the whole filter
with each step comparison replaced by a condition it implies (a ``metric_batches`` row of KEY
spanning STEP; see lineal.tracking.filters_sql). Then the points of those candidates are read
from the ledger (``run_queries.metric_series``) and the filter is applied exactly: each step
comparison is a set of run ids, the step-free rest of the filter is answered by SQL within the
candidates, and ``and``/``or``/``not`` combine the sets.
"""

from __future__ import annotations

import math
import operator
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.model.entities import MAX_LIMIT, Run, check_limit, split_node
from lineal.model.series import Series
from lineal.store import liveness, run_queries
from lineal.tracking.filters import (
    And,
    Compare,
    Expr,
    Field,
    Not,
    Or,
    compile_where,
    format_field,
    leaves,
    step_fields,
)
from lineal.tracking.filters import format as format_filter
from lineal.tracking.filters import parse as parse_filter
from lineal.tracking.filters_sql import COVERING
from lineal.tracking.search import _digests

#: What ``show`` may ask for besides the values the filter names.
SHOWS = ("inputs", "outputs", "params", "metrics")
_CHUNK = 500
#: At most this many distinct ``metrics.KEY@STEP`` fields in one filter: each is one query
#: over the filter's runs, so the work grows with their number times the filter's length.
MAX_STEP_FIELDS = 256
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Linked:
    """An artifact a run used or generated: its best reference, kind, digest and role."""

    ref: str
    kind: str
    digest: str
    role: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "kind": self.kind, "digest": self.digest, "role": self.role}


@dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    """One matching run, the values of the fields the filter names (``metrics.mAP@10``,
    ``params.lr``; a field the run lacks is left out; NaN stays NaN), and what ``show``
    asked for (empty when not asked)."""

    run: Run
    values: Mapping[str, Any]
    inputs: tuple[Linked, ...] = ()
    outputs: tuple[Linked, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryResult:
    """The runs matching ``where`` (canonical text), newest first; ``more`` says that more
    matched than the limit let through."""

    where: str
    show: tuple[str, ...]
    matches: tuple[Match, ...]
    more: bool = False

    def tally(self, which: str = "inputs") -> list[tuple[Linked, int]]:
        """Each input (or output) in its role with how many of the matches have it, most
        first: which dataset versions do the matching runs share?"""
        counts = Counter(
            (link.ref, link.kind, link.digest, link.role)
            for match in self.matches
            for link in dict.fromkeys(match.inputs if which == "inputs" else match.outputs)
        )
        return [
            (Linked(ref=ref, kind=kind, digest=digest, role=role), count)
            for (ref, kind, digest, role), count in sorted(
                counts.items(), key=lambda item: (-item[1], item[0][0], item[0][3] or "")
            )
        ]

    def to_json(self) -> dict[str, Any]:
        """JSON-shaped: NaN and infinities as the strings "NaN", "Infinity", "-Infinity"."""
        runs = []
        for match in self.matches:
            run = match.run
            body: dict[str, Any] = {
                "ref": run.ref,
                "name": run.name,
                "status": run.status,
                "started": run.started,
                "duration": run.duration,
                "values": {key: json_value(value) for key, value in match.values.items()},
            }
            if "inputs" in self.show:
                body["inputs"] = [link.as_dict() for link in match.inputs]
            if "outputs" in self.show:
                body["outputs"] = [link.as_dict() for link in match.outputs]
            if "params" in self.show:
                body["params"] = dict(run.params)
            if "metrics" in self.show:
                body["metrics"] = {k: json_value(_nan(v)) for k, v in run.metrics.items()}
            runs.append(body)
        found: dict[str, Any] = {
            "where": self.where,
            "show": list(self.show),
            "count": len(runs),
            "more": self.more,
            "runs": runs,
        }
        for which in ("inputs", "outputs"):
            if which in self.show:
                found[f"{which}_tally"] = [
                    {**link.as_dict(), "runs": count} for link, count in self.tally(which)
                ]
        return found


def json_value(value: Any) -> Any:
    """``value`` with a non-finite float spelled as JSON tools expect it."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _nan(value: float | None) -> float:
    return math.nan if value is None else value  # the projections store a NaN as NULL


def query(
    repo: Lineal,
    expr: str | Expr,
    *,
    show: Iterable[str] = (),
    limit: int | None = None,
) -> QueryResult:
    """The runs matching a filter such as ``metrics.mAP@10 >= 0.8 and uses(dataset/coco)``,
    newest first (at most ``limit``), with what ``show`` names: ``inputs`` (the artifacts each
    run used, by reference and role), ``outputs``, ``params``, ``metrics``."""
    shows = tuple(dict.fromkeys([show] if isinstance(show, str) else show))
    wrong = [item for item in shows if item not in SHOWS]
    if wrong:
        raise InvalidInput(
            f"bad show {wrong[0]!r}: expected one of {', '.join(SHOWS)}",
            hint="e.g. --show inputs --show metrics",
        )
    limit = check_limit(limit)
    tree = parse_filter(expr) if isinstance(expr, str) else expr
    one_more = None if limit is None else min(limit + 1, MAX_LIMIT)  # to tell if there are more
    runs, at_step = matching_runs(repo, tree, limit=one_more)
    more = limit is not None and len(runs) > limit
    chosen = runs[:limit] if limit is not None else runs
    matches = tuple(_match(repo, run, tree, at_step, shows) for run in chosen)
    return QueryResult(where=format_filter(tree), show=shows, matches=matches, more=more)


def _match(
    repo: Lineal,
    run: Run,
    tree: Expr,
    at_step: Mapping[Field, Mapping[str, float]],
    shows: tuple[str, ...],
) -> Match:
    values: dict[str, Any] = {}
    for leaf in leaves(tree):
        if not isinstance(leaf, Compare) or leaf.field.scope is None:
            continue
        field, key = leaf.field, leaf.field.name
        if field.step is not None:
            found = at_step.get(field, {})
            if run.id in found:
                values[format_field(field)] = found[run.id]
        elif field.scope == "metrics" and key in run.metrics:
            values[format_field(field)] = _nan(run.metrics[key])
        elif field.scope == "params" and key in run.params:
            values[format_field(field)] = run.params[key]
        elif field.scope == "tags" and key in run.tags:
            values[format_field(field)] = run.tags[key]
    inputs = _linked(repo, run, upstream=True) if "inputs" in shows else ()
    outputs = _linked(repo, run, upstream=False) if "outputs" in shows else ()
    return Match(run=run, values=values, inputs=inputs, outputs=outputs)


def _linked(repo: Lineal, run: Run, *, upstream: bool) -> tuple[Linked, ...]:
    from lineal.lineage import queries  # lineage answers only when inputs/outputs are asked

    node = run.ref
    if upstream:
        graph = queries.upstream(repo, node, depth=1)
        ends = [(e.parent, e.role) for e in graph.edges if e.kind == "used" and e.child == node]
    else:
        graph = queries.downstream(repo, node, depth=1)
        ends = [
            (e.child, e.role) for e in graph.edges if e.kind == "generated" and e.parent == node
        ]
    return tuple(
        Linked(
            ref=graph.nodes[end].label,
            kind=graph.nodes[end].kind,
            digest=split_node(end)[2],
            role=role,
        )
        for end, role in ends
    )


# -- the runs a filter matches -------------------------------------------------------------
def matching_runs(
    repo: Lineal,
    expr: Expr,
    *,
    limit: int | None = None,
    with_meta: bool = False,
    status_sql: str | None = None,
) -> tuple[list[Run], dict[Field, dict[str, float]]]:
    """The runs ``expr`` matches, newest first, and for each ``metrics.K@N`` field the value
    at that step of every candidate run that has one. ``status_sql``: the status expression
    with crashed runs (see run_queries.status_sql), when the caller has it already."""
    db = repo.store.sql()
    status = status_sql or run_queries.status_sql(liveness.crashed(db))
    cache: dict[str, list[str]] = {}

    def resolve(text: str) -> list[str]:
        if text not in cache:
            cache[text] = _digests(repo, text)
        return cache[text]

    where, params = compile_where(expr, resolve=resolve, status_sql=status)
    fields = step_fields(expr)
    if len(fields) > MAX_STEP_FIELDS:
        raise InvalidInput(
            f"filter names {len(fields)} metrics at a step; at most {MAX_STEP_FIELDS}",
            hint="ask about fewer steps at once (metrics.KEY@STEP), or filter on the latest "
            "values (metrics.KEY)",
        )
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
    at_step = _values_at_steps(repo, fields, where, params)

    def ids(part: Expr) -> set[str]:
        sql, more = compile_where(part, resolve=resolve, status_sql=status)
        rows = db.all(f"SELECT r.id FROM runs r WHERE ({where}) AND ({sql})", [*params, *more])
        return {row[0] for row in rows}

    found = _evaluate(expr, set(ordered), at_step, ids)
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


def _values_at_steps(
    repo: Lineal, fields: list[Field], where: str, params: list[Any]
) -> dict[Field, dict[str, float]]:
    """For each step field, the last value logged at its step by each candidate run."""
    db = repo.store.sql()
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


def value_at(series: Series | None, step: int) -> float | None:
    """The last value ``series`` logged at ``step`` (steps never go back), or None."""
    if series is None:
        return None
    index = bisect_right(series.steps, step) - 1
    if index >= 0 and series.steps[index] == step:
        return float(series.values[index])
    return None


def _evaluate(
    expr: Expr,
    universe: set[str],
    at_step: Mapping[Field, Mapping[str, float]],
    ids: Callable[[Expr], set[str]],
) -> set[str]:
    """The candidates ``expr`` holds for: step comparisons from the values read, step-free
    parts (grouped per junction, one statement each) from ``ids``."""
    if not step_fields(expr):
        return ids(expr)
    if isinstance(expr, Not):
        return universe - _evaluate(expr.item, universe, at_step, ids)
    if isinstance(expr, And | Or):
        plain = [item for item in expr.items if not step_fields(item)]
        parts = [_evaluate(i, universe, at_step, ids) for i in expr.items if step_fields(i)]
        if plain:
            parts.append(ids(plain[0] if len(plain) == 1 else type(expr)(items=tuple(plain))))
        if isinstance(expr, And):
            return set.intersection(*parts)
        return set.union(*parts)
    assert isinstance(expr, Compare)  # noqa: S101 - only comparisons have steps
    target, holds = float(expr.value), _COMPARE[expr.op]  # type: ignore[arg-type]
    return {run for run, value in at_step[expr.field].items() if holds(value, target)}
