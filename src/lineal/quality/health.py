"""Lineage health, `lineal health`: coverage (models whose upstream is complete), staleness,
freshness (time since each pipeline last ran), orphans (artifacts nothing uses) and crashed
runs; a number and a list per measure.

A service over lineal.client and lineal.quality.health_facts (a fixed handful of set-based
Store reads for the whole store); never prints and never writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lineal.client import Lineal
from lineal.model import canonical
from lineal.quality.health_facts import Facts, gather
from lineal.quality.stale import stale_models

#: A pipeline whose last run started longer ago than this many days is not fresh.
FRESH_DAYS = 30.0
#: Kinds an orphan may be: what is made or recorded to be used (a model is an end product;
#: a code state or environment exists only as a run's input).
ORPHAN_KINDS = frozenset({"dataset", "schema", "scene", "config", "file", "report"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One measure: its number, what it counts, and the list behind it."""

    measure: str
    number: float
    of: int  # how many things were looked at
    items: list[dict[str, Any]] = field(default_factory=list)
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "number": self.number,
            "of": self.of,
            "detail": self.detail,
            "items": self.items,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthReport:
    findings: list[Finding]
    now: str

    def as_dict(self) -> dict[str, Any]:
        return {"now": self.now, **{one.measure: one.as_dict() for one in self.findings}}


def _gaps(facts: Facts, model: str) -> list[str]:
    """Why ``model``'s upstream is not complete (empty: it is)."""
    gaps = []
    upstream = facts.upstream(model)
    for node in upstream:
        row = facts.nodes.get(node)
        if row is None:
            continue
        if row.type == "run":
            inputs = {facts.kind(e.parent) for e in facts.parents.get(node, ())}
            if missing := [kind for kind in ("code", "env") if kind not in inputs]:
                gaps.append(f"{facts.label(node)} has no recorded {' or '.join(missing)}")
        elif row.kind == "dataset":
            made = any(e.parent.startswith("run/") for e in facts.parents.get(node, ()))
            missing = [k for k in ("license", "source") if facts.stated_value(node, k) is None]
            if made and "source" in missing:
                missing.remove("source")  # the run that made it is its source
            if missing:
                gaps.append(f"{facts.label(node)} has no {' or '.join(missing)}")
    measured = {n for n in facts.evaluated_on.get(model, ()) if facts.kind(n) == "dataset"}
    if not measured & facts.approved:
        gaps.append("no evaluation on approved data")
    return gaps


def coverage(facts: Facts) -> Finding:
    incomplete = []
    for model in facts.models:
        if gaps := _gaps(facts, model.node):
            incomplete.append({"model": model.ref, "gaps": gaps})
    total = len(facts.models)
    share = round((total - len(incomplete)) / total, 6) if total else 1.0
    return Finding(
        measure="coverage",
        number=share,
        of=total,
        items=incomplete,
        detail=f"{total - len(incomplete)} of {total} model versions have a complete upstream "
        "(licence and source on every dataset, code and env on every run, an evaluation on "
        "approved data)",
    )


def staleness(facts: Facts) -> Finding:
    found = stale_models(facts)
    return Finding(
        measure="staleness",
        number=len(found),
        of=len(facts.models),
        items=[one.as_dict() for one in found],
        detail=f"{len(found)} of {len(facts.models)} model versions were made from an input "
        "that has a newer version",
    )


def _age(started: str | None, now: datetime) -> float | None:
    if started is None:
        return None
    return round((now - canonical.parse_time(started)).total_seconds() / 86400, 3)


def freshness(facts: Facts, now: datetime, days: float) -> Finding:
    last: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for run in facts.runs:  # newest first
        counts[run.name] = counts.get(run.name, 0) + 1
        last.setdefault(run.name, run)
    items = []
    for name, run in last.items():
        age = _age(run.started, now)
        items.append(
            {
                "pipeline": name,
                "last_run": run.ref,
                "started": run.started,
                "status": run.status,
                "age_days": age,
                "runs": counts[name],
                "fresh": age is not None and age <= days,
            }
        )
    items.sort(key=lambda one: (-(one["age_days"] or 0.0), one["pipeline"]))
    old = sum(1 for one in items if not one["fresh"])
    return Finding(
        measure="freshness",
        number=old,
        of=len(items),
        items=items,
        detail=f"{old} of {len(items)} pipelines last ran more than {days:g} days ago",
    )


def orphans(repo: Lineal, facts: Facts) -> Finding:
    candidates = [a for a in facts.artifacts.values() if a.kind in ORPHAN_KINDS]
    # Inputs of the edges already read are used; ask the store only about the rest.
    used = {edge.parent for edges in facts.parents.values() for edge in edges}
    roots = [a.node for a in candidates if a.node not in used]
    _, edges, _ = repo.store.subgraph(roots, upstream=False, depth=1) if roots else ({}, [], {})
    used.update(edge.parent for edge in edges)
    found = [{"artifact": a.ref, "kind": a.kind} for a in candidates if a.node not in used]
    return Finding(
        measure="orphans",
        number=len(found),
        of=len(candidates),
        items=found,
        detail=f"{len(found)} of {len(candidates)} artifacts are used by nothing recorded",
    )


def crashed(facts: Facts) -> Finding:
    found = [
        {"run": run.ref, "name": run.name, "started": run.started}
        for run in facts.runs
        if run.status == "crashed"
    ]
    return Finding(
        measure="crashed",
        number=len(found),
        of=len(facts.runs),
        items=found,
        detail=f"{len(found)} of {len(facts.runs)} runs died while recorded as running",
    )


def health(repo: Lineal, *, days: float = FRESH_DAYS, now: datetime | None = None) -> HealthReport:
    """`lineal health`: every measure over the whole store."""
    moment = now or datetime.now(UTC)
    facts = gather(repo)
    return HealthReport(
        findings=[
            coverage(facts),
            staleness(facts),
            freshness(facts, moment, days),
            orphans(repo, facts),
            crashed(facts),
        ],
        now=canonical.format_time(moment),
    )
