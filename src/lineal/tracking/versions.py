"""What follows a new dataset version a run records (an input it snapshots, an output it logs):
its drift from the version before it, recorded with it (lineal.quality.drift_record), as
`lineal add` does. Imports the quality services only for a dataset."""

from __future__ import annotations

from lineal.client import Lineal
from lineal.model.entities import Artifact


def drift_recorded(repo: Lineal, artifact: Artifact) -> Artifact:
    """``artifact``, once a dataset version's drift from the one before it is recorded with it
    (an alert when a measure drifted; nothing for another kind, or a version that has it)."""
    if artifact.kind == "dataset":
        from lineal.quality.drift_record import after_add

        after_add(repo, artifact)
    return artifact
