"""What an MLflow import did: counts of what it recorded and of what was there already."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class Counts:
    """How many of each MLflow thing: experiments (with runs), runs, params, metric points,
    tags, dataset inputs, files, logged models, registered model versions and aliases
    (stages included)."""

    experiments: int = 0
    runs: int = 0
    params: int = 0
    metric_points: int = 0
    tags: int = 0
    inputs: int = 0
    artifacts: int = 0
    models: int = 0
    versions: int = 0
    aliases: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def total(self) -> int:
        return sum(asdict(self).values())


@dataclass(slots=True)
class MlflowImport:
    """The outcome of `lineal import mlflow`: ``imported`` is what this import recorded,
    ``already`` what an earlier one had (a second import of the same store records nothing),
    ``records`` the ledger records appended, ``notes`` what could not be taken and why."""

    source: str
    imported: Counts = field(default_factory=Counts)
    already: Counts = field(default_factory=Counts)
    records: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "imported": self.imported.as_dict(),
            "already": self.already.as_dict(),
            "records": self.records,
            "notes": list(self.notes),
        }
