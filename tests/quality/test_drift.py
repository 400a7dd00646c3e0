"""Drift between dataset versions, on real COCO and YOLO labels: a class rename and a class
rebalance show as drift with the right verdicts; the thresholds come from `lineal.toml`."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from lineal.client import Lineal
from lineal.datasets import add
from lineal.errors import InvalidInput, MissingExtra
from lineal.quality import drift_config
from lineal.quality.drift import drift
from lineal.quality.show import show
from shared_data import SHARED_DATA

COCO = SHARED_DATA / (
    "coco/rafaelpadilla__review_object_detection_metrics/data/database/gts/coco_format_v1/"
    "instances_default.json"
)
YOLO = (
    SHARED_DATA
    / "yolo/rafaelpadilla__review_object_detection_metrics/data/database/gts/yolo_format"
)


def _verdicts(report: Any) -> dict[str, str]:
    return {one.name: one.verdict for one in report.measures}


def _coco_versions(repo: Lineal, ws: Path) -> dict[str, Any]:
    """dataset/x v1 (the file as it is), v2 (class ``person`` renamed ``human``), v3 (v1 with
    nine in ten ``person`` boxes dropped)."""
    document = json.loads(COCO.read_text())
    folder = ws / "data"
    folder.mkdir()
    target = folder / "instances.json"
    target.write_text(json.dumps(document))
    add(repo, [folder], name="x")
    renamed = json.loads(json.dumps(document))
    for category in renamed["categories"]:
        if category["name"] == "person":
            category["name"] = "human"
    target.write_text(json.dumps(renamed))
    add(repo, [folder], name="x")
    (person,) = [c["id"] for c in document["categories"] if c["name"] == "person"]
    document["annotations"] = [
        a for a in document["annotations"] if a["category_id"] != person or a["id"] % 10 == 0
    ]
    target.write_text(json.dumps(document))
    add(repo, [folder], name="x")
    return document


@pytest.mark.usefixtures("shared_data")
def test_a_rename_and_a_rebalance_drift_with_the_right_verdicts(repo: Lineal, ws: Path) -> None:
    _coco_versions(repo, ws)
    renamed = drift(repo, "dataset/x@v1", "dataset/x@v2")
    verdicts = _verdicts(renamed)
    # A rename: the schema changed, the class mix moved (a class gone, one come), nothing else.
    assert verdicts["schema"] == "drift"
    assert renamed.schema is not None
    assert renamed.schema["renamed"] == [{"id": 1, "before": "person", "after": "human"}]
    assert verdicts["class_js"] == verdicts["class_chi2"] == "drift"
    for same in ("file_count", "box_area", "box_aspect", "image_size", "annotations_per_image"):
        assert verdicts[same] == "ok", same
    # A rebalance: the same schema, the class mix and annotations per image moved.
    rebalanced = drift(repo, "dataset/x@v1", "dataset/x@v3")
    verdicts = _verdicts(rebalanced)
    assert verdicts["schema"] == "ok"
    assert verdicts["class_js"] == verdicts["class_chi2"] == "drift"
    assert verdicts["annotations_per_image"] == "drift"
    assert verdicts["file_count"] == verdicts["image_size"] == "ok"
    chi2 = next(m for m in rebalanced.measures if m.name == "class_chi2")
    assert chi2.statistic is not None
    assert chi2.statistic < chi2.threshold
    js = next(m for m in rebalanced.measures if m.name == "class_js")
    assert js.statistic is not None
    assert 0.1 < js.statistic < 1
    assert "person" in js.detail
    # The same version against itself: no drift at all.
    same = drift(repo, "dataset/x@v1", "dataset/x@v1")
    assert not same.drifted
    assert set(_verdicts(same).values()) == {"ok"}


@pytest.mark.usefixtures("shared_data")
def test_each_version_shows_its_drift_from_the_one_before(repo: Lineal, ws: Path) -> None:
    _coco_versions(repo, ws)
    body = show(repo, "dataset/x@v2")
    assert body["drift"]["a"] == "dataset/x@v1"
    assert body["drift"]["b"] == "dataset/x@v2"
    assert "schema" in body["drift"]["drifted"]
    assert "drift" not in show(repo, "dataset/x@v1")  # the first version: nothing before it
    with pytest.raises(InvalidInput, match="not a dataset version"):
        drift(repo, "schema/x@v1", "dataset/x@v2")
    # drift A alone: A against the version before it, the same answer as show's.
    assert {**drift(repo, "dataset/x@v3").as_dict(), "recorded": None} == show(
        repo, "dataset/x@v3"
    )["drift"]
    with pytest.raises(InvalidInput, match="first version"):
        drift(repo, "dataset/x@v1")


@pytest.mark.usefixtures("shared_data")
def test_yolo_class_rebalance_and_file_count(repo: Lineal, ws: Path) -> None:
    folder = ws / "yolo"
    shutil.copytree(YOLO, folder)
    add(repo, [folder], name="y")
    labels = sorted((folder / "obj_train_data").glob("*.txt"))
    # Keep only class 0 boxes in every label file: a rebalance of the same schema.
    for label in labels:
        kept = [line for line in label.read_text().splitlines() if line.split()[:1] == ["0"]]
        label.write_text("\n".join(kept) + "\n")
    add(repo, [folder], name="y")
    report = drift(repo, "dataset/y@v1", "dataset/y@v2")
    verdicts = _verdicts(report)
    assert verdicts["schema"] == "ok"
    assert verdicts["class_js"] == "drift"
    assert verdicts["file_count"] == "ok"
    box = next(m for m in report.measures if m.name == "box_area")
    assert box.verdict in ("ok", "drift")
    assert box.statistic is not None


def test_thresholds_come_from_lineal_toml(tmp_path: Path) -> None:
    assert drift_config.parse({}).class_js == 0.1
    found = drift_config.parse({"drift": {"class_js": 0.5, "file_count": 2}})
    assert (found.class_js, found.file_count, found.class_p) == (0.5, 2.0, 0.01)
    with pytest.raises(InvalidInput, match=r"unknown keys \['clas_js'\]"):
        drift_config.parse({"drift": {"clas_js": 0.5}})
    with pytest.raises(InvalidInput, match="from 0 to 1"):
        drift_config.parse({"drift": {"class_js": 3}})
    with pytest.raises(InvalidInput, match=">= 0"):
        drift_config.parse({"drift": {"box_area": "big"}})


@pytest.mark.usefixtures("shared_data")
def test_a_looser_threshold_turns_a_verdict(repo: Lineal, ws: Path) -> None:
    _coco_versions(repo, ws)
    assert repo.workspace is not None
    assert repo.workspace.root is not None
    (repo.workspace.root.parent / "lineal.toml").write_text(
        "[drift]\nclass_js = 0.9\nclass_p = 0.0\nannotations_per_image = 0.9\n"
    )
    verdicts = _verdicts(drift(repo, "dataset/x@v1", "dataset/x@v3"))
    assert verdicts["class_js"] == verdicts["class_chi2"] == "ok"
    assert verdicts["annotations_per_image"] == "ok"


def test_drift_names_a_dataset(repo: Lineal, ws: Path) -> None:
    (ws / "a.txt").write_text("a")
    add(repo, [ws / "a.txt"], name="plain")
    (ws / "a.txt").write_text("ab")
    add(repo, [ws / "a.txt"], name="plain")
    report = drift(repo, "plain@v1", "plain@v2")
    verdicts = _verdicts(report)
    # No labels recorded: the label measures say so rather than guess.
    assert verdicts["class_js"] == verdicts["schema"] == "unknown"
    assert verdicts["file_count"] == "ok"


@pytest.mark.usefixtures("shared_data")
def test_without_scipy_drift_names_the_extra_and_show_still_shows(
    repo: Lineal, ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _coco_versions(repo, ws)
    for name in ("scipy", "scipy.spatial", "scipy.stats"):
        monkeypatch.setitem(sys.modules, name, None)  # import scipy now fails
    with pytest.raises(MissingExtra, match="scipy is not installed") as raised:
        drift(repo, "dataset/x@v1", "dataset/x@v2")
    assert raised.value.hint == "pip install 'lineal[quality]'"
    body = show(repo, "dataset/x@v2")
    assert body["ref"] == "dataset/x@v2"
    assert body["drift"]["error"] == "scipy is not installed (pip install 'lineal[quality]')"
