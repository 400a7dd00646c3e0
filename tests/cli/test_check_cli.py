"""`lineal check`, `lineal add --strict` and the leakage shown by `lineal show`, `lineal runs
--leakage` and `lineal diff`, as a user runs them (subprocesses over real shared data)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lineal.client import Lineal
from lineal.tracking.runs import start
from shared_data import SHARED_DATA

if TYPE_CHECKING:
    from conftest import Cli

YOLO = SHARED_DATA / "yolo/rafaelpadilla__review_object_detection_metrics/data/database/gts"
YOLO = YOLO / "yolo_format"
KITTI = SHARED_DATA / "kitti/open-mmlab__OpenPCDet/data/kitti"
RULES = """
[rules."voc-*"]
min_images = 4
required_classes = ["person"]
required_meta = ["license"]
annotation_sanity = true

[rules."guarded"]
required_classes = ["unicorn"]
enforce = true
"""


@pytest.mark.usefixtures("shared_data")
def test_check_gates_on_rules_and_add_warns_or_refuses(ws: Path, lineal_cli: Cli) -> None:
    (ws / "lineal.toml").write_text(RULES)
    added = lineal_cli("add", str(YOLO), "--name", "voc-yolo", cwd=ws)
    assert added.returncode == 0, added.stderr
    assert "warning: rule required_meta license: no license recorded" in added.stderr
    done = lineal_cli("check", "dataset/voc-yolo", cwd=ws)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith("pass min_images             dataset/voc-yolo@v1: 4 images")
    assert any(line.startswith("FAIL required_meta license") for line in lines)
    assert lines[-1] == "1 checked: 1 violation(s)"
    assert done.stderr == "error: validation failed\n"
    tagged = lineal_cli("tag", "dataset/voc-yolo", "license=MIT", cwd=ws)
    assert tagged.returncode == 0, tagged.stderr
    done = lineal_cli("check", "--all", "--json", cwd=ws)
    assert done.returncode == 0, done.stdout
    body = json.loads(done.stdout)
    assert (body["ok"], body["checked"], body["violations"]) == (True, ["dataset/voc-yolo@v1"], 0)
    assert {f["rule"]: f["measured"] for f in body["findings"]} == {
        "min_images": 4,
        "required_classes": [],
        "required_meta license": "MIT",
        "boxes_inside": 0,
        "empty_label_files": 0,
    }
    # enforce = true refuses, and nothing is recorded; --strict refuses on any rule.
    refused = lineal_cli("add", str(YOLO), "--name", "guarded", cwd=ws)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: guarded breaks 1 validation rule(s), nothing was")
    strict = lineal_cli("add", str(KITTI), "--name", "voc-kitti", "--strict", "--json", cwd=ws)
    assert strict.returncode == 1
    assert "required_classes: no annotation of person" in strict.stderr
    listed = lineal_cli("ls", "dataset", cwd=ws).stdout
    assert "guarded" not in listed
    assert "voc-kitti" not in listed
    assert lineal_cli("verify", cwd=ws).returncode == 0
    # Usage and bad rules: one line each, no traceback.
    none = lineal_cli("check", cwd=ws)
    assert (none.returncode, none.stderr.splitlines()[0]) == (1, "error: check what?")
    (ws / "lineal.toml").write_text('[rules."x"]\nmin_files = "ten"\n')
    bad = lineal_cli("check", "--all", cwd=ws)
    assert bad.returncode == 1
    assert bad.stderr.splitlines()[0].endswith(
        "lineal.toml: bad [rules.\"x\"] min_files: expected a whole number >= 0, not 'ten'"
    )
    assert "Traceback" not in bad.stderr


@pytest.mark.usefixtures("shared_data")
def test_leakage_shows_on_show_runs_diff_and_check(ws: Path, lineal_cli: Cli) -> None:
    held_out, train = ws / "held-out", ws / "train"
    shutil.copytree(YOLO, held_out)
    shutil.copytree(KITTI, train)
    for name in ("2007_000027.txt", "2007_000032.txt", "2007_000033.txt"):
        shutil.copyfile(held_out / "obj_train_data" / name, train / f"copy-{name}")
    for path, name in ((held_out, "held-out"), (train, "train"), (KITTI, "kitti")):
        assert lineal_cli("add", str(path), "--name", name, cwd=ws).returncode == 0
    refs = []
    with Lineal.open(path=ws) as repo:
        for data in ("kitti", "train"):
            run = start(repo, "train", capture_env=False)
            run.use(f"dataset/{data}", role="train")
            run.use("dataset/held-out", role="eval")
            run.finish()
            refs.append(run.ref)
    clean, leaky = refs
    shown = lineal_cli("show", leaky, cwd=ws).stdout
    assert (
        "leakage     LEAK: 3 file(s) of the eval data (dataset/held-out@v1) are in the "
        "training data (dataset/train@v1)"
    ) in shown
    assert (
        "shared      dataset/held-out@v1:obj_train_data/2007_000027.txt = "
        "dataset/train@v1:copy-2007_000027.txt"
    ) in shown
    body = json.loads(lineal_cli("show", clean, "--json", cwd=ws).stdout)
    assert [(one["leaked"], one["shared"]) for one in body["leakage"]] == [(False, 0)]
    header, *rows = lineal_cli("runs", "--leakage", cwd=ws).stdout.splitlines()
    assert "leakage" in header.split()
    assert "LEAK 3" in rows[0]  # newest first
    assert "LEAK" not in rows[1]
    listed = json.loads(lineal_cli("runs", "--leakage", "--json", cwd=ws).stdout)
    assert [[one["shared"] for one in run["leakage"]] for run in listed] == [[3], [0]]
    assert "leakage" not in json.loads(lineal_cli("runs", "--json", cwd=ws).stdout)[0]
    compared = json.loads(lineal_cli("diff", clean, leaky, "--json", cwd=ws).stdout)
    assert [w for w in compared["warnings"]["a"] if w.startswith("leakage")] == []
    (warning,) = [w for w in compared["warnings"]["b"] if w.startswith("leakage")]
    assert warning.startswith(f"leakage: {leaky}: 3 file(s) of the eval data")
    checked = lineal_cli("check", leaky, cwd=ws)
    assert checked.returncode == 1
    assert checked.stdout.startswith(f"FAIL no_leakage             {leaky}: 3 file(s)")
    assert lineal_cli("check", clean, cwd=ws).returncode == 0
