"""Drift between two versions of a dataset: `lineal drift A [B]`, `lineal show`'s drift line,
and the server's ``drift`` endpoint.

A service over lineal.client; never prints and never writes. Drift is computed,
deterministically, from what each version recorded when it was added (file count, annotation
statistics, label schema), so it can be asked for any two versions at any later time, with
the thresholds in force now. Each new version's drift from the one before it is also recorded
with it, as the thresholds then judged it (lineal.quality.drift_record).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lineal.client import Lineal
from lineal.errors import InvalidInput, MissingExtra
from lineal.labels.diff import diff
from lineal.labels.record import labeled_with, named, stored_schema
from lineal.model.entities import Artifact
from lineal.model.refs import Ref
from lineal.quality import drift_config
from lineal.quality.drift_measures import DRIFT, Measure, measures


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftReport:
    """How dataset version ``b`` differs from ``a``, one measure at a time."""

    a: str
    b: str
    measures: list[Measure]
    schema: dict[str, Any] | None = None  # the label schema diff (None: a side has none)
    thresholds: dict[str, float] = field(default_factory=dict)

    @property
    def drifted(self) -> list[str]:
        return [one.name for one in self.measures if one.verdict == DRIFT]

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "drift": bool(self.drifted),
            "drifted": self.drifted,
            "measures": [one.as_dict() for one in self.measures],
            "schema": self.schema,
            "thresholds": self.thresholds,
        }

    def summary(self) -> str:
        """One line: which measures drifted."""
        if not self.drifted:
            return f"no drift from {self.a}"
        return f"drift from {self.a}: {', '.join(self.drifted)}"


def dataset(repo: Lineal, text: str) -> Artifact:
    """The dataset version ``text`` names (``dataset/NAME[@vN]``, a bare NAME, a digest)."""
    ref = text if "/" in text or text.startswith("sha256:") else f"dataset/{text}"
    found = repo.resolve(ref)
    if not isinstance(found, Artifact) or found.kind != "dataset":
        raise InvalidInput(f"{text} is not a dataset version", hint="use dataset/NAME[@vN]")
    return found


def previous(repo: Lineal, artifact: Artifact) -> Artifact | None:
    """The version of the same name just before ``artifact`` (None: it is the first)."""
    if artifact.name is None or artifact.version is None:
        return None
    before = [
        digest
        for version, digest, _ in repo.store.versions(artifact.kind, artifact.name)
        if version < artifact.version
    ]
    if not before:
        return None
    found = repo.resolve(Ref(kind=artifact.kind, name=artifact.name, digest=before[-1]))
    return found if isinstance(found, Artifact) else None


def _stats(artifact: Artifact) -> dict[str, Any] | None:
    """The annotation statistics the version recorded: its schema's, or (several schemas) the
    per-class counts summed and the rest from the schema with the most annotations."""
    labels = artifact.meta.get("labels")
    entries = labels.get("schemas") if isinstance(labels, dict) else None
    found: list[dict[str, Any]] = [
        e["stats"] for e in entries or () if isinstance(e.get("stats"), dict)
    ]
    if not found:
        return None
    richest = max(found, key=lambda one: int(one.get("annotations", 0)))
    main = dict(richest)
    if len(found) > 1:
        per_class: dict[str, int] = {}
        for one in found:
            for name, count in one.get("per_class", {}).items():
                per_class[name] = per_class.get(name, 0) + count
        main["per_class"] = per_class
    return main


def _schema_changes(repo: Lineal, a: Artifact, b: Artifact) -> tuple[dict[str, Any] | None, Any]:
    """The schema diff (as_dict) and ``(count, lines)`` for the measure, paired one to one
    (the first schema of each side: a dataset is nearly always labelled with one)."""
    left, right = labeled_with(repo, a), labeled_with(repo, b)
    if not left or not right:
        return None, None
    before, after = named(repo, left[0]), named(repo, right[0])
    changes = diff(stored_schema(before), stored_schema(after))
    lines = changes.lines()
    extra = len(right) - len(left)
    if extra:
        lines.append(f"{abs(extra)} label schema(s) {'added' if extra > 0 else 'removed'}")
    body = {"a": before.ref, "b": after.ref, **changes.as_dict()}
    return body, (len(lines), lines)


def compare(
    repo: Lineal, a: Artifact, b: Artifact, thresholds: drift_config.Thresholds | None = None
) -> DriftReport:
    """Every drift measure from ``a`` to ``b`` (two dataset versions)."""
    limits = thresholds or drift_config.load(repo.workspace)
    schema, changes = _schema_changes(repo, a, b)
    facts = [{"files": one.meta.get("files"), "stats": _stats(one)} for one in (a, b)]
    return DriftReport(
        a=a.ref,
        b=b.ref,
        measures=measures(facts[0], facts[1], limits, changes),
        schema=schema,
        thresholds=limits.as_dict(),
    )


def drift(repo: Lineal, a: str, b: str | None = None) -> DriftReport:
    """`lineal drift A B`: drift from dataset version ``a`` to ``b``; with ``b`` None, from
    the version before ``a`` to ``a``."""
    first = dataset(repo, a)
    if b is not None:
        return compare(repo, first, dataset(repo, b))
    before = previous(repo, first)
    if before is None:
        raise InvalidInput(
            f"{first.ref} is the first version of its name: nothing to compare it with",
            hint="name two versions: lineal drift dataset/NAME@v1 dataset/NAME@v2",
        )
    return compare(repo, before, first)


def since_previous(repo: Lineal, artifact: Artifact) -> DriftReport | None:
    """Drift of a dataset version from the one before it (None: first version, or not a
    dataset): what `lineal show` and the server's ``drift?ref=`` give with each version."""
    if artifact.kind != "dataset":
        return None
    before = previous(repo, artifact)
    return None if before is None else compare(repo, before, artifact)


def shown(repo: Lineal, body: dict[str, Any]) -> dict[str, Any] | None:
    """For `lineal show` of a dataset version after the first (``body``: what show says of
    it): how it differs from the version before it, else None."""
    if body.get("type") != "artifact" or body.get("kind") != "dataset":
        return None
    current = dataset(repo, body["ref"])
    before = previous(repo, current)
    if before is None:
        return None
    try:
        return compare(repo, before, current).as_dict()
    except MissingExtra as exc:  # show the rest: drift alone needs scipy
        return {"a": before.ref, "b": current.ref, "drifted": [], "error": f"{exc} ({exc.hint})"}
