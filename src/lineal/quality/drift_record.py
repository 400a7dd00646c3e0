"""Drift recorded with each new dataset version: a signed ``drift`` tag on the version.

`lineal add` (and a run's SDK that records a new dataset version) measures the new version
against the one before it and records the verdicts as they stood, with the thresholds then in
force, in the ledger: a ``tag.set`` record of key ``drift`` whose value is one canonical JSON
object (``from``, ``drifted``, and each measure's statistic, threshold and verdict). So the
question "which versions drifted when they were added" is one Store read (``tagged``), the
answer is signed and hash-chained like the version itself (`lineal verify`), and it says what
the workspace's thresholds said at the time, where `lineal drift` recomputes with today's.

A version that has its drift fact keeps it: adding the same content again records nothing;
a version recorded before lineal recorded drift gets its fact the next time its content is
added. Never prints.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from lineal.client import Lineal
from lineal.errors import MissingExtra
from lineal.model import canonical
from lineal.model.entities import Artifact
from lineal.quality.drift import DriftReport, since_previous

#: The tag that holds a version's drift as recorded when it was added.
TAG = "drift"


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def fact(report: DriftReport) -> str:
    """The tag value: canonical JSON, the measures without their (large) before/after."""
    body = {
        "from": report.a,
        "drifted": report.drifted,
        "measures": [
            {
                "measure": one.name,
                "statistic": _finite(one.statistic),
                "threshold": one.threshold,
                "verdict": one.verdict,
            }
            for one in report.measures
        ],
    }
    return canonical.encode(body).decode()


@dataclass(frozen=True, slots=True)
class Recorded:
    """A version's drift as recorded when it was added (``seq``: the tag's record)."""

    ref: str
    seq: int
    body: dict[str, Any]

    @property
    def drifted(self) -> list[str]:
        return [str(name) for name in self.body.get("drifted", ())]

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "seq": self.seq, **self.body}


def _parse(value: str) -> dict[str, Any] | None:
    try:
        body = json.loads(value)
    except ValueError:
        return None  # a tag someone set by hand: not a drift fact
    if not isinstance(body, dict) or not isinstance(body.get("drifted"), list):
        return None
    return body


def record(repo: Lineal, artifact: Artifact) -> DriftReport | None:
    """Measure ``artifact`` (a dataset version) against the version before it and record the
    verdicts as its ``drift`` tag; the report, or None when there is nothing to record (not a
    dataset, the first version, the fact already there) or scipy is missing."""
    if artifact.kind != "dataset" or TAG in repo.store.tags(artifact.node):
        return None
    try:
        found = since_previous(repo, artifact)
    except MissingExtra:
        return None
    if found is not None:
        repo.set_tag(artifact, TAG, fact(found))
    return found


def recorded_of(repo: Lineal, node: str, ref: str) -> Recorded | None:
    """The drift fact of the version ``node`` (shown as ``ref``), None when it has none."""
    found = next(((v, s) for n, v, s in repo.store.tagged(TAG) if n == node), None)
    body = None if found is None else _parse(found[0])
    return None if body is None or found is None else Recorded(ref, found[1], body)


def recorded(repo: Lineal, *, drifted_only: bool = False) -> list[Recorded]:
    """Every dataset version's drift fact, oldest first (``drifted_only``: those where a
    measure drifted)."""
    facts = [
        (node, body, seq) for node, value, seq in repo.store.tagged(TAG) if (body := _parse(value))
    ]
    labels = repo.store.labels([node for node, _, _ in facts])
    found = [Recorded(labels.get(node, (node, ""))[0], seq, body) for node, body, seq in facts]
    return [one for one in found if one.drifted] if drifted_only else found


def after_add(repo: Lineal, artifact: Artifact) -> DriftReport | None:
    """What follows a new dataset version (`lineal add`, a run's SDK): its drift from the
    version before it, recorded (:func:`record`), and an alert (lineal.quality.alerts, kind
    ``drift``) when a measure drifted. None as for :func:`record`."""
    from lineal.quality.alerts import Alert, notify

    found = record(repo, artifact)
    if found is not None and found.drifted:
        notify(Alert("drift", found.b, f"{found.b}: {found.summary()}", (found.as_dict(),)), repo)
    return found
