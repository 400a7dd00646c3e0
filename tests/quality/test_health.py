"""Lineage health and staleness: coverage, stale models and why, freshness per pipeline,
orphans and crashed runs, on a store built for each case and on the demo's store."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.model.digests import digest_bytes
from lineal.model.entities import Artifact, Run
from lineal.quality.health import health
from lineal.quality.stale import stale
from lineal.store import liveness


def _digest(text: str) -> str:
    return digest_bytes(text.encode())


def _train(
    repo: Lineal,
    data: Artifact,
    code: Artifact | None,
    model: str,
    *,
    env: Artifact | None = None,
) -> tuple[Run, Artifact]:
    run = repo.start_run("train")
    repo.link("used", data, run, role="train")
    if code is not None:
        repo.link("used", code, run, role="code")
    if env is not None:
        repo.link("used", env, run, role="env")
    made = repo.record_artifact("model", digest=_digest(f"{model}-{run.id}"), name=model)
    repo.link("generated", run, made)
    repo.finish_run(run)
    return run, made


@pytest.fixture
def story(repo: Lineal) -> dict[str, Any]:
    """Model a@v1 trained on data@v1 with code c1 and an environment, evaluated on the
    approved held-out set; then data@v2 and a newer train run on code c2 (model b)."""
    stated = {"license": "MIT", "source": "https://example.org/data"}
    data1 = repo.record_artifact("dataset", digest=_digest("d1"), name="data", meta=stated)
    held = repo.record_artifact("dataset", digest=_digest("h"), name="held-out", meta=stated)
    repo.set_alias("dataset/held-out@v1", "eval-approved")
    c1 = repo.record_artifact("code", digest=_digest("c1"), meta={"commit": "1" * 40})
    c2 = repo.record_artifact("code", digest=_digest("c2"), meta={"commit": "2" * 40})
    env = repo.record_artifact("env", digest=_digest("env"))
    _, model_a = _train(repo, data1, c1, "a", env=env)
    evaluation = repo.start_run("evaluate")
    repo.link("used", model_a, evaluation, role="model")
    repo.link("used", held, evaluation, role="eval")
    repo.finish_run(evaluation)
    data2 = repo.record_artifact("dataset", digest=_digest("d2"), name="data")
    _, model_b = _train(repo, data2, c2, "b")  # no env, no licence on data@v2, no evaluation
    orphan = repo.record_artifact("dataset", digest=_digest("o"), name="unused", meta=stated)
    return {"a": model_a, "b": model_b, "orphan": orphan}


def test_stale_says_which_input_has_which_newer_version(repo: Lineal, story: Any) -> None:
    report = stale(repo)
    assert report.checked == 2
    (found,) = report.stale
    assert found.model == "model/a@v1"
    assert found.latest
    reasons = {r.kind: r for r in found.reasons}
    assert reasons["dataset"].input == "dataset/data@v1"
    assert reasons["dataset"].newer == "dataset/data@v2"
    # The pipeline `train` now runs code c2: a's training run ran c1.
    assert reasons["code"].detail == f"pipeline train now runs code {'2' * 12}, not {'1' * 12}"
    assert stale(repo, "model/b").stale == []
    assert stale(repo, "a").as_dict()["count"] == 1
    with pytest.raises(InvalidInput, match="not a model version"):
        stale(repo, "dataset/data")


def test_health_numbers_and_lists(repo: Lineal, story: Any) -> None:
    report = health(repo).as_dict()
    coverage = report["coverage"]
    assert (coverage["number"], coverage["of"]) == (0.5, 2)
    (gaps,) = coverage["items"]
    assert gaps["model"] == "model/b@v1"
    assert any("has no recorded env" in gap for gap in gaps["gaps"])
    assert "dataset/data@v2 has no license or source" in gaps["gaps"]
    assert "no evaluation on approved data" in gaps["gaps"]
    assert report["staleness"]["number"] == 1
    assert report["staleness"]["items"][0]["model"] == "model/a@v1"
    assert [one["artifact"] for one in report["orphans"]["items"]] == ["dataset/unused@v1"]
    pipelines = {one["pipeline"]: one for one in report["freshness"]["items"]}
    assert set(pipelines) == {"train", "evaluate"}
    assert pipelines["train"]["runs"] == 2
    assert report["freshness"]["number"] == 0
    assert report["crashed"]["number"] == 0


def test_freshness_counts_pipelines_not_run_lately(repo: Lineal, story: Any) -> None:
    later = datetime.now(UTC) + timedelta(days=45)
    report = health(repo, now=later, days=30).as_dict()
    assert report["freshness"]["number"] == 2
    assert all(not one["fresh"] for one in report["freshness"]["items"])
    assert health(repo, now=later, days=60).as_dict()["freshness"]["number"] == 0


def test_a_dead_running_run_is_crashed(repo: Lineal) -> None:
    run = repo.start_run("ingest")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    repo.store.beat(run.id, liveness.host(), gone.pid, None)
    crashed = health(repo).as_dict()["crashed"]
    assert crashed["number"] == 1
    assert crashed["items"][0]["run"] == run.ref


def test_approved_data_follows_the_policy_alias(repo: Lineal, story: Any, ws: Path) -> None:
    # A policy naming another evaluation alias: held-out (eval-approved) no longer counts.
    (ws / "lineal.toml").write_text('[policy.production]\neval_alias = "benchmark"\n')
    with Lineal.open(path=ws) as again:
        coverage = health(again).as_dict()["coverage"]
    assert coverage["number"] == 0.0
    assert any("no evaluation on approved data" in one["gaps"] for one in coverage["items"])


# -- the demo's store (read only: the session's demo_pristine) ---------------------------------
@pytest.fixture
def demo(demo_pristine: Path) -> Path:
    pytest.importorskip("pxr")
    pytest.importorskip("sklearn")
    pytest.importorskip("PIL")
    return demo_pristine


def test_the_demo_model_trained_before_the_new_data_is_stale(demo: Path) -> None:
    with Lineal.open(path=demo, write=False) as repo:
        report = stale(repo)
        assert report.checked == 2
        (found,) = report.stale  # v2 was trained on the newest data, scene and schema
        assert found.model == "model/street-classifier@v1"
        assert not found.latest
        pairs = {(r.input, r.newer) for r in found.reasons}
        assert ("dataset/render-train@v1", "dataset/render-train@v2") in pairs
        assert ("scene/street@v1", "scene/street@v2") in pairs
        assert ("schema/render-train@v1", "schema/render-train@v2") in pairs
        body = health(repo).as_dict()
    assert body["staleness"]["number"] == 1
    assert body["coverage"]["of"] == 2
    assert body["crashed"]["number"] == 0
    assert {one["pipeline"] for one in body["freshness"]["items"]} >= {
        "train-classifier",
        "evaluate-classifier",
    }


def test_the_demo_rename_is_drift(demo: Path) -> None:
    from lineal.quality.drift import drift

    with Lineal.open(path=demo, write=False) as repo:
        report = drift(repo, "dataset/render-train@v1", "dataset/render-train@v2")
    verdicts = {one.name: one.verdict for one in report.measures}
    assert verdicts["schema"] == "drift"
    assert report.schema is not None
    assert [(r["before"], r["after"]) for r in report.schema["renamed"]] == [
        ("pedestrian", "person")
    ]
    assert verdicts["class_js"] == "drift"
    assert verdicts["file_count"] == verdicts["image_size"] == "ok"
