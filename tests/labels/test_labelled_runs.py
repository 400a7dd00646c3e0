"""Labelled datasets and the runs that use them: `lineal add` detects annotations, records
their schema and statistics; train/eval schema mismatches are recorded on runs and shown by
`lineal show`, `lineal runs` and `lineal diff`; per-class metrics name the eval schema."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lineal.client import Lineal
from lineal.datasets import add
from lineal.labels.runs import EVAL_TAG, WARNING_TAG, class_metrics
from lineal.model.entities import Run
from lineal.tracking.runs import start
from shared_data import SHARED_DATA

if TYPE_CHECKING:
    from conftest import Cli

DATA = SHARED_DATA
KITTI = DATA / "kitti/open-mmlab__OpenPCDet/data/kitti"
DATUMARO_COCO = DATA / "coco/openvinotoolkit__datumaro/tests/assets/coco_dataset"


def kitti_copy(ws: Path, name: str, *, rename: tuple[str, str] | None = None) -> Path:
    target = ws / name
    shutil.copytree(KITTI, target)
    if rename is not None:
        for label in (target / "training/label_2").glob("*.txt"):
            label.write_text(label.read_text().replace(*rename))
    return target


@pytest.mark.usefixtures("shared_data")
def test_add_detects_annotations_and_records_schema_and_stats(repo: Lineal, ws: Path) -> None:
    result = add(repo, [kitti_copy(ws, "kitti")])
    (labelled,) = result.labels
    assert labelled.artifact.ref == "schema/kitti@v1"
    assert labelled.imported.format == "kitti"
    dataset = result.artifact
    labels = dataset.meta["labels"]
    (entry,) = labels["schemas"]
    assert entry["schema"] == labelled.artifact.digest
    assert entry["files"] == 6
    assert entry["sources"][0] == "training/label_2/000000.txt"
    assert entry["stats"]["per_class"] == {
        "Car": 5, "Cyclist": 1, "DontCare": 15, "Misc": 1, "Pedestrian": 2, "Truck": 1
    }  # fmt: skip
    assert entry["stats"]["box_area"]["count"] == 25
    assert labels["problems"] == 0
    edges = [(e.kind, e.parent, e.child) for e in repo.edges(dataset)]
    assert ("labeled_with", labelled.artifact.node, dataset.node) in edges
    # Labels fixed: a new dataset version, a new schema version derived from the old one.
    fixed = ws / "kitti" / "training/label_2/000001.txt"
    fixed.write_text(fixed.read_text().replace("Truck", "Van"))
    again = add(repo, [ws / "kitti"])
    (second,) = again.labels
    assert again.artifact.ref == "dataset/kitti@v2"
    assert second.artifact.ref == "schema/kitti@v2"
    assert second.previous is not None
    assert second.previous.ref == "schema/kitti@v1"
    assert again.artifact.meta["labels"]["schemas"][0]["stats"]["per_class"]["Van"] == 1


def test_add_of_a_folder_without_annotations_records_no_labels(repo: Lineal, ws: Path) -> None:
    folder = ws / "plain"
    folder.mkdir()
    (folder / "config.json").write_text('{"a": 1}')
    result = add(repo, [folder])
    assert result.labels == ()
    assert "labels" not in result.artifact.meta
    assert repo.artifacts("schema") == []


@pytest.mark.usefixtures("shared_data")
def test_add_keeps_going_on_broken_annotations(repo: Lineal, ws: Path) -> None:
    folder = ws / "coco"
    shutil.copytree(DATUMARO_COCO / "coco_instances", folder)
    broken = folder / "annotations" / "instances_train.json"
    broken.write_text(broken.read_text().replace('"category_id":2', '"category_id":9'))
    result = add(repo, [folder])
    (labelled,) = result.labels
    assert labelled.imported.schema.names == ("a", "b", "c")
    assert result.label_problems == (
        f"{broken} at $.annotations[0].category_id: unknown category id 9",
    )
    assert result.artifact.meta["labels"]["problems"] == 1


def _run(repo: Lineal, name: str, train: str, evaluation: str, metrics: dict[str, float]) -> Run:
    with start(repo, name, capture_env=False) as run:
        run.use(train, role="train")
        run.use(evaluation, role="eval")
        run.log(metrics, step=0)
    found = repo.resolve(run.ref)
    assert isinstance(found, Run)
    return found


@pytest.mark.usefixtures("shared_data")
def test_mismatched_train_and_eval_schemas_are_recorded(repo: Lineal, ws: Path) -> None:
    add(repo, [kitti_copy(ws, "train")])
    add(repo, [kitti_copy(ws, "same")])
    add(repo, [kitti_copy(ws, "renamed", rename=("Truck", "Lorry"))])
    fine = _run(repo, "fine", "dataset/train", "dataset/same", {"AP/Car": 0.7})
    assert WARNING_TAG not in fine.tags  # two datasets, one schema: nothing to warn about
    assert fine.tags[EVAL_TAG] == repo.resolve("schema/same").node  # type: ignore[union-attr]
    assert class_metrics(repo, fine) == {
        "AP/Car": {"class": "Car", "id": None, "schema": "schema/same@v1"}
    }
    bad = _run(repo, "bad", "dataset/train", "dataset/renamed", {"AP/Car": 0.6, "AP/Truck": 0.2})
    warning = bad.tags[WARNING_TAG]
    assert warning.startswith(
        "train and eval data use different label schemas: schema/train@v1 (train) vs "
        "schema/renamed@v1 (eval): 1 added, 1 removed"
    )
    assert "eval schema lacks classes the run trained on: Truck" in warning
    assert "per-class metrics name classes the eval schema lacks: AP/Truck" in warning
    assert set(class_metrics(repo, bad)) == {"AP/Car"}


@pytest.mark.usefixtures("shared_data")
def test_a_models_upstream_reaches_the_label_schemas_of_its_data(repo: Lineal, ws: Path) -> None:
    from lineal.lineage.queries import downstream, upstream

    add(repo, [kitti_copy(ws, "train")])
    model = ws / "model.bin"
    model.write_bytes(b"weights")
    with start(repo, "train", capture_env=False) as run:
        run.use("dataset/train", role="train")
        made = run.log_model(model, name="detector")
    schema = repo.resolve("schema/train")
    above = upstream(repo, made.ref, kinds=["schema"])
    assert schema.node in above.nodes  # type: ignore[union-attr]
    below = downstream(repo, "schema/train", kinds=["model"])
    assert made.node in below.nodes  # the impact of a label schema: every model it reached
    shown = lineal_show_schema(repo, "schema/train")
    assert shown["datasets"] == ["dataset/train@v1"]


def lineal_show_schema(repo: Lineal, ref: str) -> dict[str, object]:
    from lineal.labels.record import show

    return show(repo, ref)


@pytest.mark.usefixtures("shared_data")
def test_show_runs_and_diff_show_the_warning(ws: Path, lineal_cli: Cli) -> None:
    with Lineal.open(path=ws) as repo:
        add(repo, [kitti_copy(ws, "train")])
        add(repo, [kitti_copy(ws, "same")])
        add(repo, [kitti_copy(ws, "renamed", rename=("Truck", "Lorry"))])
        fine = _run(repo, "detector", "dataset/train", "dataset/same", {"AP/Car": 0.7})
        bad = _run(repo, "detector", "dataset/train", "dataset/renamed", {"AP/Car": 0.6})
    shown = lineal_cli("show", bad.ref, cwd=ws)
    assert shown.returncode == 0, shown.stderr
    assert "warning     eval schema lacks classes the run trained on: Truck" in shown.stdout
    assert "schema      schema/renamed@v1 (eval data dataset/renamed@v1)" in shown.stdout
    assert "class       AP/Car measures Car in schema/renamed@v1" in shown.stdout
    body = json.loads(lineal_cli("show", fine.ref, "--json", cwd=ws).stdout)
    assert body["schema_warnings"] == []
    # train and same carry the same schema bytes, each as a version of its own name: the
    # eval data's own schema is the one the metrics are read in
    assert body["class_metrics"]["AP/Car"]["schema"] == "schema/same@v1"
    listed = lineal_cli("runs", cwd=ws).stdout
    header, *rows = listed.splitlines()
    assert "warning" in header.split()
    assert "train and eval data use different label schemas" in rows[0]  # newest first
    assert "different label schemas" not in rows[1]
    listed_json = json.loads(lineal_cli("runs", "--json", cwd=ws).stdout)
    assert WARNING_TAG in listed_json[0]["tags"]
    compared = json.loads(lineal_cli("diff", fine.ref, bad.ref, "--json", cwd=ws).stdout)
    # "same" is a copy of the training data: no schema warning, but a leak (lineal.quality)
    (leak,) = compared["warnings"]["a"]
    assert leak.startswith(f"leakage: {fine.ref}: 9 file(s) of the eval data (dataset/same@v1)")
    assert "eval schema lacks classes the run trained on: Truck" in compared["warnings"]["b"]
    (schema_change,) = [c for c in compared["changes"] if c["category"] == "schema"]
    assert schema_change["subject"] == "schema of eval data"
    assert (schema_change["before"], schema_change["after"]) == (
        "schema/same@v1",
        "schema/renamed@v1",
    )
    assert schema_change["detail"]["classes"] == {"added": 1, "removed": 1}
    assert compared["changes"][0] == schema_change  # ranked first
    text = lineal_cli("diff", fine.ref, bad.ref, cwd=ws).stdout
    assert f"warning ({bad.ref}): eval schema lacks classes the run trained on: Truck" in text
    assert "schema of eval data: schema/same@v1 -> schema/renamed@v1  (1 added, 1 removed)" in text


@pytest.mark.usefixtures("shared_data")
def test_add_on_the_command_line_says_what_labels_it_found(ws: Path, lineal_cli: Cli) -> None:
    kitti_copy(ws, "kitti")
    done = lineal_cli("add", "kitti", cwd=ws)
    assert done.returncode == 0, done.stderr
    assert (
        "labeled with schema/kitti@v1 (kitti, 6 classes; 25 annotations in 6 images)" in done.stdout
    )
    shown = json.loads(lineal_cli("schema", "show", "dataset/kitti", "--json", cwd=ws).stdout)
    assert shown["ref"] == "schema/kitti@v1"
    assert shown["datasets"] == ["dataset/kitti@v1"]


@pytest.mark.usefixtures("shared_data")
def test_lineal_run_inputs_with_roles_are_checked_for_schema_mismatch(
    ws: Path, lineal_cli: Cli
) -> None:
    kitti_copy(ws, "train")
    kitti_copy(ws, "val", rename=("Truck", "Lorry"))
    done = lineal_cli(
        "run", "--name", "fit", "--in", "train=train", "--in", "eval=val", "--", "true", cwd=ws
    )
    assert done.returncode == 0, done.stderr
    with Lineal.open(path=ws) as repo:
        ((run_id,),) = repo.store.sql().all("SELECT id FROM runs")
        recorded = repo.resolve(f"run/{run_id}")
        assert isinstance(recorded, Run)
        roles = {e.role for e in repo.edges(recorded) if e.kind == "used"}
        assert {"train", "eval", "command"} <= roles
        assert "eval schema lacks classes the run trained on: Truck" in recorded.tags[WARNING_TAG]
    # A path that exists is taken whole, even with "=" in it; a bad one is one line.
    (ws / "a=b").mkdir()
    assert lineal_cli("run", "--in", "a=b", "--", "true", cwd=ws).returncode == 0
    wrong = lineal_cli("run", "--in", "eval=nowhere", "--", "true", cwd=ws)
    assert wrong.returncode != 0
    assert "input nowhere does not exist" in wrong.stderr
