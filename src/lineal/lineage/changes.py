"""The answer of `lineal diff` on two runs or models: ranked changes upstream and the metrics.

Pure values with their one JSON form (``as_dict``); never reads a store.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from lineal.errors import InvalidInput

CATEGORIES = (
    "schema", "dataset", "scene", "artifact", "code", "param", "seed", "split",
    "upstream-param", "python", "package", "container", "os",
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One difference upstream of the two runs: ``before`` on a's side, ``after`` on b's
    (None: absent there), ``detail`` JSON-shaped facts, ``score`` its rank (see
    lineal.lineage.diff)."""

    category: str
    subject: str
    before: Any
    after: Any
    detail: Mapping[str, Any]
    score: float

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise InvalidInput(f"bad category {self.category!r}: expected {CATEGORIES}")

    @classmethod
    def of(
        cls, category: str, subject: str, old: Any, new: Any, score: float, **detail: Any
    ) -> Change:
        return cls(
            category=category, subject=subject, before=old, after=new, detail=detail, score=score
        )

    def as_dict(self) -> dict[str, Any]:
        body = {field.name: getattr(self, field.name) for field in fields(self)}
        return {**body, "detail": dict(self.detail)}


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricChange:
    """A metric's latest (or summary) value on each side (None: not logged; NaN kept) and
    ``after - before`` when both sides have it."""

    key: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def changed(self) -> bool:
        """Logged on one side only, NaN on one side only, or two different numbers."""
        a, b = self.before, self.after
        if a is None or b is None:
            return a is not b
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) != math.isnan(b)
        return a != b

    def as_dict(self) -> dict[str, Any]:
        a, b, delta = (_json_number(x) for x in (self.before, self.after, self.delta))
        return {"key": self.key, "a": a, "b": b, "delta": delta, "changed": self.changed}


def _json_number(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


@dataclass(frozen=True, slots=True, kw_only=True)
class LineageDiff:
    """``a`` and ``b`` as named, the runs compared, the ranked causes and the metrics."""

    a: str
    b: str
    run_a: str
    run_b: str
    changes: tuple[Change, ...]
    metrics: tuple[MetricChange, ...]
    warnings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "runs": {"a": self.run_a, "b": self.run_b},
            "warnings": {side: list(found) for side, found in self.warnings.items()},
            "metrics": [metric.as_dict() for metric in self.metrics],
            "changes": [change.as_dict() for change in self.changes],
        }
