"""The MLflow registry and logged models on a `lineal server` over PostgreSQL: the same
services through the other SQL backend, with the real `mlflow` client."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineal.client import Lineal
from lineal.ledger.keys import Signer
from lineal.model.grants import PolicyApply
from lineal.model.ops import AgentRegister
from lineal.store.registry import create_project, open_store
from server_process import drop_server_databases, start_server, stop

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import LoggedModelStatus  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402

pytestmark = pytest.mark.postgres
PG_ADMIN = os.environ.get("LINEAL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PROJECT = "default"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(server URL, a run's ULID recorded in the project) on a PostgreSQL base."""

    folder = tmp_path_factory.mktemp("mlflow-registry-pg")
    prefix = f"lineal_mlr_{uuid.uuid4().hex[:8]}"
    base = f"{PG_ADMIN.rsplit('/', 1)[0]}/{prefix}"
    signer = Signer.generate("alice")
    store = open_store(create_project(base, PROJECT), signer)
    try:
        store.append(AgentRegister(name="alice", public_key=signer.public_key))
        store.append(PolicyApply(protected=("production",)))
        repo = Lineal(store)
        run = repo.start_run("train", params={"lr": 0.1})
        repo.finish_run(run)
    finally:
        store.close()
    proc, url = start_server(base, Path(folder))
    try:
        yield url, run.id
    finally:
        stop(proc)
        drop_server_databases(PG_ADMIN, base)


@pytest.mark.filterwarnings("ignore:.*transition_model_version_stage")
def test_the_registry_on_postgres(served: tuple[str, str]) -> None:
    url, run_id = served
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    client.create_registered_model("pg-model", tags={"db": "postgres"})
    first = client.create_model_version("pg-model", source="s3://a", run_id=run_id)
    client.create_model_version("pg-model", source="s3://b", run_id=run_id)
    assert first.version == "1"
    client.set_registered_model_alias("pg-model", "candidate", "2")
    assert client.get_model_version_by_alias("pg-model", "candidate").source == "s3://b"
    client.transition_model_version_stage("pg-model", "1", "Staging")
    found = client.search_model_versions(f"run_id = '{run_id}'", order_by=["version_number"])
    assert [(v.version, v.current_stage) for v in found] == [("1", "Staging"), ("2", "None")]
    with pytest.raises(MlflowException) as caught:
        client.transition_model_version_stage("pg-model", "2", "Production")
    assert caught.value.error_code == "PERMISSION_DENIED"
    assert [m.name for m in client.search_registered_models("tags.db = 'postgres'")] == ["pg-model"]

    made = client.create_logged_model(experiment_id="0", name="pg-logged", source_run_id=run_id)
    client.finalize_logged_model(made.model_id, LoggedModelStatus.READY)
    assert client.get_logged_model(made.model_id).status == LoggedModelStatus.READY
    listed = client.search_logged_models(experiment_ids=["0"])
    assert [m.model_id for m in listed] == [made.model_id]
