"""`lineal schema import|show|diff|export` as a user runs them, on the real sample files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from lineal.client import Lineal
from shared_data import SHARED_DATA

if TYPE_CHECKING:
    from conftest import Cli

DATA = SHARED_DATA

DATUMARO_COCO = DATA / "coco/openvinotoolkit__datumaro/tests/assets/coco_dataset"
PADILLA = DATA / "coco/rafaelpadilla__review_object_detection_metrics/data/database/gts"
YOLO_PADILLA = (
    DATA / "yolo/rafaelpadilla__review_object_detection_metrics/data/database/gts/yolo_format"
)


def ok(lineal_cli: Cli, *args: str, cwd: Path) -> str:
    done = lineal_cli(*args, cwd=cwd)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return str(done.stdout)


@pytest.mark.usefixtures("shared_data")
def test_import_versions_and_one_node_per_schema(ws: Path, lineal_cli: Cli) -> None:
    train = DATUMARO_COCO / "coco_instances/annotations/instances_train.json"
    first = json.loads(
        ok(lineal_cli, "schema", "import", str(train), "-n", "abc", "--json", cwd=ws)
    )
    assert first["ref"] == "schema/abc@v1"
    assert first["created"] is True
    assert [c["id"] for c in first["schema"]["classes"]] == [1, 2, 4]
    # The same categories from Roboflow's export: the same node, no new version.
    roboflow = DATUMARO_COCO / "coco_roboflow/train/_annotations.coco.json"
    again = ok(lineal_cli, "schema", "import", str(roboflow), "--name", "schema/abc", cwd=ws)
    assert again.startswith("schema/abc@v1 unchanged")
    # Renaming a class makes a new version derived from the old one.
    body = json.loads(train.read_text())
    body["categories"][1]["name"] = "bee"
    renamed = ws / "renamed.json"
    renamed.write_text(json.dumps(body))
    out = ok(lineal_cli, "schema", "import", str(renamed), "-n", "abc", cwd=ws)
    assert out.startswith("schema/abc@v2 ")
    assert "derived from schema/abc@v1" in out
    shown = json.loads(ok(lineal_cli, "schema", "show", "abc", "--json", cwd=ws))
    assert shown["ref"] == "schema/abc@v2"
    assert shown["derived_from"] == ["schema/abc@v1"]
    assert [c["name"] for c in shown["classes"]] == ["a", "bee", "c"]
    changes = json.loads(ok(lineal_cli, "schema", "diff", "abc@v1", "abc@v2", "--json", cwd=ws))
    assert changes["renamed"] == [{"id": 2, "before": "b", "after": "bee"}]
    assert changes["same"] is False
    assert "renamed     2: b -> bee" in ok(lineal_cli, "schema", "diff", "abc@v1", "abc", cwd=ws)
    with Lineal.open(path=ws) as repo:
        assert len(repo.artifacts("schema")) == 2
        edges = repo.edges("schema/abc@v2")
        assert [(e.kind, e.child) for e in edges] == [("derived_from", repo.node("schema/abc@v2"))]


@pytest.mark.usefixtures("shared_data")
def test_show_lists_classes_and_types(ws: Path, lineal_cli: Cli) -> None:
    path = DATA / "coco/open-mmlab__mmpose/tests/data/coco/test_coco.json"
    ok(lineal_cli, "schema", "import", str(path), cwd=ws)
    out = ok(lineal_cli, "schema", "show", "schema/test_coco", cwd=ws)
    assert "annotation types  box, polygon, keypoints" in out
    assert "   1  person  (supercategory person; 17 keypoints: nose, left_eye" in out
    assert "skeleton of 19 links" in out


@pytest.mark.usefixtures("shared_data")
def test_diff_of_the_same_classes_numbered_two_ways(ws: Path, lineal_cli: Cli) -> None:
    coco_file = PADILLA / "coco_format_v1/instances_default.json"
    ok(lineal_cli, "schema", "import", str(YOLO_PADILLA), "-n", "voc20", cwd=ws)
    changes = json.loads(
        ok(lineal_cli, "schema", "diff", "voc20", str(coco_file), "--json", cwd=ws)
    )
    assert changes["id_rule"] == ["positional", "explicit"]
    assert {"name": "person", "before": 0, "after": 1} in changes["renumbered"]
    assert len(changes["renumbered"]) == 20
    assert changes["added"] == changes["removed"] == []
    assert changes["attributes_gained"] == ["occluded"]


@pytest.mark.usefixtures("shared_data")
def test_export_coco_and_yolo(ws: Path, lineal_cli: Cli) -> None:
    ok(lineal_cli, "schema", "import", str(YOLO_PADILLA), "-n", "voc20", cwd=ws)
    categories = json.loads(ok(lineal_cli, "schema", "export", "voc20", "-f", "coco", cwd=ws))
    assert categories["categories"][0] == {"id": 1, "name": "person", "supercategory": ""}
    assert len(categories["categories"]) == 20
    names = yaml.safe_load(ok(lineal_cli, "schema", "export", "voc20", "--format", "yolo", cwd=ws))
    assert names["nc"] == 20
    assert names["names"][0] == "person"
    assert names["names"][19] == "cow"
    # Read back by the YOLO importer: the same classes at the same indices (a names block
    # alone shows no annotations, so the box type is what it lacks).
    target = ws / "data.yaml"
    ok(lineal_cli, "schema", "export", "voc20", "-f", "yolo", "-o", str(target), cwd=ws)
    changes = json.loads(ok(lineal_cli, "schema", "diff", "voc20", str(target), "--json", cwd=ws))
    assert changes["types_lost"] == ["box"]
    assert changes["renumbered"] == changes["renamed"] == changes["added"] == []
    assert changes["id_rule"] is None


@pytest.mark.usefixtures("shared_data")
def test_bad_input_is_one_line(ws: Path, lineal_cli: Cli) -> None:
    results = DATA / "coco/cocodataset__cocoapi/results/instances_val2014_fakebbox100_results.json"
    done = lineal_cli("schema", "import", str(results), cwd=ws)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0] == (
        f"error: {results} at $: a COCO results file (734 detections with scores, no "
        "categories): it holds predictions, not a label schema"
    )
    assert lines[1].startswith("hint: import the ground-truth annotation file")
    broken = ws / "broken.json"
    broken.write_text('{"categories": [{"id": 1, "name": "car"}, {"id": 1, "name": "van"}]}')
    done = lineal_cli("schema", "import", str(broken), cwd=ws)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        f"error: {broken} at $.categories[1].id: duplicate category id 1 ('car' and 'van')"
    )
    done = lineal_cli("schema", "import", str(broken), "--lenient", cwd=ws)
    assert done.returncode == 0, done.stderr
    assert "1 problems skipped (--lenient):" in done.stderr
    assert "duplicate category id 1" in done.stderr
    done = lineal_cli("schema", "show", "schema/nothing", cwd=ws)
    assert done.returncode == 1
    assert done.stderr.startswith("error: no schema named 'nothing'")


@pytest.mark.parametrize("command", ["import", "show", "diff", "export"])
def test_each_schema_command_has_help(command: str, ws: Path, lineal_cli: Cli) -> None:
    out = ok(lineal_cli, "schema", command, "--help", cwd=ws)
    assert out.startswith(f"Usage: lineal schema {command}")
