"""A schema written for another tool: COCO's ``categories`` list or YOLO's ``names:`` block.

Pure text from a LabelSchema; the caller decides where it goes.

Ids: COCO keeps explicit ids as they are and numbers positional or implicit classes 1..N in
canonical order (COCO reserves 0); YOLO indices are 0..N-1 in canonical order (by id for
explicit schemas: the usual COCO-80 remapping).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lineal.errors import InvalidInput
from lineal.labels.schema import LabelSchema

EXPORT_FORMATS = ("coco", "yolo")


def coco_categories(schema: LabelSchema) -> list[dict[str, Any]]:
    found = []
    for position, one in enumerate(schema.classes, 1):
        category: dict[str, Any] = {
            "id": one.id if schema.id_rule == "explicit" else position,
            "name": one.name,
            "supercategory": one.supercategory or "",
        }
        if one.keypoints or one.skeleton:
            category["keypoints"] = list(one.keypoints)
            category["skeleton"] = [list(pair) for pair in one.skeleton]
        found.append(category)
    return found


def yolo_names(schema: LabelSchema) -> str:
    """A data.yaml fragment: ``nc`` and ``names`` as ``index: name`` lines; with keypoints,
    ``kpt_shape`` (x, y and visibility each) and ``kpt_names`` as Ultralytics pose sets have."""
    import yaml

    names = dict(enumerate(schema.names))
    body: dict[str, Any] = {"nc": len(names), "names": names}
    layouts = {one.keypoints for one in schema.classes if one.keypoints}
    if len(layouts) == 1:
        points = next(iter(layouts))
        body["kpt_shape"] = [len(points), 3]
        body["kpt_names"] = {index: list(points) for index in names}
    elif len(layouts) > 1:
        raise InvalidInput(
            "YOLO pose sets share one keypoint layout, and this schema's classes differ",
            hint="export --format coco, which keeps keypoints per class",
        )
    return str(yaml.safe_dump(body, sort_keys=False, allow_unicode=True))


def export(schema: LabelSchema, format: str) -> str:
    """The text of ``schema`` in ``format`` (coco: JSON with a categories list; yolo: YAML)."""
    if format == "coco":
        body = {"categories": coco_categories(schema)}
        return json.dumps(body, indent=2, ensure_ascii=False) + "\n"
    if format == "yolo":
        return yolo_names(schema)
    raise InvalidInput(f"bad export format {format!r}: expected {', '.join(EXPORT_FORMATS)}")


def write(schema: LabelSchema, format: str, path: Path) -> None:
    """Write :func:`export`'s text to ``path`` (replaced whole, never half-written)."""
    text = export(schema, format)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
