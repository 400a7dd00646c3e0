"""The MLflow tracking API on a `lineal server` over PostgreSQL: the same services through the
other SQL backend, with the real `mlflow` client (experiments made at once get distinct ids)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from mlflow_api_support import QUIET

from lineal.store.registry import create_project
from server_process import drop_server_databases, start_server, stop

pytestmark = pytest.mark.postgres
PG_ADMIN = os.environ.get("LINEAL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PROJECT = "tracked"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("psycopg")
    os.environ.update(QUIET)
    folder = tmp_path_factory.mktemp("mlflow-api-pg")
    prefix = f"lineal_mla_{uuid.uuid4().hex[:8]}"
    base = f"{PG_ADMIN.rsplit('/', 1)[0]}/{prefix}"
    create_project(base, PROJECT)
    proc, served = start_server(
        base, Path(folder), args=["--project", PROJECT, "--workers", "2"], env=QUIET
    )
    try:
        yield served
    finally:
        stop(proc)
        drop_server_databases(PG_ADMIN, base)


def test_tracking_on_postgres(url: str, tmp_path: Path) -> None:
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Dataset, DatasetInput, InputTag, Metric

    os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
    client = MlflowClient(tracking_uri=url)
    with ThreadPoolExecutor(4) as pool:  # both workers, at once: ids stay distinct
        made = list(pool.map(client.create_experiment, [f"exp-{i}" for i in range(8)]))
    assert sorted(int(one) for one in made) == list(range(1, 9))
    run = client.create_run(made[0], run_name="pg")
    run_id = run.info.run_id
    client.log_param(run_id, "lr", "0.1")
    metrics = [Metric("loss", 1 / (i + 1), 1_700_000_000_000 + i, i) for i in range(1000)]
    client.log_batch(run_id, metrics=metrics)
    data = Dataset("train", "abcd1234", "local", '{"uri": "/data/train"}', None, None)
    client.log_inputs(run_id, [DatasetInput(data, [InputTag("mlflow.data.context", "training")])])
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"\x00\x01" * 500)
    client.log_artifact(run_id, str(weights), artifact_path="model")
    client.set_terminated(run_id)
    found = client.search_runs(made, "metrics.loss < 0.01 and params.lr = '0.1'")
    assert [one.info.run_id for one in found] == [run_id]
    history = client.get_metric_history(run_id, "loss")
    assert len(history) == 1000
    assert history[-1].step == 999
    got = client.get_run(run_id)
    assert got.info.status == "FINISHED"
    assert [one.dataset.name for one in got.inputs.dataset_inputs] == ["train"]
    listed = mlflow.artifacts.list_artifacts(
        artifact_uri=f"{got.info.artifact_uri}/model", tracking_uri=url
    )
    assert [(f.path, f.file_size) for f in listed] == [("model/weights.bin", 1000)]
    copy = client.download_artifacts(run_id, "model/weights.bin", str(tmp_path))
    assert Path(copy).read_bytes() == weights.read_bytes()
