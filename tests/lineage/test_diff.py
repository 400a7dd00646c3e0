"""lineal.lineage.diff and `lineal diff` for runs and models: what changed upstream, ranked.

Real workspaces (datasets snapshotted into the object cache, so file counts are known) and,
for the contract test, both store backends through the ``store`` fixture.
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import lineal
from lineal import datasets
from lineal.client import Lineal
from lineal.errors import InvalidInput, NotFound
from lineal.lineage.diff import (
    CATEGORIES,
    Change,
    LineageDiff,
    MetricChange,
    diff,
    is_file_diff,
    is_ml_package,
    run_of,
)
from lineal.model.entities import Artifact, Run
from lineal.store.base import Store

Cli = Callable[..., "subprocess.CompletedProcess[str]"]
ENV_A = {"python": {"version": "3.11.9"}, "packages": {"torch": "2.1.0", "requests": "2.31.0"}}
ENV_B = {"python": {"version": "3.11.9"}, "packages": {"torch": "2.2.0", "requests": "2.31.0"}}


def _env(repo: Lineal, body: dict[str, Any]) -> Artifact:
    return repo.record_artifact("env", data=json.dumps(body).encode(), meta=body)


def _train(
    repo: Lineal,
    ws: Path,
    *,
    data: str,
    env: Artifact,
    lr: float,
    map_: float,
    weights: bytes,
    seed: int = 7,
) -> Run:
    with lineal.start_run(
        "train", params={"lr": lr, "epochs": 10}, seed=seed, repo=repo, capture=False
    ) as run:
        run.use(data, role="train")
        repo.link("used", env, run.ref, role="env")
        for step in range(3):
            run.log({"loss": 1.0 / (step + 1)}, step=step)
        run.summary(mAP=map_)
        (ws / "model.pt").write_bytes(weights)
        run.log_model(ws / "model.pt", name="detector")
    found = repo.resolve(run.ref)
    assert isinstance(found, Run)
    return found


@pytest.fixture
def two_runs(ws: Path, repo: Lineal) -> tuple[Run, Run]:
    """Two training runs that differ in one file of their data, one param, one package."""
    data = ws / "street"
    data.mkdir()
    for index in range(4):
        (data / f"img{index}.txt").write_text(f"image {index}")
    datasets.add(repo, [data], name="street")
    (data / "img2.txt").write_text("image 2, relabelled")
    datasets.add(repo, [data], name="street")
    env_a, env_b = _env(repo, ENV_A), _env(repo, ENV_B)
    first = _train(repo, ws, data="dataset/street@v1", env=env_a, lr=0.01, map_=0.5, weights=b"1")
    second = _train(repo, ws, data="dataset/street@v2", env=env_b, lr=0.02, map_=0.6, weights=b"2")
    return first, second


def _summary(result: LineageDiff) -> list[tuple[str, str, Any, Any]]:
    return [(c.category, c.subject, c.before, c.after) for c in result.changes]


def test_two_runs_differ_in_exactly_the_three_changes_ranked(
    repo: Lineal, two_runs: tuple[Run, Run]
) -> None:
    first, second = two_runs
    result = diff(repo, first.ref, second.ref)
    assert (result.run_a, result.run_b) == (first.ref, second.ref)
    assert _summary(result) == [
        ("dataset", "dataset/street", "dataset/street@v1", "dataset/street@v2"),
        ("param", "lr", 0.01, 0.02),
        ("package", "torch", "2.1.0", "2.2.0"),
    ]
    data, param, package = result.changes
    assert data.detail["added"] == data.detail["removed"] == 0
    assert data.detail["modified"] == 1
    assert data.detail["files"] == 4
    assert data.score == pytest.approx(60 + 35 / 4)
    assert param.score == 40.0
    assert package.detail == {"change": "changed", "ml": True}
    assert package.score == 22.0  # an ML package, a minor version apart
    assert [m.key for m in result.metrics] == ["loss", "mAP"]
    loss, map_ = result.metrics
    assert (loss.before, loss.after, loss.delta, loss.changed) == (1 / 3, 1 / 3, 0.0, False)
    assert (map_.before, map_.after, map_.changed) == (0.5, 0.6, True)
    assert map_.delta == pytest.approx(0.1)


def test_identical_runs_have_no_changes(ws: Path, repo: Lineal, two_runs: tuple[Run, Run]) -> None:
    first, _ = two_runs
    env = _env(repo, ENV_A)  # the same bytes: the same env artifact
    again = _train(repo, ws, data="dataset/street@v1", env=env, lr=0.01, map_=0.5, weights=b"1")
    result = diff(repo, first.ref, again.ref)
    assert result.changes == ()
    assert not any(m.changed for m in result.metrics)
    assert diff(repo, first.ref, first.ref).changes == ()


def test_models_are_compared_through_the_runs_that_generated_them(
    repo: Lineal, two_runs: tuple[Run, Run]
) -> None:
    first, second = two_runs
    by_model = diff(repo, "model/detector@v1", "model/detector@v2")
    assert (by_model.a, by_model.b) == ("model/detector@v1", "model/detector@v2")
    assert (by_model.run_a, by_model.run_b) == (first.ref, second.ref)
    assert _summary(by_model) == _summary(diff(repo, first.ref, second.ref))
    assert run_of(repo, "model/detector@v2").id == second.id
    mixed = diff(repo, "model/detector@v1", second.ref)  # a model and a run: both runs
    assert mixed.run_a == first.ref


def test_bad_pairs_and_orphans_get_one_error_with_a_hint(
    repo: Lineal, two_runs: tuple[Run, Run]
) -> None:
    first, _ = two_runs
    with pytest.raises(InvalidInput, match="cannot diff") as caught:
        is_file_diff(repo, first.ref, "dataset/street@v1")
    assert "two dataset versions" in (caught.value.hint or "")
    assert is_file_diff(repo, "street@v1", "dataset/street@v2")
    assert not is_file_diff(repo, first.ref, "model/detector")
    repo.record_artifact("model", data=b"downloaded", name="pretrained")
    with pytest.raises(InvalidInput, match="no recorded run generated") as orphan:
        diff(repo, "model/pretrained", first.ref)
    assert orphan.value.hint
    with pytest.raises(NotFound):
        diff(repo, "model/missing", first.ref)


def test_json_is_plain_data(repo: Lineal, two_runs: tuple[Run, Run]) -> None:
    first, second = two_runs
    body = json.loads(json.dumps(diff(repo, first.ref, second.ref).as_dict(), allow_nan=False))
    assert body["runs"] == {"a": first.ref, "b": second.ref}
    assert [c["category"] for c in body["changes"]] == ["dataset", "param", "package"]
    assert body["metrics"][1] == {
        "key": "mAP", "a": 0.5, "b": 0.6, "delta": pytest.approx(0.1), "changed": True,
    }  # fmt: skip
    nan = MetricChange(key="x", before=math.nan, after=1.0)
    assert nan.as_dict() == {"key": "x", "a": "NaN", "b": 1.0, "delta": "NaN", "changed": True}
    assert not MetricChange(key="x", before=math.nan, after=math.nan).changed
    assert MetricChange(key="x", before=None, after=1.0).delta is None


def test_packages_that_can_move_metrics() -> None:
    for name in ("torch", "numpy", "nvidia-cudnn-cu12", "jaxlib", "cupy-cuda12x", "tensorflow"):
        assert is_ml_package(name), name
    for name in ("requests", "rich", "pyyaml"):
        assert not is_ml_package(name), name
    with pytest.raises(InvalidInput, match="bad category"):
        Change(category="vibes", subject="x", before=1, after=2, detail={}, score=1.0)
    assert len(set(CATEGORIES)) == len(CATEGORIES)


# -- the command line ------------------------------------------------------------------------


def test_cli_prints_the_effect_then_the_causes(
    ws: Path, two_runs: tuple[Run, Run], lineal_cli: Cli
) -> None:
    done = lineal_cli("diff", "model/detector@v1", "model/detector@v2", cwd=ws)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.index("metrics (the effect):") < text.index("likeliest cause first")
    assert "  mAP: 0.5 -> 0.6  (+0.1)" in text
    assert text.index("dataset/street@v1 -> dataset/street@v2") < text.index("lr: 0.01 -> 0.02")
    assert text.index("lr: 0.01 -> 0.02") < text.index("torch: 2.1.0 -> 2.2.0")
    assert "0 added, 0 removed, 1 modified of 4 files" in text
    body = json.loads(lineal_cli("diff", *(r.ref for r in two_runs), "--json", cwd=ws).stdout)
    assert [c["subject"] for c in body["changes"]] == ["dataset/street", "lr", "torch"]


def test_cli_keeps_the_file_diff_and_refuses_mixed_pairs(
    ws: Path, two_runs: tuple[Run, Run], lineal_cli: Cli
) -> None:
    files = lineal_cli("diff", "dataset/street@v1", "dataset/street@v2", "--json", cwd=ws)
    assert files.returncode == 0, files.stderr
    assert json.loads(files.stdout)["summary"]["modified"] == 1
    mixed = lineal_cli("diff", two_runs[0].ref, "dataset/street@v2", cwd=ws)
    assert mixed.returncode == 1
    lines = mixed.stderr.splitlines()
    assert lines[0].startswith("error: cannot diff run/")
    assert lines[1].startswith("hint: `lineal diff` compares two dataset versions")
    unknown = lineal_cli("diff", "model/nope", two_runs[0].ref, cwd=ws)
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("error: no model named 'nope'")


# -- every category, ranked, on both backends ---------------------------------------------------
def _side(lin: Lineal, tag: str, **values: Any) -> Run:
    """A run whose upstream holds a dataset labelled with a schema and rendered from a scene,
    a code state, an environment, and an upstream run that made the dataset."""
    schema = lin.record_artifact("schema", data=values["schema"], name="coco")
    scene = lin.record_artifact("scene", data=values["scene"], name="street")
    raw = lin.record_artifact("dataset", data=b"raw", name="raw")
    prep = lin.start_run("prepare", params={"threshold": values["threshold"]})
    data = lin.record_artifact("dataset", data=values["data"], name="synth")
    lin.link("used", raw, prep)
    lin.link("generated", prep, data)
    lin.link("labeled_with", schema, data)
    lin.link("rendered_from", scene, data)
    params = {"lr": values["lr"], "split.val": {"fraction": values["val"], "seed": 1}}
    run = lin.start_run("train", params=params, meta={"seed": values["seed"]})
    lin.link("used", data, run, role="train")
    code = {"commit": values["commit"], "diff": None}
    lin.link("used", lin.record_artifact("code", data=tag.encode() + b"c", meta=code), run)
    env = {
        "python": {"version": values["python"]},
        "packages": {"numpy": values["numpy"], "rich": values["rich"]},
        "os": {"system": "Linux"},
        "container": None,
    }
    lin.link("used", lin.record_artifact("env", data=tag.encode() + b"e", meta=env), run)
    lin.log_metrics(run, {"mAP": values["map"]}, step=1)
    return lin.finish_run(run)


A = {
    "schema": b"s1", "scene": b"u1", "data": b"d1", "threshold": 0.5, "lr": 0.1, "val": 0.1,
    "seed": 1, "commit": "aaa", "python": "3.11.9", "numpy": "1.26.4", "rich": "13.0.0",
    "map": 0.7,
}  # fmt: skip
B = {
    "schema": b"s2", "scene": b"u2", "data": b"d2", "threshold": 0.6, "lr": 0.2, "val": 0.2,
    "seed": 2, "commit": "bbb", "python": "3.12.1", "numpy": "2.0.0", "rich": "13.1.0",
    "map": math.nan,
}  # fmt: skip


def test_every_category_in_the_documented_order(store: Store) -> None:
    lin = Lineal(store)  # no workspace: no manifests, so dataset file counts are unknown
    first, second = _side(lin, "a", **A), _side(lin, "b", **B)
    result = diff(lin, first.ref, second.ref)
    assert [(c.category, c.subject, c.score) for c in result.changes] == [
        ("schema", "schema of train data", 100.0),  # the labels of the train data
        ("dataset", "dataset/synth", 77.5),
        ("scene", "scene/street", 75.0),
        ("code", "commit", 50.0),
        ("param", "lr", 40.0),
        ("seed", "seed", 38.0),
        ("split", "split.val", 36.0),
        ("upstream-param", "prepare: threshold", 30.0),
        ("python", "python", 24.0),
        ("package", "numpy", 23.0),
        ("package", "rich", 7.0),
    ]
    synth = result.changes[1]
    assert synth.detail["fraction"] is None
    assert synth.detail["files_unknown"] == "no object cache"
    assert (synth.before, synth.after) == ("dataset/synth@v1", "dataset/synth@v2")
    (metric,) = result.metrics
    assert metric.before == 0.7
    assert metric.after is not None
    assert math.isnan(metric.after)
    assert metric.changed
    assert diff(lin, first.ref, first.ref).changes == ()


def test_earlier_versions_behind_a_used_one_are_history_not_inputs(
    ws: Path, repo: Lineal, lineal_cli: Cli
) -> None:
    """scene v2 derived_from v1 (its previous version): a run that used v2 did not use v1,
    so the diff says `scene/street@v1 -> scene/street@v2`, not `… -> v1, v2`; a run header
    names a run once; unknown file counts say how to fetch the manifests."""
    v1 = repo.record_artifact("scene", data=b"usd 1", name="street")
    v2 = repo.record_artifact("scene", data=b"usd 2", name="street")
    repo.link("derived_from", v1, v2, role="previous")
    data = [repo.record_artifact("dataset", data=f"d{i}".encode(), name="d") for i in (1, 2)]
    runs = []
    for scene, dataset in zip((v1, v2), data, strict=True):
        run = repo.start_run("render")
        repo.link("used", scene, run, role="scene")
        repo.link("used", dataset, run, role="train")
        runs.append(repo.finish_run(run))
    result = diff(repo, runs[0].ref, runs[1].ref)
    scene = next(c for c in result.changes if c.subject == "scene/street")
    assert (scene.before, scene.after) == ("scene/street@v1", "scene/street@v2")
    dataset = next(c for c in result.changes if c.subject == "dataset/d")
    assert (
        "`lineal pull dataset/d@v1 dataset/d@v2` fetches the manifests"
        in (dataset.detail["files_unknown"])
    )
    text = lineal_cli("diff", runs[0].ref, runs[1].ref, cwd=ws).stdout
    assert text.splitlines()[0] == f"{runs[0].ref} -> {runs[1].ref}"


def test_a_changed_config_is_compared_without_reading_it_as_a_manifest(
    repo: Lineal, lineal_cli: Cli, ws: Path
) -> None:
    """A randomization config is JSON, not a file listing: its versions differ as a whole."""
    cache = datasets.objects(repo)
    runs = []
    for seed in (1, 2):
        body = json.dumps({"seed": seed}).encode()
        cache.add_bytes(body)
        config = repo.record_artifact("config", data=body, name="rand")
        run = repo.start_run("render")
        repo.link("used", config, run, role="randomization")
        runs.append(repo.finish_run(run))
    result = diff(repo, runs[0].ref, runs[1].ref)
    (change,) = [c for c in result.changes if c.subject == "config/rand"]
    assert (change.before, change.after) == ("config/rand@v1", "config/rand@v2")
    assert "files_unknown" not in change.detail
    assert lineal_cli("diff", runs[0].ref, runs[1].ref, cwd=ws).returncode == 0
