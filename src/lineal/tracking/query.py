"""Cross-run questions: the runs a filter matches, values at a metric step included, with their
inputs, outputs, params and metrics. A service; never prints and never writes.

The store answers which runs match (``Store.search_runs``, values at a step included; see
lineal.store.sql.search); this module adds what ``show`` asks for and the tallies.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.model.entities import MAX_LIMIT, Run, check_limit, split_node
from lineal.model.filters import Compare, Expr, Field, format_field, leaves
from lineal.model.filters import format as format_filter
from lineal.model.filters import parse as parse_filter

#: What ``show`` may ask for besides the values the filter names.
SHOWS = ("inputs", "outputs", "params", "metrics")


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

    def as_dict(self) -> dict[str, Any]:
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
    runs, at_step = repo.store.search_runs(tree, limit=one_more, with_meta=False)
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
