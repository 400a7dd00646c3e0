"""Annotation statistics of a labelled dataset: counts per class and type, crowd, sizes.

An accumulator the importers feed one annotation at a time; its JSON shape is recorded with
each dataset version (it feeds drift checks). Pure: never reads files.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TypeGuard

#: COCO's area ranges (pixels²): small < 32², medium < 96², large beyond.
SMALL, MEDIUM = 32.0**2, 96.0**2
#: At most this many distinct image sizes are listed; the rest are counted as "other".
MAX_IMAGE_SIZES = 50
#: How far a box may reach past its image's edge and still count as inside it (rounding):
#: half a pixel for absolute boxes, a thousandth of the image for normalised ones.
TOLERANCE = {"px": 0.5, "image": 1e-3}


def _quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        # nearest-rank: a value that occurs in the data, stable across platforms
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return {
        "min": round(ordered[0], 6),
        "p25": round(at(0.25), 6),
        "median": round(at(0.5), 6),
        "p75": round(at(0.75), 6),
        "max": round(ordered[-1], 6),
    }


@dataclass(slots=True)
class Stats:
    """Counts gathered while importing; :meth:`as_dict` is what a dataset version records.

    ``box_unit`` is ``px`` for absolute boxes (COCO, KITTI, VOC: areas in pixels²) and
    ``image`` for YOLO's normalised boxes (areas as a fraction of the image).
    """

    box_unit: str = "px"
    images: int = 0
    annotations: int = 0
    per_class: Counter[str] = field(default_factory=Counter)
    per_type: Counter[str] = field(default_factory=Counter)
    crowd: int = 0
    box_areas: list[float] = field(default_factory=list)
    #: width / height of each box whose importer knows both (drift compares them)
    box_aspects: list[float] = field(default_factory=list)
    image_sizes: Counter[str] = field(default_factory=Counter)
    #: Boxes whose image size was known, and those of them reaching past the image's edge.
    boxes_checked: int = 0
    boxes_outside: int = 0
    #: Per-image label files read (KITTI, YOLO), and those holding no annotation at all.
    label_files: int = 0
    empty_label_files: int = 0

    def image(self, width: float | None = None, height: float | None = None) -> None:
        self.images += 1
        if _size(width) and _size(height):
            self.image_sizes[f"{_int(width)}x{_int(height)}"] += 1

    def annotation(
        self,
        class_name: str,
        types: tuple[str, ...],
        *,
        box_area: float | None = None,
        crowd: bool = False,
        box_aspect: float | None = None,
    ) -> None:
        self.annotations += 1
        self.per_class[class_name] += 1
        self.per_type.update(types)
        if crowd:
            self.crowd += 1
        # A label file can say 1e999: infinity is no area, and has no canonical form.
        if box_area is not None and math.isfinite(box_area) and box_area >= 0:
            self.box_areas.append(box_area)
        if box_aspect is not None and math.isfinite(box_aspect) and box_aspect > 0:
            self.box_aspects.append(box_aspect)

    def box_bounds(
        self, box: tuple[float, float, float, float], width: float | None, height: float | None
    ) -> None:
        """Check that ``box`` (x1, y1, x2, y2, in ``box_unit``) lies inside a ``width`` x
        ``height`` image (1 x 1 for normalised boxes); unknown sizes are not counted."""
        if not (_size(width) and _size(height)) or not all(map(math.isfinite, box)):
            return
        slack = TOLERANCE.get(self.box_unit, 0.0)
        x1, y1, x2, y2 = box
        self.boxes_checked += 1
        if min(x1, y1) < -slack or x2 > width + slack or y2 > height + slack:
            self.boxes_outside += 1

    def label_file(self, *, empty: bool) -> None:
        self.label_files += 1
        if empty:
            self.empty_label_files += 1

    def merge(self, other: Stats) -> None:
        self.images += other.images
        self.annotations += other.annotations
        self.per_class.update(other.per_class)
        self.per_type.update(other.per_type)
        self.crowd += other.crowd
        self.box_areas.extend(other.box_areas)
        self.box_aspects.extend(other.box_aspects)
        self.image_sizes.update(other.image_sizes)
        self.boxes_checked += other.boxes_checked
        self.boxes_outside += other.boxes_outside
        self.label_files += other.label_files
        self.empty_label_files += other.empty_label_files

    def as_dict(self) -> dict[str, Any]:
        boxes: dict[str, Any] = {"unit": self.box_unit, "count": len(self.box_areas)}
        if self.box_areas:
            boxes.update(_quantiles(self.box_areas))
            if self.box_unit == "px":
                boxes["small"] = sum(1 for a in self.box_areas if a < SMALL)
                boxes["medium"] = sum(1 for a in self.box_areas if SMALL <= a < MEDIUM)
                boxes["large"] = sum(1 for a in self.box_areas if a >= MEDIUM)
        aspects: dict[str, Any] = {"count": len(self.box_aspects)}
        if self.box_aspects:
            aspects.update(_quantiles(self.box_aspects))
        common = self.image_sizes.most_common()
        sizes = dict(sorted(common[:MAX_IMAGE_SIZES]))
        other = sum(n for _, n in common[MAX_IMAGE_SIZES:])
        if other:
            sizes["other"] = other
        return {
            "images": self.images,
            "annotations": self.annotations,
            "per_class": dict(sorted(self.per_class.items())),
            "per_type": dict(sorted(self.per_type.items())),
            "crowd": self.crowd,
            "box_area": boxes,
            "box_aspect": aspects,
            "image_sizes": sizes,
            "boxes_checked": self.boxes_checked,
            "boxes_outside": self.boxes_outside,
            "label_files": self.label_files,
            "empty_label_files": self.empty_label_files,
        }


def _size(value: float | None) -> TypeGuard[float]:
    return value is not None and math.isfinite(value) and value > 0


def _int(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
