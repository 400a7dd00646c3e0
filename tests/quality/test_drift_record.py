"""Drift recorded with each new dataset version: `lineal add` (and a run's SDK snapshotting a
new version) records the verdicts as a signed ``drift`` fact; `lineal show` and `lineal drift
--all` read it back, with the thresholds then in force, even after lineal.toml changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lineal.client import Lineal
from lineal.quality.drift_record import TAG, recorded
from lineal.tracking.runs import start
from shared_data import SHARED_DATA

if TYPE_CHECKING:
    from conftest import Cli

pytest.importorskip("scipy")

COCO = SHARED_DATA / (
    "coco/rafaelpadilla__review_object_detection_metrics/data/database/gts/coco_format_v1/"
    "instances_default.json"
)


def _write(folder: Path, document: dict, *, drop_person: bool = False) -> None:
    folder.mkdir(exist_ok=True)
    if drop_person:
        (person,) = [c["id"] for c in document["categories"] if c["name"] == "person"]
        document = {
            **document,
            "annotations": [
                a
                for a in document["annotations"]
                if a["category_id"] != person or a["id"] % 10 == 0
            ],
        }
    (folder / "instances.json").write_text(json.dumps(document))


@pytest.mark.usefixtures("shared_data")
def test_lineal_add_records_drift_with_the_version(ws: Path, lineal_cli: Cli) -> None:
    def cli(*args: str, code: int = 0) -> str:
        done = lineal_cli(*args, cwd=ws)
        assert done.returncode == code, (args, done.stdout, done.stderr)
        return str(done.stdout) + str(done.stderr)

    document = json.loads(COCO.read_text())
    folder = ws / "data"
    _write(folder, document)
    cli("add", "data", "--name", "x")
    assert "no dataset version has recorded drift" in cli("drift", "--all")
    _write(folder, document, drop_person=True)
    cli("add", "data", "--name", "x")

    body = json.loads(cli("show", "dataset/x@v2", "--json"))
    held = body["drift"]["recorded"]
    assert (held["ref"], held["from"]) == ("dataset/x@v2", "dataset/x@v1")
    assert {"class_js", "class_chi2"} <= set(held["drifted"])
    assert held["seq"] > body["seq"]  # the fact follows the version it is about
    assert TAG not in body.get("tags", {})  # said once, as the drift line
    verdicts = {m["measure"]: m["verdict"] for m in held["measures"]}
    assert verdicts["class_js"] == "drift"
    assert verdicts["schema"] == "ok"
    (listed,) = json.loads(cli("drift", "--all", "--json"))
    assert listed == held
    assert "dataset/x@v2" in cli("drift", "--all")

    # Adding the same content again records nothing more.
    with Lineal.open(path=ws) as repo:
        head = repo.store.head()[0]
    cli("add", "data", "--name", "x")
    with Lineal.open(path=ws) as repo:
        assert repo.store.head()[0] == head

    # Looser thresholds now: the record keeps what was judged then; show says both.
    (ws / "lineal.toml").write_text(
        "[drift]\nclass_js = 0.99\nclass_p = 0.0\nannotations_per_image = 0.99\n"
    )
    shown = cli("show", "dataset/x@v2")
    assert f"recorded at seq {held['seq']}" in shown
    assert "by today's thresholds: none" in shown
    assert json.loads(cli("drift", "--all", "--json"))[0]["drifted"] == held["drifted"]
    cli("verify")  # the fact is a record like any other: chain and signature hold


def test_drift_all_takes_no_version(ws: Path, lineal_cli: Cli) -> None:
    done = lineal_cli("drift", "--all", "dataset/x", cwd=ws)
    assert done.returncode != 0
    assert "--all lists every version's recorded drift" in done.stderr
    assert "Traceback" not in done.stderr
    done = lineal_cli("drift", cwd=ws)
    assert done.returncode != 0
    assert "name a dataset version" in done.stderr


@pytest.mark.usefixtures("shared_data")
def test_a_run_snapshotting_a_new_version_records_its_drift(repo: Lineal, ws: Path) -> None:
    document = json.loads(COCO.read_text())
    folder = ws / "frames"
    _write(folder, document)
    run = start(repo, "train", capture_env=False)
    run.use(folder, role="train")
    _write(folder, document, drop_person=True)
    second = run.use(folder, role="train")
    run.finish()
    assert second.ref == "dataset/frames@v2"
    (fact,) = recorded(repo)
    assert (fact.ref, fact.body["from"]) == ("dataset/frames@v2", "dataset/frames@v1")
    assert "class_js" in fact.drifted
    assert recorded(repo, drifted_only=True) == [fact]


def test_a_hand_set_drift_tag_is_not_taken_for_a_fact(repo: Lineal, ws: Path) -> None:
    from lineal.datasets import add

    (ws / "a.txt").write_text("a")
    artifact = add(repo, [ws / "a.txt"], name="plain").artifact
    repo.set_tag(artifact, TAG, "looked fine to me")
    assert recorded(repo) == []
