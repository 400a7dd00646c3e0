"""Validation rules of `lineal.toml` measured on real COCO, YOLO and KITTI data: what passes,
what fails, what cannot be measured, and how `lineal add` warns or refuses."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lineal.client import Lineal
from lineal.datasets import add
from lineal.errors import InvalidInput
from lineal.model.entities import Artifact
from lineal.quality.check import AddGuard, RuleViolation, check, check_version
from lineal.quality.rules import Rules, parse
from shared_data import SHARED_DATA

COCO = SHARED_DATA / "coco/openvinotoolkit__datumaro/tests/assets/coco_dataset/coco_instances"
MMDET = SHARED_DATA / "coco/open-mmlab__mmdetection/tests/data"
YOLO = SHARED_DATA / "yolo/rafaelpadilla__review_object_detection_metrics/data/database/gts"
YOLO = YOLO / "yolo_format"
KITTI = SHARED_DATA / "kitti/open-mmlab__OpenPCDet/data/kitti"


def _dataset(repo: Lineal, ref: str) -> Artifact:
    found = repo.resolve(ref)
    assert isinstance(found, Artifact)
    return found


def _verdicts(repo: Lineal, ref: str, **rules: object) -> dict[str, str]:
    table = parse({"rules": {"*": rules}})
    return {f.rule: f.verdict for f in check_version(repo, _dataset(repo, ref), table)}


def test_parse_reads_each_key_and_refuses_bad_ones() -> None:
    (rules,) = parse(
        {
            "rules": {
                "render-*": {
                    "min_files": 10,
                    "required_classes": ["car"],
                    "class_balance": {"min_share": 0.1, "max_ratio": 5},
                    "image_size": {"min_width": 32},
                    "annotation_sanity": True,
                    "enforce": True,
                }
            }
        }
    )
    assert rules == Rules(
        pattern="render-*",
        min_files=10,
        required_classes=("car",),
        class_balance={"min_share": 0.1, "max_ratio": 5.0},
        image_size={"min_width": 32.0},
        annotation_sanity=True,
        enforce=True,
    )
    assert rules.matches("render-train")
    assert not rules.matches("other")
    for body, words in (
        ({"min_file": 1}, "unknown keys ['min_file']"),
        ({"max_duplicate_share": 1.5}, "a share from 0 to 1"),
        ({"min_images": -1}, "whole number >= 0"),
        ({"class_balance": {"max": 1}}, "unknown keys ['max']"),
        ({"required_classes": "car"}, "list of strings"),
        ({"enforce": True}, "no rule in it"),
        ({"annotation_sanity": "yes"}, "true or false"),
    ):
        with pytest.raises(InvalidInput, match=r"lineal\.toml: bad \[rules\.\"x\"\]") as caught:
            parse({"rules": {"x": body}})
        assert words in str(caught.value)
        assert "docs/quality.md" in (caught.value.hint or "")


@pytest.mark.usefixtures("shared_data")
def test_rules_pass_and_fail_on_real_coco(repo: Lineal) -> None:
    add(repo, [COCO], name="coco-instances", license="MIT")
    add(repo, [MMDET], name="mmdet-sample")
    ref = "dataset/coco-instances"
    # Two COCO files of one image each (10x5 and 5x10), classes a: 1 and b: 2 annotations.
    assert _verdicts(repo, ref, min_images=2, min_files=2) == {
        "min_images": "pass",
        "min_files": "pass",
    }
    assert _verdicts(repo, ref, min_images=3) == {"min_images": "fail"}
    assert _verdicts(repo, ref, required_classes=["a", "b"]) == {"required_classes": "pass"}
    assert _verdicts(repo, ref, required_classes=["a", "car"]) == {"required_classes": "fail"}
    assert _verdicts(repo, ref, class_balance={"max_share": 0.7}) == {"class_balance": "pass"}
    assert _verdicts(repo, ref, class_balance={"max_ratio": 1.5}) == {"class_balance": "fail"}
    assert _verdicts(repo, ref, image_size={"min_width": 5, "max_height": 10}) == {
        "image_size": "pass"
    }
    assert _verdicts(repo, ref, image_size={"min_width": 8}) == {"image_size": "fail"}
    assert _verdicts(repo, ref, required_meta=["license", "source"]) == {
        "required_meta license": "pass",
        "required_meta source": "fail",
    }
    assert _verdicts(repo, ref, annotation_sanity=True) == {"boxes_inside": "pass"}
    # mmdetection's sample: three 800x800 images, every box inside.
    square = {"annotation_sanity": True, "image_size": {"min_width": 800, "max_width": 800}}
    found = check_version(
        repo, _dataset(repo, "dataset/mmdet-sample"), parse({"rules": {"*": square}})
    )
    assert [(f.rule, f.verdict, f.measured) for f in found] == [
        ("image_size", "pass", {"out_of_bounds": 0, "images": 3}),
        ("boxes_inside", "pass", 0),
    ]


@pytest.mark.usefixtures("shared_data")
def test_rules_pass_and_fail_on_real_yolo(repo: Lineal, ws: Path) -> None:
    add(repo, [YOLO], name="voc-yolo")
    ref = "dataset/voc-yolo"
    # 4 label files, 9 boxes: aeroplane 5, person 3, tvmonitor 1; no image files beside them.
    verdicts = _verdicts(
        repo,
        ref,
        min_images=4,
        required_classes=["person"],
        max_duplicate_share=0.0,
        annotation_sanity=True,
    )
    assert verdicts == {
        "min_images": "pass",
        "required_classes": "pass",
        "max_duplicate_share": "pass",
        "boxes_inside": "pass",
        "empty_label_files": "pass",
    }
    (balance,) = check_version(
        repo,
        _dataset(repo, ref),
        parse({"rules": {"*": {"class_balance": {"min_share": 0.2, "max_share": 0.5}}}}),
    )
    assert balance.verdict == "fail"
    assert balance.measured == {"min_share": 0.111111, "max_share": 0.555556, "max_ratio": 5.0}
    assert "min_share 0.111111 (tvmonitor)" in balance.message
    assert "max_share 0.555556 (aeroplane)" in balance.message
    # The same labels with a box past the image's edge, an empty label file and a duplicate.
    broken = ws / "broken"
    shutil.copytree(YOLO, broken)
    label = broken / "obj_train_data/2007_000027.txt"
    label.write_text(label.read_text() + "14 0.95 0.5 0.3 0.2\n")
    (broken / "obj_train_data/2007_999999.txt").write_text("")
    shutil.copyfile(broken / "obj.names", broken / "names-copy.txt")
    add(repo, [broken], name="broken-yolo")
    found = check_version(
        repo,
        _dataset(repo, "dataset/broken-yolo"),
        parse({"rules": {"*": {"annotation_sanity": True, "max_duplicate_share": 0.05}}}),
    )
    assert [(f.rule, f.verdict, f.measured) for f in found] == [
        ("max_duplicate_share", "fail", 0.111111),
        ("boxes_inside", "fail", 1),
        ("empty_label_files", "fail", 1),
    ]
    assert found[1].message == "1 of 10 boxes reach past their image"
    allowed = parse({"rules": {"*": {"annotation_sanity": True, "allow_empty_label_files": True}}})
    rules = [f.rule for f in check_version(repo, _dataset(repo, "dataset/broken-yolo"), allowed)]
    assert rules == ["boxes_inside"]


def test_a_coco_box_past_its_image_is_counted(repo: Lineal, ws: Path) -> None:
    folder = ws / "coco"
    folder.mkdir()
    body = {
        "images": [{"id": 1, "width": 100, "height": 50}, {"id": 2}],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 90, 40]},  # to the edge
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [60, 20, 50, 10]},  # past x=100
            {"id": 3, "image_id": 2, "category_id": 1, "bbox": [0, 0, 999, 999]},  # size unknown
        ],
    }
    (folder / "instances.json").write_text(json.dumps(body))
    stats = add(repo, [folder]).artifact.meta["labels"]["schemas"][0]["stats"]
    assert (stats["boxes_checked"], stats["boxes_outside"]) == (2, 1)


@pytest.mark.usefixtures("shared_data")
def test_unknown_measures_are_skipped_not_failed(repo: Lineal) -> None:
    # KITTI without its images: no image size is known, so no box can be checked.
    add(repo, [KITTI], name="kitti")
    verdicts = _verdicts(repo, "dataset/kitti", image_size={"min_width": 1}, annotation_sanity=True)
    assert verdicts == {"image_size": "skipped", "empty_label_files": "pass"}
    # A version recorded by its digest alone: no file list, no annotations.
    repo.record_artifact("dataset", digest="sha256:" + "ab" * 32, name="bare")
    assert _verdicts(
        repo, "dataset/bare", min_files=1, max_duplicate_share=0.1, required_classes=["car"]
    ) == {"min_files": "skipped", "max_duplicate_share": "skipped", "required_classes": "skipped"}


@pytest.mark.usefixtures("shared_data")
def test_add_warns_or_refuses_and_a_refusal_records_nothing(repo: Lineal, ws: Path) -> None:
    (ws / "lineal.toml").write_text(
        '[rules."voc-*"]\nrequired_classes = ["unicorn"]\n\n'
        '[rules."strict-*"]\nrequired_classes = ["unicorn"]\nenforce = true\n'
    )
    guard = AddGuard(repo)  # reads the rules of the workspace's lineal.toml
    result = add(repo, [YOLO], name="voc-yolo", then=guard)
    assert result.created
    assert [(f.rule, f.verdict) for f in guard.warnings] == [("required_classes", "fail")]
    before = repo.versions("dataset", "strict-yolo")
    with pytest.raises(RuleViolation, match="strict-yolo breaks 1 validation rule"):
        add(repo, [YOLO], name="strict-yolo", then=AddGuard(repo))
    assert repo.versions("dataset", "strict-yolo") == before == []
    with pytest.raises(RuleViolation, match="nothing was recorded"):
        add(repo, [COCO], name="voc-coco", then=AddGuard(repo, strict=True))
    assert repo.versions("dataset", "voc-coco") == []
    assert repo.verify().ok
    report = check(repo, every=True)
    assert report.checked == ("dataset/voc-yolo@v1",)
    assert not report.ok
    assert report.as_dict()["violations"] == 1
    plain = add(repo, [KITTI], name="kitti", then=AddGuard(repo, strict=True)).artifact
    with pytest.raises(InvalidInput, match=r"no validation rule in lineal\.toml names"):
        check(repo, plain.ref)
    with pytest.raises(InvalidInput, match="check what"):
        check(repo)


@pytest.mark.usefixtures("shared_data")
def test_rules_on_real_voc_check_boxes_against_each_image_size(repo: Lineal, ws: Path) -> None:
    voc = SHARED_DATA / "voc/rafaelpadilla__review_object_detection_metrics/data/database/gts"
    shutil.copytree(voc / "pascalvoc_format", ws / "voc/Annotations")  # a VOC root's layout
    add(repo, [ws / "voc"], name="voc")
    found = check_version(
        repo,
        _dataset(repo, "dataset/voc"),
        parse({"rules": {"*": {"annotation_sanity": True, "image_size": {"min_height": 300}}}}),
    )
    assert [(f.rule, f.verdict, f.measured) for f in found] == [
        ("image_size", "fail", {"out_of_bounds": 1, "images": 4}),  # 500x281
        ("boxes_inside", "pass", 0),
    ]
    assert found[1].message == "0 of 9 boxes reach past their image"
