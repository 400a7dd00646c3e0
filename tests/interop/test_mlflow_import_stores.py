"""`lineal import mlflow` on every lineal store (SQLite, PostgreSQL, a server), and from an
MLflow store kept in PostgreSQL."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from mlflow_import_support import copy_of, made_once

from lineal.client import Lineal
from lineal.interop.mlflow_import import import_mlflow
from lineal.interop.mlflow_mapping import run_ulid
from lineal.store.base import Store

pytest.importorskip("mlflow")
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


def test_every_lineal_store_takes_an_mlflow_store_once(
    tmp_path_factory: pytest.TempPathFactory, store: Store, tmp_path: Path
) -> None:
    made = copy_of(made_once(tmp_path_factory), tmp_path)
    repo = Lineal(store)  # no workspace: files are recorded by digest and where they are
    first = import_mlflow(repo, made.uri)
    assert first.imported.runs == 3
    assert (first.imported.versions, first.imported.aliases, first.imported.inputs) == (1, 2, 1)
    assert repo.resolve("model/digits-clf:staging") == repo.resolve("model/digits-clf@v1")
    repo.sync(30)
    head = repo.store.head()
    again = import_mlflow(repo, made.uri)
    assert (again.records, again.imported.total()) == (0, 0)
    assert again.already.runs == 3
    assert repo.store.head() == head


def test_an_mlflow_store_in_postgresql(pg_uri: str, repo: Lineal, tmp_path: Path) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    # SQLAlchemy's default PostgreSQL driver is psycopg2; the importer finds psycopg 3 itself.
    tracking = pg_uri.replace("postgresql://", "postgresql+psycopg://", 1)
    client = MlflowClient(tracking_uri=tracking)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        experiment = client.create_experiment("pg runs", artifact_location=tmp_path.as_uri())
        run = client.create_run(experiment)
        client.log_param(run.info.run_id, "depth", "6")
        for step in range(4):
            client.log_metric(run.info.run_id, "auc", 0.6 + step / 20, step=step)
        client.set_terminated(run.info.run_id, "KILLED")
    del mlflow

    result = import_mlflow(repo, pg_uri)
    assert result.source == pg_uri  # as given: the driver chosen is no part of its identity
    assert (result.imported.runs, result.imported.metric_points) == (1, 4)
    found = repo.store.get_run(run_ulid(run.info.start_time, experiment, run.info.run_id))
    assert (found.name, found.status, dict(found.params)) == ("pg-runs", "killed", {"depth": "6"})
    assert found.meta["mlflow"]["source"] == pg_uri
    assert import_mlflow(repo, pg_uri).records == 0
