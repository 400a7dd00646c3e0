"""`lineal show --json` (and the server's `show`): everything known about an artifact or run
(lineal.labels.runs.show), with what the quality services know of it: the classifications it
carries, its own and inherited (lineal.quality.classify), and for a run the files its eval data
shares with training data (``leakage``, lineal.quality.leakage; absent when the run evaluated
nothing), and for a dataset version after the first its ``drift`` from the version before it
(lineal.quality.drift), with what was recorded when it was added (``drift.recorded``,
lineal.quality.drift_record)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lineal.labels.runs import show as show_all
from lineal.model.entities import Run
from lineal.quality.classify import carried
from lineal.quality.drift import shown
from lineal.quality.drift_record import TAG, recorded_of
from lineal.quality.leakage import run_leaks

if TYPE_CHECKING:
    from lineal.client import Lineal


def show(repo: Lineal, ref: str) -> dict[str, Any]:
    body = show_all(repo, ref)
    if body["type"] == "run":
        run = repo.resolve(ref)
        found = run_leaks(repo, run) if isinstance(run, Run) else []
        if found:
            body["leakage"] = [one.as_dict() for one in found]
    drift = shown(repo, body)
    if drift is not None:
        fact = body.get("tags", {}).pop(TAG, None)  # said once, as the drift it records
        held = recorded_of(repo, body["node"], body["ref"])
        if fact is not None and held is None:  # a hand-set tag of that name: keep showing it
            body["tags"][TAG] = fact
        drift["recorded"] = None if held is None else held.as_dict()
        body["drift"] = drift
    node = body["ref"] if body["type"] == "run" else body["node"]
    body["classified"] = [one.as_dict() for one in carried(repo, node)]
    return body
