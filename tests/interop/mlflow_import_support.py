"""Helpers of the MLflow import tests: a real MLflow store made with the `mlflow` package, and
counts read straight from a FileStore's files (never from the importer)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shared_data import SHARED_DATA

#: A real MLmodel (MLflow's own test resources), logged as the files of a model.
SKLEARN_MODEL = SHARED_DATA / "mlflow" / "mlflow__mlflow" / "tests" / "resources"
SKLEARN_MODEL = SKLEARN_MODEL / "example_mlflow_1x_sklearn_model"


@dataclass
class Made:
    uri: str
    train: str  # MLflow run ids
    child: str
    failed: str
    logged_model: str


def make_store(folder: Path) -> Made:
    """A sqlite MLflow store logged with the real client: params, metrics at several steps,
    tags, a dataset input, files, a nested run, a failed run, a logged model, and a
    registered model with a version, an alias and a stage."""
    import mlflow
    import numpy as np
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("digits training")  # a space: the lineal name has a '-'
    artifacts = folder / "artifacts"
    experiment = mlflow.create_experiment("digits eval", artifact_location=artifacts.as_uri())
    mlflow.set_experiment("digits training")
    with mlflow.start_run(run_name="train") as train:
        mlflow.log_params({"lr": "0.1", "epochs": 3, "layers": "[64, 32]"})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
            mlflow.log_metric("val acc", 0.5 + step / 10, step=step * 2)
        mlflow.set_tags({"team": "vision", "mlflow.source.git.commit": "0a1b2c3d"})
        data = mlflow.data.from_numpy(
            np.arange(10.0).reshape(5, 2), source="s3://bucket/digits.npy", name="digits"
        )
        mlflow.log_input(data, context="training")
        mlflow.log_artifacts(str(SKLEARN_MODEL), "model")
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_metric("acc", 0.75)
    with mlflow.start_run(run_name="broken", experiment_id=experiment) as failed:
        mlflow.log_param("seed", "7")
        mlflow.log_text("it broke", "logs/error.txt")
    client = MlflowClient(tracking_uri=uri)
    client.set_terminated(failed.info.run_id, status="FAILED")
    logged = client.create_logged_model(
        train.info.experiment_id, name="digits-net", source_run_id=train.info.run_id
    )
    client.log_model_artifacts(logged.model_id, str(SKLEARN_MODEL))
    client.create_registered_model("digits-clf")
    version = client.create_model_version(
        "digits-clf", f"runs:/{train.info.run_id}/model", run_id=train.info.run_id
    )
    client.set_registered_model_alias("digits-clf", "champion", version.version)
    client.transition_model_version_stage("digits-clf", version.version, "Staging")
    return Made(uri, train.info.run_id, child.info.run_id, failed.info.run_id, logged.model_id)


@dataclass
class FileCounts:
    runs: int = 0
    params: int = 0
    metric_points: int = 0
    tags: int = 0
    artifacts: int = 0
    models: int = 0
    versions: int = 0
    stages: int = 0


def count_file_store(root: Path) -> tuple[FileCounts, dict[str, dict[str, Any]]]:
    """Counts read from the files of a FileStore, and each run's own files: its meta.yaml,
    params, tags and metric lines (``timestamp value step``)."""
    counts, runs = FileCounts(), {}
    for meta in sorted(root.glob("[0-9]*/*/meta.yaml")):
        folder = meta.parent
        info = yaml.safe_load(meta.read_text())
        params = {p.name: p.read_text() for p in (folder / "params").glob("*")}
        tags = {t.name: t.read_text() for t in (folder / "tags").glob("*")}
        metrics = {
            m.name: [line.split() for line in m.read_text().splitlines() if line.strip()]
            for m in (folder / "metrics").glob("*")
        }
        files = [p for p in (folder / "artifacts").rglob("*") if p.is_file()]
        history = json.loads(tags.get("mlflow.log-model.history", "[]"))
        counts.runs += 1
        counts.params += len(params)
        counts.tags += len(tags)
        counts.metric_points += sum(len(points) for points in metrics.values())
        counts.artifacts += len(files)
        counts.models += len(history)
        runs[info["run_id"]] = {"meta": info, "params": params, "tags": tags, "metrics": metrics}
    for meta in sorted(root.glob("models/*/version-*/meta.yaml")):  # the registry, if any
        stage = yaml.safe_load(meta.read_text()).get("current_stage")
        counts.versions += 1
        counts.stages += stage not in (None, "None")
    return counts, runs


_MADE: list[Made] = []


def made_once(factory: Any) -> Made:
    """The store of ``make_store``, made once per test process (MLflow takes seconds to create
    its tables) and shared by the test modules: tests import a copy of its database."""
    import warnings

    if _MADE:
        return _MADE[0]
    folder = factory.mktemp("mlflow")
    here, before = Path.cwd(), os.environ.get("MLFLOW_TRACKING_URI")
    os.chdir(folder)  # the default experiment's files land here
    try:
        with warnings.catch_warnings():  # MLflow's own: deprecated stages, SQLAlchemy's noload
            warnings.simplefilter("ignore")
            _MADE.append(make_store(folder))
    finally:
        import mlflow

        os.chdir(here)
        if before is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = before
        # make_store set MLflow's own tracking URI, which outranks the variable: later tests
        # of this process (the fluent API against a lineal server) must not log into this store.
        mlflow.set_tracking_uri(None)
    return _MADE[0]


def copy_of(made: Made, folder: Path) -> Made:
    """``made`` with a database of its own in ``folder`` (its files stay where MLflow put them)."""
    import shutil
    from dataclasses import replace

    copy = folder / "mlflow.db"
    shutil.copyfile(made.uri.removeprefix("sqlite:///"), copy)
    return replace(made, uri=f"sqlite:///{copy}")
