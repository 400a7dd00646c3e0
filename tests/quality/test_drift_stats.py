"""Box aspects, recorded with annotation statistics for drift: every importer that knows a
box's width and height keeps its aspect, and the same boxes in two formats agree."""

from __future__ import annotations

import json
import math
from xml.etree import ElementTree

import pytest

from lineal.labels.detect import import_path
from lineal.labels.stats import Stats
from shared_data import SHARED_DATA

GTS = SHARED_DATA / "coco/rafaelpadilla__review_object_detection_metrics/data/database/gts"
VOC = SHARED_DATA / "voc/rafaelpadilla__review_object_detection_metrics/data/database/gts"
KITTI = SHARED_DATA / "kitti/open-mmlab__OpenPCDet/data/kitti"


@pytest.mark.usefixtures("shared_data")
def test_coco_and_voc_boxes_record_their_aspects() -> None:
    path = GTS / "coco_format_v1/instances_default.json"
    coco = import_path(path).stats.as_dict()
    boxes = [a["bbox"] for a in json.loads(path.read_text())["annotations"]]
    aspects = sorted(w / h for _, _, w, h in boxes)
    assert coco["box_aspect"]["count"] == len(boxes) == coco["box_area"]["count"]
    assert coco["box_aspect"]["median"] == round(aspects[math.ceil(len(aspects) / 2) - 1], 6)
    assert (coco["box_aspect"]["min"], coco["box_aspect"]["max"]) == (
        round(aspects[0], 6),
        round(aspects[-1], 6),
    )
    voc = import_path(VOC / "pascalvoc_format").stats.as_dict()
    corners = [
        [float(box.findtext(k) or 0) for k in ("xmin", "ymin", "xmax", "ymax")]
        for xml in sorted((VOC / "pascalvoc_format").glob("*.xml"))
        for box in ElementTree.parse(xml).iter("bndbox")  # noqa: S314 - the project's own sample
    ]
    widest = max((x2 - x1) / (y2 - y1) for x1, y1, x2, y2 in corners)
    assert voc["box_aspect"]["count"] == len(corners) == voc["box_area"]["count"]
    assert voc["box_aspect"]["max"] == round(widest, 6)


@pytest.mark.usefixtures("shared_data")
def test_kitti_boxes_record_aspects() -> None:
    stats = import_path(KITTI).stats.as_dict()
    assert stats["box_aspect"]["count"] == stats["box_area"]["count"] > 0


def test_a_flat_or_unreadable_box_has_no_aspect() -> None:
    stats = Stats()
    stats.annotation("car", ("box",), box_area=0.0, box_aspect=None)
    stats.annotation("car", ("box",), box_area=10.0, box_aspect=float("inf"))
    stats.annotation("car", ("box",), box_area=10.0, box_aspect=2.5)
    found = stats.as_dict()
    assert found["box_aspect"] == {
        "count": 1, "min": 2.5, "p25": 2.5, "median": 2.5, "p75": 2.5, "max": 2.5
    }  # fmt: skip
    merged = Stats()
    merged.merge(stats)
    assert merged.as_dict()["box_aspect"]["count"] == 1
