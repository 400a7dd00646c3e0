"""What an importer hands back: the schema, its source files, statistics and problems.

A plain value shared by the format importers and the services above them; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineal.labels.schema import LabelSchema, Problem
from lineal.labels.stats import Stats


@dataclass(frozen=True, slots=True, kw_only=True)
class Imported:
    """One schema read from ``files`` (in ``format``), with the annotations' statistics and,
    when read leniently, the problems skipped on the way."""

    format: str
    schema: LabelSchema
    files: tuple[Path, ...]
    stats: Stats
    problems: tuple[Problem, ...] = ()

    def report(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "files": [str(f) for f in self.files],
            "problems": [p.as_dict() for p in self.problems],
        }
