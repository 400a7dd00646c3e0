"""`lineal import mlflow`: real MLflow stores (a committed FileStore from ../shared/data and a
sqlite store logged here with the real `mlflow` client) imported completely, point by point,
once: a second import records nothing."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from mlflow_import_support import SKLEARN_MODEL, Made, copy_of, count_file_store, made_once

from lineal.client import Lineal
from lineal.errors import NotFound
from lineal.interop.mlflow_import import import_mlflow
from lineal.interop.mlflow_mapping import lineal_name, run_ulid
from lineal.model.entities import Run

if TYPE_CHECKING:
    from conftest import Cli

pytest.importorskip("mlflow")
# MLflow itself warns as the store is made (stages are deprecated; SQLAlchemy's noload).
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


def _sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def aryan(shared_data: Path, tmp_path: Path) -> Path:
    """The committed FileStore, copied: mlflow writes a .trash folder into what it opens."""
    copy = tmp_path / "mlruns"
    shutil.copytree(shared_data / "mlflow" / "16aryan__MLFlow" / "mlruns", copy)
    for path in [copy, *copy.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return copy


def test_a_file_store_imports_completely_and_once(aryan: Path, repo: Lineal) -> None:
    counts, runs = count_file_store(aryan)
    assert counts.runs == 7  # the store's README says so; the rest is counted from its files
    before = sorted(path.relative_to(aryan) for path in aryan.rglob("*"))

    result = import_mlflow(repo, str(aryan))

    assert sorted(path.relative_to(aryan) for path in aryan.rglob("*")) == before

    got = result.imported
    assert (got.experiments, got.runs, got.params, got.tags) == (
        1, counts.runs, counts.params, counts.tags,
    )  # fmt: skip
    assert got.metric_points == counts.metric_points
    assert (got.artifacts, got.models) == (counts.artifacts, counts.models)
    assert (got.versions, got.aliases) == (counts.versions, counts.stages)  # no registry here
    assert result.already.total() == 0
    for run_id, files in runs.items():
        meta = files["meta"]
        run = repo.store.get_run(run_ulid(meta["start_time"], meta["experiment_id"], run_id))
        assert isinstance(run, Run)
        assert run.name == "Default"
        assert run.params == files["params"]
        assert run.meta["mlflow"]["run_id"] == run_id
        assert run.meta["mlflow"]["user"] == meta["user_id"]
        assert run.status == {3: "finished", 1: "running"}[meta["status"]]
        assert repo.store.tags(f"run/{run.id}") == files["tags"]
        series = repo.store.metric_series(run.id)
        assert set(series) == set(files["metrics"])
        for key, lines in files["metrics"].items():
            assert list(series[key].values) == [float(v) for _, v, _ in lines]
            assert list(series[key].steps) == [int(s) for _, _, s in lines]
            assert list(series[key].times) == [int(t) / 1000 for t, _, _ in lines]
        for relative in ("model/MLmodel", "model/conda.yaml"):
            path = aryan / meta["experiment_id"] / run_id / "artifacts" / relative
            if path.exists():
                file = repo.store.unnamed(_sha(path))
                assert file is not None
                generated = {e.child for e in repo.store.edges(f"run/{run.id}")}
                assert file.digest in generated
                assert f"model/model@{_sha(path)}" in generated or relative != "model/MLmodel"
    # The files are in the workspace's object store, byte for byte.
    mlmodel = next(aryan.glob("0/*/artifacts/model/MLmodel"))
    stored = repo.require_workspace().require_root() / "objects" / "sha256"
    assert (stored / _sha(mlmodel)[7:9] / _sha(mlmodel)[9:]).read_bytes() == mlmodel.read_bytes()

    head = repo.store.head()
    again = import_mlflow(repo, str(aryan))
    assert repo.store.head() == head
    assert again.records == 0
    assert again.imported.total() == 0
    assert again.already.runs == counts.runs
    assert again.already.metric_points == counts.metric_points


@pytest.fixture
def made(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Made:
    return copy_of(made_once(tmp_path_factory), tmp_path)


def test_a_sqlite_store_imports_point_by_point(made: Made, repo: Lineal) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=made.uri)
    result = import_mlflow(repo, made.uri)
    assert result.imported.runs == 3
    assert (result.imported.inputs, result.imported.versions) == (1, 1)
    assert result.imported.aliases == 2  # champion, and the stage as staging
    assert result.imported.models == 1  # the logged model
    ids = {}
    for run_id in (made.train, made.child, made.failed):
        mlflow_run = client.get_run(run_id)
        info = mlflow_run.info
        ids[run_id] = run_ulid(info.start_time, info.experiment_id, run_id)
        run = repo.store.get_run(ids[run_id])
        experiment = client.get_experiment(info.experiment_id).name
        assert run.name == lineal_name(experiment)
        assert run.params == mlflow_run.data.params
        assert repo.store.tags(f"run/{run.id}") == mlflow_run.data.tags
        series = repo.store.metric_series(run.id)
        for key in mlflow_run.data.metrics:
            points = sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)
            one = series[key.replace(" ", "_")]
            assert list(one.steps) == [m.step for m in points]
            assert list(one.values) == [m.value for m in points]
            assert list(one.times) == [m.timestamp / 1000 for m in points]
    assert repo.store.get_run(ids[made.train]).name == "digits-training"
    assert repo.store.get_run(ids[made.failed]).status == "failed"
    assert repo.store.get_run(ids[made.train]).status == "finished"

    train = f"run/{ids[made.train]}"
    edges = {(e.kind, e.parent, e.child, e.role) for e in repo.store.edges(train)}
    assert ("informed_by", train, f"run/{ids[made.child]}", None) in edges
    (used,) = [e for e in edges if e[0] == "used"]
    assert used[3] == "training"
    dataset = repo.resolve(used[1].split("@")[0])
    assert dataset.node == used[1]
    mlflow_data = client.get_run(made.train).inputs.dataset_inputs[0].dataset
    assert dataset.meta["mlflow_digest"] == mlflow_data.digest
    assert dataset.meta["source"] == {"uri": "s3://bucket/digits.npy"}

    # The registered version and the logged model are the MLmodel's bytes, made by the run.
    version = repo.resolve("model/digits-clf:champion")
    assert version.digest == _sha(SKLEARN_MODEL / "MLmodel")
    assert repo.resolve("model/digits-clf:staging").digest == version.digest
    assert version.meta["mlflow"]["version"] == 1
    assert version.meta["mlflow"]["stage"] == "Staging"
    assert ("generated", train, version.node, None) in edges
    logged = repo.resolve("model/digits-net")
    assert logged.meta["mlflow"]["model_id"] == made.logged_model
    failed_log = repo.store.unnamed("sha256:" + hashlib.sha256(b"it broke").hexdigest())
    assert failed_log is not None
    assert failed_log.meta["mlflow"]["path"] == "logs/error.txt"

    head = repo.store.head()
    again = import_mlflow(repo, made.uri)
    assert (repo.store.head(), again.records, again.imported.total()) == (head, 0, 0)
    assert again.already.runs == 3
    assert again.already.versions == 1

    # What MLflow learns later comes in, and only that.
    client.log_metric(made.train, "loss", 0.1, step=5)
    client.set_tag(made.train, "reviewed", "yes")
    later = import_mlflow(repo, made.uri)
    assert (later.imported.metric_points, later.imported.tags) == (1, 1)
    assert later.imported.runs == 0

    # A version moved from Staging to Production: the stage alias moves with it.
    client.transition_model_version_stage("digits-clf", "1", "Production")
    moved = import_mlflow(repo, made.uri)
    assert moved.imported.aliases == 2  # production set, staging taken away
    assert repo.resolve("model/digits-clf:production").digest == version.digest
    held = {alias for _, alias, _, _ in repo.store.alias_holders("model", "digits-clf")}
    assert held == {"champion", "production"}
    assert list(repo.store.metric_series(ids[made.train])["loss"].steps) == [0, 1, 2, 3, 4, 5]


def test_upstream_of_an_imported_model_shows_its_run_and_data(
    made: Made, ws: Path, lineal_cli: Cli
) -> None:
    done = lineal_cli("import", "mlflow", made.uri, "--json", cwd=ws)
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)
    assert counts["imported"]["runs"] == 3
    assert counts["records"] > 0
    shown = lineal_cli("upstream", "model/digits-clf:champion", "--json", cwd=ws)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "dataset/digits" in text
    assert "run/" in text


def test_one_experiment_then_the_rest(made: Made, repo: Lineal) -> None:
    first = import_mlflow(repo, made.uri, experiments=("digits eval",))
    assert (first.imported.runs, first.imported.experiments) == (1, 1)
    assert first.imported.versions == 0  # the registered version came from another run
    rest = import_mlflow(repo, made.uri)
    assert (rest.imported.runs, rest.already.runs) == (2, 1)
    assert rest.imported.versions == 1


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("plain", "is not an MLflow store: no experiment folder"),
        ("notes.txt", "is not an MLflow store (not a sqlite file)"),
        ("sqlite:///{tmp}/missing.db", "no MLflow sqlite store at"),
        ("other.db", "is not an MLflow store: it has no experiments and runs tables"),
        ("postgresql://nobody@127.0.0.1:1/mlflow", "cannot read the MLflow store at"),
        ("ftp://example.org/mlruns", "cannot read MLflow stores at ftp: URIs"),
    ],
)
def test_what_is_not_an_mlflow_store_gets_one_clear_line(
    ws: Path, lineal_cli: Cli, tmp_path: Path, target: str, message: str
) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "readme.md").write_text("no runs here")
    (tmp_path / "notes.txt").write_text("not a database")
    with sqlite3.connect(tmp_path / "other.db") as other:
        other.execute("CREATE TABLE notes (body TEXT)")
    argument = target.format(tmp=tmp_path)
    if "://" not in argument:
        argument = str(tmp_path / argument)
    done = lineal_cli("import", "mlflow", argument, cwd=ws, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("error: "), done.stderr
    assert message in lines[0]
    assert len(lines) == 2
    assert lines[1].startswith("hint: ")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "missing.db").exists()


class _StopAfter:
    """A progress that stops the import (as Ctrl-C would) once ``runs`` runs are in."""

    def __init__(self, runs: int) -> None:
        self.runs = runs

    def stage(self, label: str, past: str = "", **_: object) -> None:
        self.label = label

    def __call__(self, done: int, total: int) -> None:
        if self.label == "importing runs" and done == self.runs:
            raise KeyboardInterrupt


def test_an_interrupted_import_finishes_on_the_next(aryan: Path, repo: Lineal) -> None:
    counts, runs = count_file_store(aryan)
    with pytest.raises(KeyboardInterrupt):
        import_mlflow(repo, str(aryan), progress=_StopAfter(3))
    rest = import_mlflow(repo, str(aryan))
    assert (rest.already.runs, rest.imported.runs) == (3, counts.runs - 3)
    both = rest.imported.metric_points + rest.already.metric_points
    assert both == counts.metric_points
    assert rest.already.metric_points > 0
    for run_id, files in runs.items():
        meta = files["meta"]
        run = repo.store.get_run(run_ulid(meta["start_time"], meta["experiment_id"], run_id))
        assert run.params == files["params"]
        lines = sum(len(points) for points in files["metrics"].values())
        assert sum(len(one) for one in repo.store.metric_series(run.id).values()) == lines


def test_an_unknown_experiment_is_named_with_those_there(made: Made, repo: Lineal) -> None:
    with pytest.raises(NotFound, match="no MLflow experiment 'churn'") as raised:
        import_mlflow(repo, made.uri, experiments=("churn",))
    assert "digits training" in (raised.value.hint or "")


def test_files_out_of_reach_are_said_so(made: Made, repo: Lineal) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=made.uri)
    remote = client.create_experiment("remote", artifact_location="s3://nowhere/mlflow")
    run = client.create_run(remote)
    client.log_param(run.info.run_id, "k", "v")
    result = import_mlflow(repo, made.uri, experiments=("remote",))
    assert (result.imported.runs, result.imported.artifacts) == (1, 0)
    (note,) = result.notes
    assert "the files of 1 runs are not on this machine" in note
    assert "s3://nowhere/mlflow" in note
    assert (
        repo.store.get_run(run_ulid(run.info.start_time, remote, run.info.run_id)).status
        == "running"
    )  # MLflow has it running still


def test_a_protected_alias_is_left_to_promotions(made: Made, ws: Path) -> None:
    from lineal.registry.grants import apply

    (ws / "lineal.toml").write_text(
        '[roles]\nadmin = ["tester"]\n\n[registry]\nprotected = ["staging"]\n'
    )
    with Lineal.open(path=ws) as repo:
        apply(repo)
        result = import_mlflow(repo, made.uri)
        assert result.imported.versions == 1
        assert result.imported.aliases == 1  # champion; staging is not the import's to move
        (note,) = result.notes
        assert "model/digits-clf:staging is protected here" in note
        held = {alias for _, alias, _, _ in repo.store.alias_holders("model", "digits-clf")}
        assert held == {"champion"}
