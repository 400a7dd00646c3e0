"""The report's quality sections on the demo store: validation rules of lineal.toml on every
dataset, and a model whose evaluation data was copied into its training data under new names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("pxr")
pytest.importorskip("sklearn")

from lineal.client import Lineal
from lineal.datasets import add
from lineal.model.entities import Artifact
from lineal.report.facts import gather
from lineal.report.render import html
from lineal.tracking.runs import start


def _leaky_model(here: Path, repo: Lineal) -> Artifact:
    leaky = here / "render-train-leaky"
    shutil.copytree(here / "render-train", leaky)
    for number, image in enumerate(sorted((here / "render-eval/images").glob("*.png"))[:5]):
        shutil.copyfile(image, leaky / "images" / f"extra_{number:04d}.png")
    data = add(repo, [leaky], name="render-train-leaky").artifact
    benchmark = repo.resolve("dataset/render-eval:eval-approved")
    trained = start(repo, "train-classifier", capture_env=False)
    trained.use(data, role="train")
    (here / "leaky.npz").write_bytes(b"weights: only their lineage matters here")
    model = trained.log_model(
        here / "leaky.npz", name="street-classifier", register="street-classifier"
    )
    trained.finish()
    evaluation = start(repo, "evaluate-classifier", capture_env=False)
    evaluation.use(model, role="model")
    evaluation.use(benchmark, role="eval")
    evaluation.finish()
    return model


def test_the_report_carries_leakage_and_validation(demo_copy: Path) -> None:
    rules = '\n[rules."render-*"]\nrequired_classes = ["car", "cone", "person"]\n'
    toml = demo_copy / "lineal.toml"
    toml.write_text(toml.read_text() + rules)
    with Lineal.open(path=demo_copy) as repo:
        model = _leaky_model(demo_copy, repo)
        report = gather(repo, f"model/street-classifier@v{model.version}", verify=False)
        clean = gather(repo, "model/street-classifier:production", verify=False)
    (leak,) = report.findings["Train/eval leakage"]
    assert leak["verdict"] == "fail"
    assert "5 file(s) of the eval data" in leak["detail"]
    assert [row["verdict"] for row in clean.findings["Train/eval leakage"]] == ["pass"]
    checked = {
        (row["subject"], row["check"]): row["verdict"]
        for row in report.findings["Validation rules"]
    }
    assert checked[("dataset/render-train-leaky@v1", "required_classes")] == "pass"
    assert checked[("dataset/render-eval@v2", "required_classes")] == "pass"
    assert not any("no validation rule" in item for item in report.missing)
    page = html(report)
    assert 'Quality checks failed: <span class="bad">1</span>' in page
