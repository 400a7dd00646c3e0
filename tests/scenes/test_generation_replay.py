"""A generation run (scene + randomization config → labelled dataset) and `lineal replay`."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

pytest.importorskip("pxr")

from lineal.client import Lineal
from lineal.scenes import generation_run
from shared_data import SHARED_DATA

if TYPE_CHECKING:
    from conftest import Cli

USD = SHARED_DATA / "usd"
TESTS = USD / "usd-wg__assets/test_assets/RelationshipEncapsulationTests"

# A tiny renderer: reads the scene's light intensities with pxr and the seeded config, writes
# grey PGM images and COCO labels. Deterministic unless DRIFT is set.
RENDER = """
import json, os, random, sys
from pathlib import Path
from pxr import Usd, UsdLux
scene, config, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
cfg = json.loads(Path(config).read_text()) if config.endswith(".json") else None
rng = random.Random(cfg["seed"] + int(os.environ.get("DRIFT", "0")))
stage = Usd.Stage.Open(scene)
power = sum(p.GetAttribute("inputs:intensity").Get() or 0 for p in stage.Traverse()
            if p.HasAPI(UsdLux.LightAPI))
out.mkdir()
images, annotations = [], []
low, high = cfg["ranges"]["light.scale"]
for i in range(cfg["images"]):
    level = int(min(255, power * rng.uniform(low, high))) % 256
    (out / f"{i:03d}.pgm").write_bytes(b"P5 4 4 255\\n" + bytes([level]) * 16)
    images.append({"id": i + 1, "file_name": f"{i:03d}.pgm", "width": 4, "height": 4})
    annotations.append({"id": i + 1, "image_id": i + 1, "category_id": 1 + i % 2,
                        "bbox": [0, 0, 2, 2], "area": 4, "iscrowd": 0})
(out / "annotations.json").write_text(json.dumps({"images": images,
    "annotations": annotations,
    "categories": [{"id": 1, "name": "box"}, {"id": 2, "name": "ball"}]}))
"""


def ok_show(lineal_cli: Cli, ws: Path) -> str:
    done = lineal_cli("scene", "show", "SublayeredInternalReferenceTest", "--json", cwd=ws)
    assert done.returncode == 0, done.stderr
    return str(done.stdout)


def _setup(ws: Path) -> None:
    shutil.copytree(TESTS, ws / "scene")
    (ws / "render.py").write_text(RENDER)
    config = {"seed": 11, "images": 6, "ranges": {"light.scale": [0.5, 1.5]}}
    (ws / "random.json").write_text(json.dumps(config))


@pytest.mark.usefixtures("shared_data")
def test_generation_run_records_lineage_and_replays_identically(
    ws: Path, lineal_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup(ws)
    monkeypatch.chdir(ws)
    monkeypatch.delenv("DRIFT", raising=False)
    scene_file = "scene/SublayeredInternalReferenceTest.usda"
    with Lineal.open(path=ws) as repo:
        made = generation_run(
            [sys.executable, "render.py", scene_file, "random.json", "out"],
            scene=scene_file,
            config="random.json",
            output="out",
            renderer="pgm-toy",
            renderer_version="1.0",
            repo=repo,
            echo=lambda label, chunk: None,
        )
        assert made.exit_code == 0
        assert made.dataset is not None
        assert made.run.meta["seed"] == 11
        assert made.run.params["renderer"] == "pgm-toy"
        assert made.run.params["scene"] == "scene/SublayeredInternalReferenceTest@v1"
        assert made.dataset.meta["files"] == 7
        assert [s.kind for s in made.schemas] == ["schema"]
        edges = repo.edges(made.dataset)
        assert ("rendered_from", made.scene.node) in {(e.kind, e.parent) for e in edges}
        assert ("labeled_with", made.schemas[0].node) in {(e.kind, e.parent) for e in edges}
        used = {e.role for e in repo.edges(made.run) if e.kind == "used"}
        assert {"scene", "randomization", "code", "command"} <= used
        code = [e for e in repo.edges(made.run) if e.kind == "used" and e.role == "code"]
        assert len(code) == 1  # render.py; the scene file on the command line is the scene's
        run_ref = made.run.ref
    shown = json.loads(ok_show(lineal_cli, ws))
    assert shown["rendered"] == [made.dataset.ref]
    # Replay elsewhere: the sandbox has only what the cache holds, not the working folder.
    shutil.rmtree(ws / "out")
    kept = ws.parent / "replayed"
    done = lineal_cli("replay", run_ref, "--keep", str(kept), "--json", cwd=ws)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["reproducible"] is True
    assert [(o["path"], o["same"]) for o in report["outputs"]] == [("out", True)]
    assert report["outputs"][0]["recorded"] == made.dataset.digest
    sandbox = Path(report["sandbox"])
    assert (sandbox / "scene/utils/Environment.usda").is_file()
    assert (sandbox / "render.py").read_text() == RENDER
    # The same run with a drifting seed: not reproducible, and the images that differ named.
    monkeypatch.setenv("DRIFT", "1")
    drift = lineal_cli("replay", run_ref, cwd=ws)
    assert drift.returncode == 1, drift.stderr
    assert drift.stdout.startswith(f"{run_ref} NOT reproducible")
    assert "differs  out" in drift.stdout
    assert "changed  001.pgm" in drift.stdout
    assert "annotations.json" not in drift.stdout  # the labels do not depend on the seed


def test_replay_refuses_what_it_cannot_replay(ws: Path, lineal_cli: Cli) -> None:
    with Lineal.open(path=ws) as repo:
        run = repo.start_run("by-hand")
        repo.finish_run(run)
    done = lineal_cli("replay", run.ref, cwd=ws)
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: {run.ref} has no recorded command to re-execute")
    (ws / "keep").mkdir()
    (ws / "keep" / "x").write_text("busy")
    recorded = lineal_cli("run", "--", sys.executable, "-c", "pass", cwd=ws)
    assert recorded.returncode == 0, recorded.stderr
    ref = recorded.stderr.split()[0]
    done = lineal_cli("replay", ref, "--keep", "keep", cwd=ws)
    assert done.returncode == 1
    assert "keep is not empty" in done.stderr
    fine = lineal_cli("replay", ref, cwd=ws)
    assert fine.returncode == 0, fine.stderr
    assert fine.stdout.startswith(f"{ref} reproducible")
