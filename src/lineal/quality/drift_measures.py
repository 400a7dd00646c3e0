"""The drift measures between two dataset versions' recorded statistics: each a statistic, a
threshold and a verdict.

Pure: compares the JSON shapes lineal.labels.stats recorded with each version (and the label
schema diff); never reads a store. Chi-square and Jensen-Shannon come from scipy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lineal.errors import MissingExtra
from lineal.quality.drift_config import Thresholds

OK, DRIFT, UNKNOWN = "ok", "drift", "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class Measure:
    """One comparison: ``statistic`` against ``threshold`` gives ``verdict`` (``unknown``:
    a side did not record what it needs, ``detail`` says which)."""

    name: str
    statistic: float | None
    threshold: float
    verdict: str
    before: Any = None
    after: Any = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "measure": self.name,
            "statistic": self.statistic,
            "threshold": self.threshold,
            "verdict": self.verdict,
            "before": self.before,
            "after": self.after,
            "detail": self.detail,
        }


def _scipy() -> Any:
    try:
        from scipy import spatial, stats
    except ImportError as exc:
        raise MissingExtra("scipy", "quality") from exc
    return spatial.distance, stats


def change(a: float, b: float) -> float:
    """Relative change ``|b - a| / max(a, b)``: 0 when equal, 1 when one side is 0."""
    top = max(abs(a), abs(b))
    return 0.0 if top == 0 else round(abs(b - a) / top, 6)


def _unknown(name: str, threshold: float, why: str) -> Measure:
    return Measure(name=name, statistic=None, threshold=threshold, verdict=UNKNOWN, detail=why)


def relative(name: str, a: float | None, b: float | None, threshold: float, what: str) -> Measure:
    """``a`` and ``b`` compared by :func:`change`: drift above ``threshold``."""
    if a is None or b is None:
        if a is None and b is None:
            return _unknown(name, threshold, f"neither version recorded {what}")
        return _unknown(
            name, threshold, f"the {'first' if a is None else 'second'} version recorded no {what}"
        )
    value = change(a, b)
    verdict = DRIFT if value > threshold else OK
    return Measure(
        name=name,
        statistic=value,
        threshold=threshold,
        verdict=verdict,
        before=a,
        after=b,
        detail=f"{what}: {a:g} -> {b:g} ({value:.0%} change)",
    )


def _aligned(a: Mapping[str, int], b: Mapping[str, int]) -> tuple[list[str], list[int], list[int]]:
    keys = sorted(k for k in a.keys() | b.keys() if a.get(k, 0) or b.get(k, 0))
    return keys, [int(a.get(k, 0)) for k in keys], [int(b.get(k, 0)) for k in keys]


def _moved(keys: list[str], left: list[int], right: list[int]) -> str:
    """The classes whose share moved most, for people."""
    ta, tb = sum(left) or 1, sum(right) or 1
    moves = sorted(
        ((right[i] / tb - left[i] / ta, k) for i, k in enumerate(keys)),
        key=lambda m: (-abs(m[0]), m[1]),
    )
    return ", ".join(f"{k} {d:+.0%}" for d, k in moves[:3] if d)


def js_distance(
    name: str, a: Mapping[str, int] | None, b: Mapping[str, int] | None, threshold: float, what: str
) -> Measure:
    """Jensen-Shannon distance (base 2: 0 same, 1 disjoint) of two histograms."""
    if not a or not b or not sum(a.values()) or not sum(b.values()):
        return _unknown(name, threshold, f"a version recorded no {what}")
    distance, _ = _scipy()
    keys, left, right = _aligned(a, b)
    value = round(float(distance.jensenshannon(left, right, base=2)), 6)
    return Measure(
        name=name,
        statistic=value,
        threshold=threshold,
        verdict=DRIFT if value > threshold else OK,
        before=dict(zip(keys, left, strict=True)),
        after=dict(zip(keys, right, strict=True)),
        detail=f"{what}: Jensen-Shannon distance {value:.3f}; {_moved(keys, left, right)}".rstrip(
            "; "
        ),
    )


def chi_square(a: Mapping[str, int] | None, b: Mapping[str, int] | None, alpha: float) -> Measure:
    """Chi-square test of homogeneity of the two class histograms: drift when its p-value is
    below ``alpha`` (the statistic is the p-value; ``before``/``after`` hold chi² and dof)."""
    name = "class_chi2"
    if not a or not b or not sum(a.values()) or not sum(b.values()):
        return _unknown(name, alpha, "a version recorded no annotations per class")
    _, stats = _scipy()
    keys, left, right = _aligned(a, b)
    if len(keys) < 2:
        return Measure(
            name=name, statistic=1.0, threshold=alpha, verdict=OK, detail="one class on both sides"
        )
    found = stats.chi2_contingency([left, right], correction=False)
    chi2, p_value, dof = float(found.statistic), float(found.pvalue), int(found.dof)
    p_value = round(p_value, 12)
    return Measure(
        name=name,
        statistic=p_value,
        threshold=alpha,
        verdict=DRIFT if p_value < alpha else OK,
        before={"chi2": round(chi2, 6), "dof": dof},
        after={"classes": len(keys), "annotations": [sum(left), sum(right)]},
        detail=f"class mix: chi2 {chi2:.1f} on {dof} dof, p {p_value:.3g}",
    )


def _median(stats: Mapping[str, Any] | None, key: str) -> float | None:
    body = (stats or {}).get(key)
    value = body.get("median") if isinstance(body, Mapping) else None
    return float(value) if isinstance(value, int | float) else None


def _per_image(stats: Mapping[str, Any] | None) -> float | None:
    if not stats or not stats.get("images"):
        return None
    return round(float(stats.get("annotations", 0)) / float(stats["images"]), 6)


def _box_area(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None, t: float) -> Measure:
    units = [((s or {}).get("box_area") or {}).get("unit") for s in (a, b)]
    if None not in units and units[0] != units[1]:
        return _unknown("box_area", t, f"box areas in different units: {units[0]} vs {units[1]}")
    return relative(
        "box_area", _median(a, "box_area"), _median(b, "box_area"), t, "median box area"
    )


def measures(
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    t: Thresholds,
    schema_changes: tuple[int, list[str]] | None,
) -> list[Measure]:
    """Every measure from the two versions' facts: ``files`` (count), ``stats`` (annotation
    statistics, None when not labelled) and ``schema_changes`` (how many, and their lines;
    None when a side has no schema)."""
    sa, sb = a.get("stats"), b.get("stats")
    per_class = "annotations per class"
    found = [
        relative("file_count", a.get("files"), b.get("files"), t.file_count, "files"),
        chi_square((sa or {}).get("per_class"), (sb or {}).get("per_class"), t.class_p),
        js_distance(
            "class_js",
            (sa or {}).get("per_class"),
            (sb or {}).get("per_class"),
            t.class_js,
            per_class,
        ),
        _box_area(sa, sb, t.box_area),
        relative(
            "box_aspect",
            _median(sa, "box_aspect"),
            _median(sb, "box_aspect"),
            t.box_aspect,
            "median box aspect (width / height)",
        ),
        js_distance(
            "image_size",
            (sa or {}).get("image_sizes"),
            (sb or {}).get("image_sizes"),
            t.image_size,
            "image sizes",
        ),
        relative(
            "annotations_per_image",
            _per_image(sa),
            _per_image(sb),
            t.annotations_per_image,
            "annotations per image",
        ),
    ]
    if schema_changes is None:
        found.append(_unknown("schema", t.schema_changes, "a version has no label schema"))
    else:
        count, lines = schema_changes
        found.append(
            Measure(
                name="schema",
                statistic=float(count),
                threshold=t.schema_changes,
                verdict=DRIFT if count > t.schema_changes else OK,
                detail="; ".join(lines) or "same label schema",
            )
        )
    return found
