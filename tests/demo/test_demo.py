"""`lineal demo`: the whole guided story, run as a user runs it, and what it recorded."""

from __future__ import annotations

import shlex
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
from lineal.registry.promote import history

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


def _node(repo: Lineal, ref: str) -> str:
    return repo.node(_artifact(repo, ref))


def _evaluations(repo: Lineal, model: Artifact) -> dict[str, Run]:
    """The runs that evaluated ``model``, by the node of the dataset each used."""
    node = repo.node(model)
    found = {}
    for ref in sorted({e.child for e in repo.edges(node) if e.kind == "used" and e.parent == node}):
        run = _run(repo, ref)
        (data,) = [e.parent for e in repo.edges(ref) if e.role == "eval" and e.child == ref]
        found[data] = run
    return found


def _try_next(stdout: str) -> tuple[str, list[str]]:
    """The folder and the commands the demo says to try next."""
    lines = stdout.split("Try next:\n", 1)[1].splitlines()
    folder = lines[0].strip().removeprefix("cd ")
    return folder, [line.strip() for line in lines[1:] if line.startswith("  lineal ")]


def test_the_demo_records_the_whole_story(tmp_path: Path, lineal_cli: Cli) -> None:
    here = tmp_path / "demo"
    done = lineal_cli("demo", str(here), cwd=tmp_path, timeout=300)
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
                node = repo.node(data)
                kinds = {(e.kind, e.parent) for e in repo.edges(node) if e.child == node}
                assert ("rendered_from", repo.node(scene)) in kinds
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
            assert ("train", _node(repo, f"dataset/render-train@v{n}")) in used
            evaluation = _evaluations(repo, model)[_node(repo, f"dataset/render-eval@v{n}")]
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
        # When the new benchmark was approved, production (v1) was evaluated on it too, and
        # failed: it never learnt the renamed class. v2 passed and replaced it.
        first, second = (_artifact(repo, f"{MODEL}@v{n}") for n in (1, 2))
        benchmarks = [_node(repo, f"dataset/render-eval@v{n}") for n in (1, 2)]
        assert set(_evaluations(repo, first)) == set(benchmarks)
        baseline = _evaluations(repo, first)[benchmarks[1]]
        assert set(baseline.metrics) == {"AP/car", "AP/cone", "AP/person", "mAP", "accuracy"}
        assert (baseline.metrics["mAP"] or 0.0) < 0.95
        assert metrics[1]["mAP"] >= 0.95
        assert metrics[1]["accuracy"] >= 0.90
        assert _artifact(repo, f"{MODEL}:production").digest == second.digest
        promotions = history(repo, "street-classifier")["promotions"]
        assert [(p["ref"], p["alias"]) for p in promotions] == [
            (f"{MODEL}@v1", "production"),
            (f"{MODEL}@v2", "production"),
        ]
        latest = _evaluations(repo, second)[benchmarks[1]]
        generation = generated_by(repo, _artifact(repo, "dataset/render-train@v1").digest)
    assert f"{MODEL}@v1 no longer passes for production" in done.stdout
    assert f"{MODEL}@v2 holds production and passes its policy" in done.stdout
    # The demo ends clean, and every command it says to try next works in its store.
    folder, commands = _try_next(done.stdout)
    assert Path(folder) == here.resolve()
    assert f"lineal replay {generation}" in commands
    assert f"lineal diff {baseline.ref} {latest.ref}" in commands
    assert "lineal policy check --all" in commands
    outputs = {}
    for command in commands:
        ran = lineal_cli(*shlex.split(command)[1:], cwd=here)
        assert ran.returncode == 0, (command, ran.stdout, ran.stderr)
        outputs[command] = ran.stdout
    assert outputs["lineal verify"].startswith("OK:")
    assert outputs[f"lineal replay {generation}"].startswith(f"{generation} reproducible")
    assert (
        "pedestrian -> person"
        in outputs["lineal schema diff schema/render-train@v1 schema/render-train@v2"]
    )
    assert outputs["lineal policy check --all"].startswith(f"{MODEL}@v2 passes policy")


def test_the_demo_wants_a_new_folder(tmp_path: Path, lineal_cli: Cli) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    done = lineal_cli("demo", "busy", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("error: busy is not empty")
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
