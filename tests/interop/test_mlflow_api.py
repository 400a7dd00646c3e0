"""The MLflow-compatible tracking API, driven by the real `mlflow` client against a live
`lineal server`: a training script records into lineal unchanged, with lineage."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mlflow_api_support import DEFAULT, LOCKED, NAMED, QUIET, Site, serve

from server_process import LINEAL_BIN

TRAINING = """
import json, os, sys, tempfile
import numpy as np
import mlflow
from mlflow import MlflowClient

mlflow.set_experiment("vision / detector")
with mlflow.start_run(run_name="baseline") as run:
    mlflow.log_params({"lr": 0.01, "epochs": 3})
    mlflow.log_param("optimizer", "adam")
    for step in range(3):
        mlflow.log_metrics({"loss": 1.0 / (step + 1), "acc": 0.3 * step}, step=step)
        mlflow.log_metric("lr_now", 0.01 * 0.5 ** step, step=step)
    mlflow.set_tag("stage", "dev")
    features = np.arange(20.0).reshape(10, 2)
    data = mlflow.data.from_numpy(features, source="s3://bucket/train.npy", name="toy-train")
    mlflow.log_input(data, context="training")
    folder = tempfile.mkdtemp()
    notes = os.path.join(folder, "notes.txt")
    with open(notes, "w") as out:
        out.write("first model")
    mlflow.log_artifact(notes)
    mlflow.log_artifact(notes, artifact_path="reports/text")
with mlflow.start_run(run_name="worse"):
    mlflow.log_param("optimizer", "sgd")
    mlflow.log_metric("acc", 0.1)

client = MlflowClient()
experiment = run.info.experiment_id
found = client.search_runs(
    [experiment], filter_string="metrics.acc > 0.5 and params.optimizer = 'adam'"
)
ordered = client.search_runs([experiment], order_by=["metrics.acc ASC"])
got = client.get_run(run.info.run_id)
root = client.list_artifacts(run.info.run_id)
deeper = mlflow.artifacts.list_artifacts(artifact_uri=got.info.artifact_uri + "/reports/text")
copy = client.download_artifacts(run.info.run_id, "reports/text/notes.txt", tempfile.mkdtemp())
print(json.dumps({
    "run": run.info.run_id,
    "experiment": experiment,
    "found": [one.info.run_id for one in found],
    "ordered": [one.info.run_name for one in ordered],
    "history": [[m.step, m.value] for m in client.get_metric_history(run.info.run_id, "loss")],
    "params": got.data.params,
    "metrics": got.data.metrics,
    "tags": got.data.tags,
    "status": got.info.status,
    "inputs": [[i.dataset.name, i.dataset.source_type, [t.value for t in i.tags]]
               for i in got.inputs.dataset_inputs],
    "root": sorted([f.path, f.is_dir] for f in root),
    "deeper": [[f.path, f.file_size] for f in deeper],
    "copy": open(copy).read(),
}))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from serve(tmp_path_factory)


def _cli(site: Site, *args: str, project: str = DEFAULT) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    env["LINEAL_URI"] = f"{site.url}/projects/{project}"
    done = subprocess.run(
        [str(LINEAL_BIN), *args, "--json"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_training_script_records_into_lineal_unchanged(site: Site, tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(TRAINING)
    env = {**os.environ, **QUIET, "MLFLOW_TRACKING_URI": site.tracking()}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, check=False,
        cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    run = seen["run"]
    assert seen["found"] == [run]
    assert seen["ordered"] == ["worse", "baseline"]
    assert seen["history"] == [[0, 1.0], [1, 0.5], [2, 1 / 3]]
    assert seen["params"] == {"lr": "0.01", "epochs": "3", "optimizer": "adam"}
    assert seen["metrics"] == {"loss": 1 / 3, "acc": 0.6, "lr_now": 0.0025}
    assert seen["tags"]["stage"] == "dev"
    assert seen["tags"]["mlflow.runName"] == "baseline"
    assert seen["status"] == "FINISHED"
    assert seen["inputs"] == [["toy-train", "s3", ["training"]]]
    assert seen["root"] == [["notes.txt", False], ["reports", True]]
    assert seen["deeper"] == [["text/notes.txt", 11]]
    assert seen["copy"] == "first model"

    # What lineal itself shows of that run, read through the server as any client reads it.
    shown = _cli(site, "show", f"run/{run}")
    assert shown["status"] == "finished"
    assert shown["name"] == "vision-detector"
    assert shown["params"] == {"lr": "0.01", "epochs": "3", "optimizer": "adam"}
    assert shown["metrics"]["loss"] == {"step": 2, "value": 1 / 3}
    assert shown["metric_points"] == 9
    assert shown["meta"]["mlflow"] == {
        "run_id": run, "run_name": "baseline", "experiment_id": seen["experiment"],
        "experiment": "vision / detector", "user": shown["meta"]["mlflow"]["user"],
    }  # fmt: skip
    assert [(e["kind"], e["role"], e["ref"]) for e in shown["upstream"]] == [
        ("used", "training", "dataset/toy-train@v1")
    ]
    made = sorted(e["ref"] for e in shown["downstream"])
    assert made == ["file/notes.txt@v1", "file/reports-text-notes.txt@v1"]
    upstream = _cli(site, "upstream", f"run/{run}")
    refs = {node["label"] for node in upstream["nodes"]}
    assert refs == {f"run/{run}", "dataset/toy-train@v1"}
    # What the run wrote has the run and its input dataset upstream.
    upstream = _cli(site, "upstream", "file/reports-text-notes.txt")
    assert {node["label"] for node in upstream["nodes"]} == {
        "file/reports-text-notes.txt@v1", f"run/{run}", "dataset/toy-train@v1"
    }  # fmt: skip
    points = _cli(site, "metrics", f"run/{run}")
    assert points["acc"]["steps"] == [0, 1, 2]


def _client(site: Site, project: str | None = None, token: str | None = None) -> Any:
    from mlflow import MlflowClient

    if token is None:
        os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
    else:
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
    return MlflowClient(tracking_uri=site.tracking(project))


def test_a_named_project_takes_a_batch_of_a_thousand_metrics_in_one_append(
    site: Site, request: pytest.FixtureRequest
) -> None:
    from mlflow.entities import Metric, Param, RunTag

    client = _client(site, NAMED)
    experiment = client.create_experiment("batches")
    run = client.create_run(experiment, run_name="big", tags={"team": "perception"})
    repo = site.repo(NAMED)
    request.addfinalizer(repo.close)
    before = repo.store.head()[0]
    metrics = [Metric(f"m{i % 10}", float(i), 1_700_000_000_000 + i, i // 10) for i in range(1000)]
    client.log_batch(run.info.run_id, metrics=metrics)
    assert [one["op"] for one in repo.log(limit=10) if one["seq"] > before] == ["metrics.batch"]
    before = repo.store.head()[0]
    client.log_batch(run.info.run_id, params=[Param("seed", "7")], tags=[RunTag("k", "v")])
    added = sorted(one["op"] for one in repo.log(limit=10) if one["seq"] > before)
    assert added == ["run.params", "tag.set"]
    history = client.get_metric_history(run.info.run_id, "m3")
    assert [(m.step, m.value, m.timestamp) for m in history[:2]] == [
        (0, 3.0, 1_700_000_000_003), (1, 13.0, 1_700_000_000_013)
    ]  # fmt: skip
    assert len(history) == 100
    # The named project holds it; the default project does not.
    assert repo.show(f"run/{run.info.run_id}")["metric_points"] == 1000
    with pytest.raises(Exception, match="RESOURCE_DOES_NOT_EXIST"):
        _client(site).get_run(run.info.run_id)
    client.set_terminated(run.info.run_id, "KILLED")
    assert repo.show(f"run/{run.info.run_id}")["status"] == "killed"


def test_inputs_logged_twice_append_nothing_and_a_parent_run_is_linked(
    site: Site, request: pytest.FixtureRequest
) -> None:
    from mlflow.entities import Dataset, DatasetInput, InputTag

    client = _client(site, NAMED)
    parent = client.create_run("0", run_name="sweep")
    child = client.create_run("0", tags={"mlflow.parentRunId": parent.info.run_id})
    data = Dataset("eval set", "d1f2a3b4", "local", '{"uri": "/data/eval"}', None, None)
    used = DatasetInput(data, [InputTag("mlflow.data.context", "validation")])
    client.log_inputs(child.info.run_id, [used])
    repo = site.repo(NAMED)
    request.addfinalizer(repo.close)
    before = repo.store.head()[0]
    client.log_inputs(child.info.run_id, [used])
    assert repo.store.head()[0] == before
    edges = {(e.kind, e.parent, e.role) for e in repo.edges(f"run/{child.info.run_id}")}
    dataset = repo.resolve("dataset/eval-set")
    assert edges == {
        ("informed_by", f"run/{parent.info.run_id}", None),
        ("used", dataset.node, "validation"),  # type: ignore[union-attr]
    }
    assert dataset.meta["mlflow_digest"] == "d1f2a3b4"  # type: ignore[union-attr]
    got = client.get_run(child.info.run_id).inputs.dataset_inputs
    assert [(one.dataset.name, one.dataset.digest) for one in got] == [("eval set", "d1f2a3b4")]
    assert client.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == (parent.info.run_id)


def test_nan_and_infinities_travel_both_ways(site: Site) -> None:
    client = _client(site, NAMED)
    run = client.create_run("0")
    for step, value in enumerate([math.nan, math.inf, -math.inf]):
        client.log_metric(run.info.run_id, "odd", value, step=step)
        client.log_metric(run.info.run_id, f"odd{step}", value)
    got = client.get_run(run.info.run_id).data.metrics
    assert math.isnan(got["odd0"])
    assert got["odd1"] == math.inf
    assert got["odd2"] == got["odd"] == -math.inf
    history = [m.value for m in client.get_metric_history(run.info.run_id, "odd")]
    assert math.isnan(history[0])
    assert history[1:] == [math.inf, -math.inf]


def test_artifacts_of_a_named_project_are_audited_in_its_log(site: Site, tmp_path: Path) -> None:
    client = _client(site, NAMED)
    run = client.create_run("0")
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"audited")
    client.log_artifact(run.info.run_id, str(weights), artifact_path="model/final")
    rows = httpx.get(f"{site.url}/api/v1/projects/{NAMED}/audit", params={"limit": 20}).json()
    puts = [row for row in rows["rows"] if row["method"] == "PUT"]
    assert [row["endpoint"] for row in puts] == [
        "/api/v1/projects/{project}/mlflow/api/2.0/mlflow-artifacts/artifacts/{artifact_path:path}"
    ]
    assert puts[0]["path"].endswith(f"/{run.info.run_id}/artifacts/model/final/weights.bin")


def test_experiments_are_created_renamed_tagged_deleted_and_found(site: Site) -> None:
    from mlflow.entities import ViewType
    from mlflow.exceptions import MlflowException

    client = _client(site, NAMED)
    first = client.create_experiment("exp-a", tags={"owner": "ana"})
    second = client.create_experiment("exp b")
    assert int(second) == int(first) + 1
    client.rename_experiment(first, "exp-renamed")
    client.set_experiment_tag(first, "note", "hello")
    found = client.get_experiment_by_name("exp-renamed")
    assert found.experiment_id == first
    assert found.tags == {"owner": "ana", "note": "hello"}
    assert found.artifact_location == f"mlflow-artifacts:/{first}"
    client.delete_experiment(second)
    active = {e.name for e in client.search_experiments()}
    assert {"Default", "exp-renamed"} <= active
    assert "exp b" not in active
    deleted = client.search_experiments(view_type=ViewType.DELETED_ONLY)
    assert [e.name for e in deleted] == ["exp b"]
    named = client.search_experiments(filter_string="name LIKE 'exp-%'")
    assert [e.name for e in named] == ["exp-renamed"]
    client.restore_experiment(second)
    assert client.get_experiment(second).lifecycle_stage == "active"
    assert client.get_experiment("0").name == "Default"
    with pytest.raises(MlflowException, match="Cannot delete the default experiment"):
        client.delete_experiment("0")


def test_mlflow_errors_come_in_mlflow_shape(site: Site) -> None:
    from mlflow.exceptions import MlflowException, RestException

    client = _client(site, NAMED)
    with pytest.raises(RestException) as missing:
        client.get_run("01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert missing.value.get_http_status_code() == 404
    client.create_experiment("taken")
    with pytest.raises(RestException) as taken:
        client.create_experiment("taken")
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"
    run = client.create_run("0")
    client.log_param(run.info.run_id, "lr", "0.1")
    client.log_param(run.info.run_id, "lr", "0.1")  # the same value again: fine
    with pytest.raises(MlflowException) as changed:
        client.log_param(run.info.run_id, "lr", "0.2")
    assert changed.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "Changing param values is not allowed" in changed.value.message
    with pytest.raises(RestException) as bad:
        client.search_runs(["0"], filter_string="metrics.acc >> 1")
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE"
    client.delete_run(run.info.run_id)
    with pytest.raises(RestException) as gone:
        client.log_metric(run.info.run_id, "acc", 1.0)
    assert gone.value.error_code == "INVALID_STATE"
    answer = httpx.post(f"{site.tracking(NAMED)}/api/2.0/mlflow/runs/no-such-thing", json={})
    assert answer.status_code == 404
    assert answer.json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_tokens_hold_on_the_mlflow_api(site: Site) -> None:
    from mlflow.exceptions import RestException

    with pytest.raises(RestException) as anonymous:
        _client(site, LOCKED).search_experiments()
    assert anonymous.value.error_code == "UNAUTHENTICATED"
    viewer = _client(site, LOCKED, site.viewer)
    assert [e.name for e in viewer.search_experiments()] == ["Default"]
    with pytest.raises(RestException) as refused:
        viewer.create_experiment("not-mine")
    assert refused.value.error_code == "PERMISSION_DENIED"
    trainer = _client(site, LOCKED, site.contributor)
    run = trainer.create_run(trainer.create_experiment("mine"))
    assert run.info.user_id == "trainer"  # the token's agent, when the client names no user
    _client(site)  # the token is not left in this process's environment
