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
    repo.set_tag(data, "classification", "pii")
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
    failed = sum(
        row["verdict"] in ("fail", "drift") for rows in report.findings.values() for row in rows
    )
    assert failed >= 1
    assert f'Quality findings (failed or drifted): <span class="bad">{failed}</span>' in page
    # The demo's renamed class drifted between the training set's versions.
    drifted = {
        (row["subject"], row["check"].split()[1])
        for row in clean.findings["Drift from the version before"]
        if row["verdict"] == "drift"
    }
    assert ("dataset/render-train@v2", "schema") in drifted
    assert [row["verdict"] for row in clean.findings["Staleness"]] == ["pass"]
    # The PII tag on the leaky training set reaches the model trained on it, not the other.
    (carried,) = report.findings["Classifications"]
    assert carried["detail"].startswith("pii from dataset/render-train-leaky@v1")
    assert clean.findings["Classifications"] == []
