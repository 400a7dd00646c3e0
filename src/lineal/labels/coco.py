"""COCO annotation files: categories (explicit, sparse ids), annotation types, statistics.

Reads one JSON file with the standard library; never records anything. A results file (a
list of detections, no categories) is recognised and refused: it holds no schema.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lineal.labels.folder import Folder
from lineal.labels.imported import Imported
from lineal.labels.schema import (
    LabelClass,
    LabelFileError,
    Problem,
    Problems,
    build,
    text_problem,
)
from lineal.labels.stats import Stats

#: The images a COCO file lists: id -> (width, height), None when it states no size.
Sizes = dict[Any, tuple[float, float] | None]


class ResultsFileError(LabelFileError):
    """A COCO results file (detections with scores): predictions, not a label schema."""


def _number(value: Any) -> bool:
    """A finite number (an integer too large for a float is none: areas are floats)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _key(value: Any) -> bool:
    """An id that can be looked up: a number or a string (JSON arrays and objects cannot)."""
    return isinstance(value, int | float | str) and not isinstance(value, bool)


def load(path: Path, *, folder: Folder | None = None) -> Any:
    """The parsed JSON of ``path`` (a file inside ``folder``, by default its own folder), or a
    LabelFileError naming the line and column."""
    text = (folder or Folder.of(path)).read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problem = Problem(
            file=str(path),
            line=exc.lineno,
            message=f"malformed JSON (column {exc.colno}): {exc.msg}",
        )
        raise LabelFileError(problem, hint="fix the JSON syntax") from exc
    except RecursionError as exc:
        message = "malformed JSON: arrays or objects nested too deeply"
        problem = Problem(file=str(path), message=message)
        raise LabelFileError(problem, hint="no annotation file nests so deep: fix it") from exc
    except ValueError as exc:  # an integer of more digits than Python converts
        problem = Problem(file=str(path), message=f"malformed JSON: {exc}")
        raise LabelFileError(problem, hint="fix the JSON") from exc


def is_results(body: Any) -> bool:
    """A list of detections: objects with image_id, category_id and score."""
    return (
        isinstance(body, list)
        and bool(body)
        and all(isinstance(d, Mapping) and {"image_id", "category_id", "score"} <= d.keys()
                for d in body[:100])
    )  # fmt: skip


def looks_like_coco(body: Any) -> bool:
    """A COCO ground-truth object: categories, or images with annotations."""
    return isinstance(body, Mapping) and (
        "categories" in body or {"images", "annotations"} <= body.keys()
    )


def read(path: Path, *, lenient: bool = False, folder: Folder | None = None) -> Imported:
    """Import one COCO annotation file (see the module docstring); ``folder``: the dataset
    folder it must be in (by default, its own folder)."""
    return read_body(path, load(path, folder=folder), lenient=lenient)


def read_body(path: Path, body: Any, *, lenient: bool = False) -> Imported:
    file = str(path)
    if is_results(body):
        raise ResultsFileError(
            Problem(
                file=file,
                path="$",
                message=f"a COCO results file ({len(body)} detections with scores, no "
                "categories): it holds predictions, not a label schema",
            ),
            hint="import the ground-truth annotation file (e.g. instances_val2017.json) "
            "the results were made against",
        )
    if not isinstance(body, Mapping):
        raise LabelFileError(
            Problem(file=file, path="$", message="not a COCO annotation file: expected an object")
        )
    if not isinstance(body.get("categories"), list):
        what = "missing" if "categories" not in body else "not a list"
        raise LabelFileError(
            Problem(file=file, path="$.categories", message=f"categories {what}"),
            hint='a COCO annotation file lists its classes under "categories"',
        )
    problems = Problems(lenient=lenient)
    classes = _categories(file, body["categories"], problems)
    stats = Stats(box_unit="px")
    images = _images(file, body.get("images"), problems, stats)
    types: set[str] = set()
    attributes: set[str] = set()
    names = {c.id: c.name for c in classes if c.id is not None}
    annotations = body.get("annotations", [])
    if not isinstance(annotations, list):
        problems.report(file, "annotations is not a list", path="$.annotations")
        annotations = []
    for index, one in enumerate(annotations):
        _annotation(file, index, one, names, images, problems, stats, types, attributes)
    schema = build("explicit", classes, annotation_types=types, attributes=attributes, source=file)
    return Imported(
        format="coco", schema=schema, files=(path,), stats=stats, problems=tuple(problems.found)
    )


def _categories(file: str, items: list[Any], problems: Problems) -> list[LabelClass]:
    classes: dict[int, LabelClass] = {}
    names: dict[str, int] = {}
    for index, item in enumerate(items):
        where = f"$.categories[{index}]"
        if not isinstance(item, Mapping):
            problems.report(file, "a category must be an object", path=where)
            continue
        cid, name = item.get("id"), item.get("name")
        if not isinstance(cid, int) or isinstance(cid, bool):
            problems.report(file, f"category id {cid!r} is not an integer", path=f"{where}.id")
            continue
        if not -(2**63) <= cid < 2**63:
            problems.report(file, "category id does not fit in 64 bits", path=f"{where}.id")
            continue
        if not isinstance(name, str) or not name.strip() or text_problem(name) is not None:
            problems.report(file, f"category name {name!r} is not a name", path=f"{where}.name")
            continue
        if cid in classes:
            problems.report(
                file, f"duplicate category id {cid} ({classes[cid].name!r} and {name!r})",
                path=f"{where}.id",
            )  # fmt: skip
            continue
        if name in names:
            problems.report(
                file, f"duplicate category name {name!r} (ids {names[name]} and {cid})",
                path=f"{where}.name",
            )  # fmt: skip
            continue
        keypoints, skeleton = item.get("keypoints") or [], item.get("skeleton") or []
        if not isinstance(keypoints, list) or not all(isinstance(k, str) for k in keypoints):
            problems.report(file, "keypoints must be a list of names", path=f"{where}.keypoints")
            keypoints = []
        if not isinstance(skeleton, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(i, int) for i in p)
            for p in skeleton
        ):
            problems.report(
                file, "skeleton must be a list of [a, b] pairs", path=f"{where}.skeleton"
            )
            skeleton = []
        supercategory = item.get("supercategory")
        classes[cid] = LabelClass(
            id=cid,
            name=name,
            supercategory=supercategory
            if isinstance(supercategory, str) and supercategory
            else None,
            keypoints=tuple(keypoints),
            skeleton=tuple((a, b) for a, b in skeleton),
        )
        names[name] = cid
    return list(classes.values())


def _images(file: str, items: Any, problems: Problems, stats: Stats) -> Sizes | None:
    """The listed images' ids and sizes (None: the file lists none, so ids cannot be
    checked)."""
    if items is None:
        return None
    if not isinstance(items, list):
        problems.report(file, "images is not a list", path="$.images")
        return None
    ids: Sizes = {}
    for index, item in enumerate(items):
        where = f"$.images[{index}]"
        image_id = item.get("id") if isinstance(item, Mapping) else None
        if not isinstance(image_id, int | str) or isinstance(image_id, bool):
            problems.report(file, f"image id {image_id!r} is not an integer", path=f"{where}.id")
            continue
        if image_id in ids:
            problems.report(file, f"duplicate image id {image_id}", path=f"{where}.id")
            continue
        width, height = item.get("width"), item.get("height")
        for key, value in (("width", width), ("height", height)):
            if value is not None and not _number(value):
                problems.report(file, f"{key} {value!r} is not a number", path=f"{where}.{key}")
        size = (float(width), float(height)) if _number(width) and _number(height) else None
        ids[image_id] = size
        stats.image(*(size or (None, None)))
    return ids


def _annotation(
    file: str,
    index: int,
    one: Any,
    names: Mapping[int, str],
    images: Sizes | None,
    problems: Problems,
    stats: Stats,
    types: set[str],
    attributes: set[str],
) -> None:
    where = f"$.annotations[{index}]"
    if not isinstance(one, Mapping):
        problems.report(file, "an annotation must be an object", path=where)
        return
    if "category_id" not in one:
        return  # a caption or other category-less annotation: nothing of the schema
    cid = one["category_id"]
    if not _key(cid) or cid not in names:
        problems.report(file, f"unknown category id {cid!r}", path=f"{where}.category_id")
        return
    image_id = one.get("image_id")
    if images is not None and (not _key(image_id) or image_id not in images):
        problems.report(file, f"unknown image id {image_id!r}", path=f"{where}.image_id")
        return
    shapes = _shapes(file, where, one, problems)
    if shapes is None:
        return
    found, area = shapes
    if isinstance(one.get("bbox_cam3d"), list):
        found.append("box3d")
    crowd = one.get("iscrowd") in (1, True)
    if crowd:
        found.append("crowd")
    if isinstance(one.get("attributes"), Mapping):
        attributes.update(str(k) for k in one["attributes"])
    types.update(found)
    box = one["bbox"] if "box" in found else None  # checked by _shapes: 4 numbers
    aspect = float(box[2]) / float(box[3]) if box is not None and box[3] else None
    stats.annotation(names[cid], tuple(found), box_area=area, crowd=crowd, box_aspect=aspect)
    size = images.get(image_id) if images is not None else None
    if box is not None and size is not None:
        x, y, w, h = (float(v) for v in box)
        stats.box_bounds((x, y, x + w, y + h), *size)


def _shapes(
    file: str, where: str, one: Mapping[str, Any], problems: Problems
) -> tuple[list[str], float | None] | None:
    """The box, polygon, RLE and keypoint types of one annotation and its box area (None:
    a malformed value, reported)."""
    found: list[str] = []
    area = None
    bbox = one.get("bbox")
    if bbox is not None:
        if not isinstance(bbox, list) or len(bbox) != 4 or not all(map(_number, bbox)):
            problems.report(file, f"bbox {bbox!r} is not 4 numbers", path=f"{where}.bbox")
            return None
        found.append("box")
        area = float(bbox[2]) * float(bbox[3])
    segmentation = one.get("segmentation")
    if isinstance(segmentation, Mapping):
        if "counts" not in segmentation:
            problems.report(file, "RLE mask without counts", path=f"{where}.segmentation")
            return None
        found.append("rle")
    elif isinstance(segmentation, list) and segmentation:
        if not all(isinstance(p, list) and all(map(_number, p)) for p in segmentation):
            problems.report(
                file, "polygons must be lists of numbers", path=f"{where}.segmentation"
            )  # fmt: skip
            return None
        found.append("polygon")
    keypoints = one.get("keypoints")
    if isinstance(keypoints, list) and keypoints:
        if len(keypoints) % 3 or not all(map(_number, keypoints)):
            problems.report(
                file, "keypoints must be x, y, visibility triples of numbers",
                path=f"{where}.keypoints",
            )  # fmt: skip
            return None
        found.append("keypoints")
    return found, area
