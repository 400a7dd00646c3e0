"""`lineal demo`: the whole guided story, run as a user runs it, and what it recorded."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

pytest.importorskip("pxr")
pytest.importorskip("sklearn")
pytest.importorskip("PIL")

from lineal.client import Lineal
from lineal.demo import learn
from lineal.model.entities import Artifact, Run
from lineal.registry.models import generated_by

if TYPE_CHECKING:
    from conftest import Cli

MODEL = "model/street-classifier"


def _artifact(repo: Lineal, ref: str) -> Artifact:
    found = repo.resolve(ref)
    assert isinstance(found, Artifact)
    return found


def _run(repo: Lineal, ref: str) -> Run:
    found = repo.resolve(ref)
    assert isinstance(found, Run)
    return found


def _evaluations(repo: Lineal, model: Artifact) -> list[Run]:
    refs = {e.child for e in repo.edges(model.digest) if e.kind == "used"}
    return [_run(repo, ref) for ref in sorted(refs)]


def test_the_demo_records_the_whole_story(tmp_path: Path, lineal_cli: Cli) -> None:
    here = tmp_path / "demo"
    started = time.monotonic()
    done = lineal_cli("demo", str(here), cwd=tmp_path, timeout=300)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "Try next" in done.stdout, done.stdout
    with Lineal.open(path=here) as repo:
        # The scene, twice: the second renames a class.
        scenes = [_artifact(repo, f"scene/street@v{n}") for n in (1, 2)]
        assert scenes[0].digest != scenes[1].digest
        lights = {light["type"] for light in scenes[0].meta["summary"]["lights"]}
        assert lights == {"DistantLight", "DomeLight"}
        # The randomization configs: seeded, and the lighting range widened in iteration 2.
        configs = [_artifact(repo, f"config/randomize-train@v{n}") for n in (1, 2)]
        assert [c.meta["seed"] for c in configs] == [1, 1]
        assert configs[0].meta["ranges"]["light.scale"] != configs[1].meta["ranges"]["light.scale"]
        # Datasets rendered from their scene and labelled with their schema.
        schemas = []
        for n, scene in zip((1, 2), scenes, strict=True):
            for split in ("train", "eval"):
                data = _artifact(repo, f"dataset/render-{split}@v{n}")
                kinds = {(e.kind, e.parent) for e in repo.edges(data) if e.child == data.digest}
                assert ("rendered_from", scene.digest) in kinds
                labelled = [e.parent for e in repo.edges(data) if e.kind == "labeled_with"]
                assert len(labelled) == 1
                if split == "train":
                    schemas.append(_artifact(repo, labelled[0]))
                assert data.meta["files"] == (301 if split == "train" else 121)
        assert [sorted(c["name"] for c in s.meta["schema"]["classes"]) for s in schemas] == [
            ["car", "cone", "pedestrian"],
            ["car", "cone", "person"],
        ]
        assert _artifact(repo, "dataset/render-eval:eval-approved").version == 2
        # Training and evaluation runs with per-class metrics, for each registered version.
        metrics = []
        for n, renamed in ((1, "pedestrian"), (2, "person")):
            model = _artifact(repo, f"{MODEL}@v{n}")
            trained = _run(repo, str(generated_by(repo, model.digest)))
            assert trained.name == "train-classifier"
            assert trained.status == "finished"
            assert {"loss", "train_accuracy"} <= set(trained.metrics)
            used = {(e.role, e.parent) for e in repo.edges(trained.ref) if e.kind == "used"}
            assert ("train", _artifact(repo, f"dataset/render-train@v{n}").digest) in used
            [evaluation] = _evaluations(repo, model)
            assert evaluation.name == "evaluate-classifier"
            keys = {"AP/car", "AP/cone", f"AP/{renamed}", "mAP", "accuracy"}
            assert set(evaluation.metrics) == keys
            assert all(0.0 <= (v or 0.0) <= 1.0 for v in evaluation.metrics.values())
            metrics.append(dict(evaluation.metrics))
        assert metrics[0] != metrics[1]
        # The metrics are the saved model's on the held-out set (the files left are v2's).
        recomputed = learn.evaluate(
            here / "models/street-classifier.npz", learn.samples(here / "render-eval")
        )
        assert recomputed == pytest.approx(metrics[1])
        # Registration and promotion under the policy the demo wrote.
        production = _artifact(repo, f"{MODEL}:production")
        assert production.version == 1
        assert metrics[0]["mAP"] >= 0.95
        assert metrics[0]["accuracy"] >= 0.94
        second = _artifact(repo, f"{MODEL}@v2")
        if metrics[1]["mAP"] < 0.95 or metrics[1]["accuracy"] < 0.94:
            assert _artifact(repo, f"{MODEL}:staging").digest == second.digest
        else:
            assert production.digest == second.digest
        generation = generated_by(repo, _artifact(repo, "dataset/render-train@v1").digest)
    assert f"lineal replay {generation}" in done.stdout
    verified = lineal_cli("verify", cwd=here)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("OK:")
    replayed = lineal_cli("replay", str(generation), "--json", cwd=here)
    assert replayed.returncode == 0, replayed.stderr
    report = json.loads(replayed.stdout)
    assert report["reproducible"] is True
    assert [(o["path"], o["same"]) for o in report["outputs"]] == [("render-train", True)]
    renamed = lineal_cli(
        "schema", "diff", "schema/render-train@v1", "schema/render-train@v2", cwd=here
    )
    assert "pedestrian -> person" in renamed.stdout, renamed.stderr
    assert elapsed < 120, f"the demo took {elapsed:.0f}s"


def test_the_demo_wants_a_new_folder(tmp_path: Path, lineal_cli: Cli) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    done = lineal_cli("demo", "busy", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("error: busy is not empty")
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
