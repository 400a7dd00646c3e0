"""What alerts, as a user meets it: `lineal add` breaking a validation rule, `lineal add` of a
version whose classes drifted, and `lineal check` of a leaking run each queue an alert that the
`[alerts]` command hook receives (a real subprocess)."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lineal.client import Lineal
from lineal.tracking.runs import start
from shared_data import SHARED_DATA

if TYPE_CHECKING:
    from conftest import Cli

pytest.importorskip("scipy")

COCO = SHARED_DATA / (
    "coco/rafaelpadilla__review_object_detection_metrics/data/database/gts/coco_format_v1/"
    "instances_default.json"
)
RULES = '\n[rules."x"]\nrequired_classes = ["unicorn"]\n'


def _alerts(got: Path) -> list[dict]:
    return [json.loads(line) for line in got.read_text().splitlines()] if got.exists() else []


@pytest.mark.usefixtures("shared_data")
def test_validation_drift_and_leakage_alert(ws: Path, lineal_cli: Cli, tmp_path: Path) -> None:
    got = tmp_path / "alerts.jsonl"
    hook = tmp_path / "hook.py"
    hook.write_text(
        "import sys, pathlib\n"
        f"with pathlib.Path({str(got)!r}).open('a') as out:\n"
        "    out.write(sys.stdin.read().replace('\\n', ' ') + '\\n')\n"
    )
    command = shlex.join([sys.executable, str(hook)])
    (ws / "lineal.toml").write_text(f"[alerts]\ncommand = {json.dumps(command)}\n{RULES}")
    folder = ws / "data"
    folder.mkdir()
    document = json.loads(COCO.read_text())
    (folder / "instances.json").write_text(json.dumps(document))
    added = lineal_cli("add", str(folder), "--name", "x", cwd=ws)
    assert added.returncode == 0, added.stderr
    assert "warning: rule required_classes" in added.stderr
    first = document["categories"][0]["name"]
    document["categories"][0]["name"] = first + "-renamed"
    (folder / "instances.json").write_text(json.dumps(document))
    added = lineal_cli("add", str(folder), "--name", "x", cwd=ws)
    assert added.returncode == 0, added.stderr
    assert "warning: drift from dataset/x@v1: " in added.stderr
    assert "schema" in added.stderr
    sent = lineal_cli("alerts", "--send", cwd=ws)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    kinds = [(one["kind"], one["finding"]["subject"]) for one in _alerts(got)]
    assert ("validation", "dataset/x@v1") in kinds
    assert ("validation", "dataset/x@v2") in kinds
    assert ("drift", "dataset/x@v2") in kinds
    (drifted,) = [one for one in _alerts(got) if one["kind"] == "drift"]
    assert "schema" in drifted["finding"]["findings"][0]["drifted"]
    # A run evaluated on a copy of its training data: `lineal check RUN` alerts as leakage.
    shutil.copytree(folder, ws / "same")
    with Lineal.open(path=ws) as repo:
        train = repo.resolve("dataset/x@v2")
        run = start(repo, "train", capture_env=False)
        run.use(train, role="train")
        from lineal.datasets import add

        copy = add(repo, [ws / "same"], name="y").artifact
        run.use(copy, role="eval")
        run.finish()
    done = lineal_cli("check", run.ref, cwd=ws)
    assert done.returncode == 1
    sent = lineal_cli("alerts", "--send", cwd=ws)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert ("leakage", run.ref) in [
        (one["kind"], one["finding"]["subject"]) for one in _alerts(got)
    ]
