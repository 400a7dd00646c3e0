"""Staleness: the model versions trained on a dataset, label schema, scene or code that has a
newer version since, and which input has which newer version (`lineal stale [REF|--all]`).

A service over lineal.client and the facts of lineal.quality.health_facts; never prints and
never writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.model.entities import Artifact
from lineal.quality.health_facts import VERSIONED, Facts, gather


@dataclass(frozen=True, slots=True, kw_only=True)
class Reason:
    """One upstream input of a model that has a newer version."""

    kind: str
    input: str  # what the model was made from: dataset/x@v1, or the run whose code it was
    newer: str  # what is there now: dataset/x@v3, or the newer run of that pipeline
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "input": self.input, "newer": self.newer, "detail": self.detail}


@dataclass(frozen=True, slots=True, kw_only=True)
class StaleModel:
    model: str
    latest: bool  # the newest version of its name (an older one is already superseded)
    reasons: list[Reason]

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "latest": self.latest,
            "reasons": [one.as_dict() for one in self.reasons],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class StaleReport:
    """What would need retraining: ``checked`` model versions, the ``stale`` ones with why."""

    checked: int
    stale: list[StaleModel]

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "count": len(self.stale),
            "stale": [one.as_dict() for one in self.stale],
        }


def _newest_runs(facts: Facts) -> dict[str, tuple[str, str | None]]:
    """Per pipeline (run name): its newest run's node and when it started."""
    newest: dict[str, tuple[str, str | None]] = {}
    for run in facts.runs:  # newest first
        newest.setdefault(run.name, (run.ref, run.started))
    return newest


def _code_reasons(facts: Facts, run_node: str, newest: dict[str, Any]) -> Reason | None:
    row = facts.nodes.get(run_node)
    if row is None or not row.name or row.name not in newest:
        return None
    latest_run, _ = newest[row.name]
    if latest_run == run_node:
        return None
    mine = facts.code_of(run_node)
    theirs = facts.code_of(latest_run)
    if mine is None or theirs is None or mine == theirs:
        return None
    return Reason(
        kind="code",
        input=f"{run_node} ({row.name})",
        newer=latest_run,
        detail=f"pipeline {row.name} now runs code {_commit(facts, theirs)}, "
        f"not {_commit(facts, mine)}",
    )


def _commit(facts: Facts, node: str) -> str:
    artifact = facts.artifacts.get(node)
    commit = artifact.meta.get("commit") if artifact is not None else None
    return str(commit)[:12] if commit else node[:19]


def stale_models(facts: Facts) -> list[StaleModel]:
    """Each of ``facts.models`` with a newer upstream input, and every such input."""
    newest = _newest_runs(facts)
    latest_model = {
        (m.name, m.version)
        for m in facts.models
        if m.name is not None and facts.latest.get(("model", m.name)) == m.version
    }
    found = []
    for model in facts.models:
        reasons: list[Reason] = []
        for node in facts.upstream(model.node):
            row = facts.nodes.get(node)
            if row is None:
                continue
            if row.type == "run":
                code = _code_reasons(facts, node, newest)
                if code is not None and code not in reasons:
                    reasons.append(code)
                continue
            if row.kind not in VERSIONED or row.name is None or row.version is None:
                continue
            now = facts.latest.get((row.kind, row.name), row.version)
            if now > row.version:
                reasons.append(
                    Reason(
                        kind=row.kind,
                        input=f"{row.kind}/{row.name}@v{row.version}",
                        newer=f"{row.kind}/{row.name}@v{now}",
                        detail=f"{row.kind}/{row.name} has {now - row.version} newer "
                        f"version{'s' if now - row.version > 1 else ''}",
                    )
                )
        if reasons:
            latest = (model.name, model.version) in latest_model
            found.append(StaleModel(model=model.ref, latest=latest, reasons=reasons))
    return found


def stale(repo: Lineal, ref: str | None = None) -> StaleReport:
    """`lineal stale [REF]`: every model version (or the one ``ref`` names) that would need
    retraining, and why."""
    models = None
    if ref is not None:
        text = ref if "/" in ref or ref.startswith("sha256:") else f"model/{ref}"
        found = repo.resolve(text)
        if not isinstance(found, Artifact) or found.kind != "model":
            raise InvalidInput(f"{ref} is not a model version", hint="use model/NAME[@vN|:ALIAS]")
        models = [found]
    facts = gather(repo, models)
    return StaleReport(checked=len(facts.models), stale=stale_models(facts))
