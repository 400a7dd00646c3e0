"""Rules and leakage on the demo store (`lineal demo`): its own runs are clean and its rendered
sets pass and fail rules as their classes say; eval images copied into a training folder
under new names are found, on the run and through the production policy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("pxr")
pytest.importorskip("sklearn")
pytest.importorskip("PIL")

from lineal.client import Lineal
from lineal.datasets import add
from lineal.model.entities import Artifact, Run
from lineal.quality.check import check, check_version
from lineal.quality.leakage import model_leakage, run_leaks
from lineal.quality.rules import parse
from lineal.registry.grants import apply
from lineal.registry.promote import check as policy_check
from lineal.tracking.runs import start
from lineal.tracking.search import search_runs

MODEL = "model/street-classifier"


def _artifact(repo: Lineal, ref: str) -> Artifact:
    found = repo.resolve(ref)
    assert isinstance(found, Artifact)
    return found


def test_the_demo_has_no_leak_and_its_sets_meet_their_rules(demo_pristine: Path) -> None:
    with Lineal.open(path=demo_pristine) as repo:
        evaluations = search_runs(repo, "name = evaluate-classifier")
        assert len(evaluations) == 3
        for run in evaluations:  # each compared with its model's training set, none shared
            found = run_leaks(repo, run)
            assert [(one.leaked, one.unknown) for one in found] == [(False, ())]
        report = check(repo, f"{MODEL}@v2")
        assert report.ok
        assert {one.verdict for one in report.findings} == {"pass"}
        rules = parse(
            {
                "rules": {
                    "render-*": {
                        "min_images": 120,
                        "required_classes": ["car", "cone", "person"],
                        "max_duplicate_share": 0.0,
                        "annotation_sanity": True,
                    }
                }
            }
        )
        verdicts = {}
        for ref in ("dataset/render-train@v1", "dataset/render-train@v2"):
            found = check_version(repo, _artifact(repo, ref), rules)
            verdicts[ref] = {one.rule: one.verdict for one in found}
        # v1 calls people "pedestrian": the renamed class is missing there.
        assert verdicts["dataset/render-train@v1"] == {
            "min_images": "pass",
            "required_classes": "fail",
            "max_duplicate_share": "pass",
            "boxes_inside": "pass",
        }
        assert verdicts["dataset/render-train@v2"]["required_classes"] == "pass"


def test_eval_images_copied_into_training_under_new_names_are_found(demo_copy: Path) -> None:
    here = demo_copy
    leaky = here / "render-train-leaky"
    shutil.copytree(here / "render-train", leaky)
    copied = sorted((here / "render-eval/images").glob("*.png"))[:12]
    for number, image in enumerate(copied):
        shutil.copyfile(image, leaky / "images" / f"extra_{number:04d}.png")
    with Lineal.open(path=here) as repo:
        data = add(repo, [leaky], name="render-train-leaky").artifact
        benchmark = _artifact(repo, "dataset/render-eval:eval-approved")
        trained = start(repo, "train-classifier", capture_env=False)
        trained.use(data, role="train")
        weights = here / "leaky.npz"
        weights.write_bytes(b"not trained: only its lineage matters here")
        model = trained.log_model(weights, name="street-classifier", register="street-classifier")
        trained.finish()
        evaluation = start(repo, "evaluate-classifier", capture_env=False)
        evaluation.use(model, role="model")
        evaluation.use(benchmark, role="eval")
        evaluation.finish()
        run = repo.resolve(evaluation.ref)
        assert isinstance(run, Run)
        (leak,) = run_leaks(repo, run)
        assert leak.shared == 12
        assert leak.trained_by == trained.ref
        assert leak.examples[0].train.startswith("dataset/render-train-leaky@v1:images/extra_")
        assert leak.examples[0].eval.startswith(f"{benchmark.ref}:images/")
        assert [one.shared for one in model_leakage(repo, model)] == [12]
        # The demo's production policy, with no_leakage added, now refuses this version.
        policy = here / "lineal.toml"
        policy.write_text(
            policy.read_text().replace(
                "schema_match = true", "schema_match = true\nno_leakage = true"
            )
        )
        apply(repo)
        _, _, outcomes = policy_check(repo, f"street-classifier@v{model.version}", "production")
        (no_leak,) = [one for one in outcomes if one.check == "no leakage"]
        assert not no_leak.passed
        assert "12 file(s) of the eval data" in no_leak.detail
        _, _, current = policy_check(repo, f"{MODEL}@v2".removeprefix("model/"), "production")
        assert [o.passed for o in current if o.check == "no leakage"] == [True]
        assert repo.verify().ok
