"""The MLflow-compatible model registry: the real `mlflow` client against a live `lineal
server`, and what lineal then shows of the registered models, versions, aliases and stages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mlflow_registry_support import CLOSED, OTHER, Registry, registry

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402

__all__ = ["registry"]
LINEAL_BIN = Path(sys.executable).parent / "lineal"


def client_of(url: str) -> MlflowClient:
    return MlflowClient(tracking_uri=url, registry_uri=url)


def lineal_run(registry: Registry, name: str = "train") -> str:
    """A finished lineal run made with the SDK through the HTTP store: its ULID, which is
    MLflow's run_id for this API."""
    with registry.open() as repo:
        run = repo.start_run(name, params={"lr": 0.01})
        repo.finish_run(run)
        return run.id


def lineal_json(registry: Registry, *args: str) -> Any:
    """`lineal ARGS --json` in the workspace (through the HTTP store)."""
    done = subprocess.run(
        [str(LINEAL_BIN), *args, "--json"],
        cwd=registry.workspace,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def refused(call: Any, *args: Any, **kwargs: Any) -> MlflowException:
    with pytest.raises(MlflowException) as caught:
        call(*args, **kwargs)
    return caught.value


def test_a_registered_version_is_a_lineal_model_version_generated_by_its_run(
    registry: Registry,
) -> None:
    client = client_of(registry.url)
    run_id = lineal_run(registry)
    created = client.create_registered_model("fraud", tags={"team": "risk"}, description="v0")
    assert (created.name, created.description, created.tags) == ("fraud", "v0", {"team": "risk"})
    version = client.create_model_version(
        "fraud", source=f"runs:/{run_id}/model", run_id=run_id, tags={"k": "v"}
    )
    assert (version.version, version.run_id, version.status) == ("1", run_id, "READY")
    assert version.source == f"runs:/{run_id}/model"
    client.set_registered_model_alias("fraud", "candidate", "1")
    found = client.get_model_version_by_alias("fraud", "candidate")
    assert (found.version, found.tags, found.aliases) == ("1", {"k": "v"}, ["candidate"])
    model = client.get_registered_model("fraud")
    assert model.aliases == {"candidate": "1"}
    assert [v.version for v in model.latest_versions] == ["1"]

    shown = lineal_json(registry, "show", "model/fraud")
    assert (shown["ref"], shown["aliases"]) == ("model/fraud@v1", ["model/fraud:candidate"])
    assert shown["meta"]["mlflow"]["version"] == "1"
    assert shown["meta"]["mlflow"]["run_id"] == run_id
    assert shown["upstream"] == [
        {
            "kind": "generated",
            "node": f"run/{run_id}",
            "node_kind": "run",
            "ref": f"run/{run_id}",
            "role": None,
        }
    ]
    up = lineal_json(registry, "upstream", "model/fraud:candidate")
    assert {node["label"] for node in up["nodes"]} == {"model/fraud@v1", f"run/{run_id}"}
    ran = lineal_json(registry, "show", f"run/{run_id}")
    assert ran["params"] == {"lr": 0.01}


# MLflow deprecates stages (in favour of aliases) but still serves them: so does lineal.
STAGES_DEPRECATED = pytest.mark.filterwarnings("ignore:.*transition_model_version_stage")
LATEST_DEPRECATED = pytest.mark.filterwarnings("ignore:.*get_latest_versions")


@STAGES_DEPRECATED
@LATEST_DEPRECATED
def test_stages_are_aliases_named_after_them(registry: Registry) -> None:
    client = client_of(registry.url)
    client.create_registered_model("churn")
    for _ in range(3):
        client.create_model_version("churn", source="s3://bucket/churn")
    staged = client.transition_model_version_stage("churn", "1", "staging")
    assert staged.current_stage == "Staging"
    assert client.get_model_version_by_alias("churn", "staging").version == "1"
    client.transition_model_version_stage("churn", "2", "Staging", archive_existing_versions=True)
    stages = {v.version: v.current_stage for v in client.search_model_versions("name='churn'")}
    assert stages == {"1": "Archived", "2": "Staging", "3": "None"}
    assert client.get_model_version_by_alias("churn", "staging").version == "2"
    assert client.get_model_version_by_alias("churn", "archived").version == "1"
    latest = client.get_latest_versions("churn", stages=["Staging", "Archived"])
    assert sorted((v.version, v.current_stage) for v in latest) == [
        ("1", "Archived"),
        ("2", "Staging"),
    ]
    client.transition_model_version_stage("churn", "2", "None")
    assert client.get_model_version("churn", "2").current_stage == "None"
    assert "staging" not in client.get_registered_model("churn").aliases
    shown = lineal_json(registry, "show", "model/churn:archived")
    assert shown["ref"] == "model/churn@v1"


@STAGES_DEPRECATED
def test_a_protected_alias_or_stage_is_refused_with_the_promotion_to_use(
    registry: Registry,
) -> None:
    client = client_of(registry.url)
    client.create_registered_model("guarded")
    client.create_model_version("guarded", source="s3://bucket/guarded")
    with registry.open() as repo:
        before = repo.store.head()
    error = refused(client.set_registered_model_alias, "guarded", "champion", "1")
    assert error.error_code == "PERMISSION_DENIED"
    assert "lineal model promote guarded@v1 --to champion" in error.message
    error = refused(client.transition_model_version_stage, "guarded", "1", "Production")
    assert error.error_code == "PERMISSION_DENIED"
    assert "lineal model promote guarded@v1 --to production" in error.message
    with registry.open() as repo:
        assert repo.store.head() == before  # nothing written
    assert client.get_model_version("guarded", "1").current_stage == "None"
    assert client.get_registered_model("guarded").aliases == {}


def test_search_filters_orders_and_pages(registry: Registry) -> None:
    client = client_of(registry.url)
    run_id = lineal_run(registry, "search")
    for name in ("s-alpha", "s-beta", "s-gamma"):
        client.create_registered_model(name, tags={"group": "search"})
        client.create_model_version(name, source=f"runs:/{run_id}/m", run_id=run_id)
    client.create_model_version("s-beta", source="s3://elsewhere", tags={"flavor": "onnx"})
    first = client.search_registered_models("name LIKE 's-%'", max_results=2)
    assert [m.name for m in first] == ["s-alpha", "s-beta"]
    rest = client.search_registered_models("name LIKE 's-%'", page_token=first.token)
    assert [m.name for m in rest] == ["s-gamma"]
    assert not rest.token
    newest = client.search_registered_models("tags.group = 'search'", order_by=["name DESC"])
    assert [m.name for m in newest] == ["s-gamma", "s-beta", "s-alpha"]
    by_run = client.search_model_versions(f"run_id = '{run_id}'")
    assert sorted(v.name for v in by_run) == ["s-alpha", "s-beta", "s-gamma"]
    tagged = client.search_model_versions("name = 's-beta' AND tags.flavor = 'onnx'")
    assert [(v.name, v.version) for v in tagged] == [("s-beta", "2")]
    ordered = client.search_model_versions("name='s-beta'", order_by=["version_number ASC"])
    assert [v.version for v in ordered] == ["1", "2"]
    error = refused(client.search_model_versions, "name = ")
    assert error.error_code == "INVALID_PARAMETER_VALUE"


def test_mlflow_errors_come_in_mlflow_shape(registry: Registry) -> None:
    client = client_of(registry.url)
    error = refused(client.get_registered_model, "no-such-model")
    assert (error.error_code, error.get_http_status_code()) == ("RESOURCE_DOES_NOT_EXIST", 404)
    client.create_registered_model("twice")
    error = refused(client.create_registered_model, "twice")
    assert (error.error_code, error.get_http_status_code()) == ("RESOURCE_ALREADY_EXISTS", 400)
    assert "already exists" in error.message
    error = refused(client.get_model_version, "twice", "7")
    assert error.error_code == "RESOURCE_DOES_NOT_EXIST"
    error = refused(client.set_registered_model_tag, "twice", "has space", "x")
    assert error.error_code == "INVALID_PARAMETER_VALUE"
    assert "bad tag key" in error.message
    error = refused(client.create_model_version, "no-such-model", source="s3://x")
    assert error.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_update_tag_and_delete_a_model_and_its_versions(registry: Registry) -> None:
    client = client_of(registry.url)
    client.create_registered_model("edit me")  # a space: model/edit-me in lineal
    client.create_model_version("edit me", source="s3://a")
    client.create_model_version("edit me", source="s3://b")
    assert client.update_registered_model("edit me", "new words").description == "new words"
    assert client.update_model_version("edit me", "2", "second").description == "second"
    client.set_registered_model_tag("edit me", "owner", "ana")
    client.set_model_version_tag("edit me", "1", "ok", "yes")
    client.delete_model_version_tag("edit me", "1", "ok")
    assert client.get_model_version("edit me", "1").tags == {}
    client.delete_registered_model_tag("edit me", "owner")
    assert client.get_registered_model("edit me").tags == {}
    client.set_registered_model_alias("edit me", "shadow", "2")
    client.delete_model_version("edit me", "2")
    assert refused(client.get_model_version, "edit me", "2").error_code == (
        "RESOURCE_DOES_NOT_EXIST"
    )
    assert client.get_registered_model("edit me").aliases == {}
    assert lineal_json(registry, "show", "model/edit-me@v2")["tags"]["lineal.mlflow.deleted"] == (
        "true"
    )
    client.delete_registered_model("edit me")
    assert refused(client.get_registered_model, "edit me").error_code == "RESOURCE_DOES_NOT_EXIST"
    assert "edit me" not in [m.name for m in client.search_registered_models()]
    client.create_registered_model("edit me")
    again = client.create_model_version("edit me", source="s3://c")
    assert again.version == "1"  # a new registered model numbers from 1, as MLflow does
    assert lineal_json(registry, "show", "model/edit-me")["ref"] == "model/edit-me@v3"


def test_rename_records_the_versions_under_the_new_name(registry: Registry) -> None:
    client = client_of(registry.url)
    run_id = lineal_run(registry, "rename")
    client.create_registered_model("old-name", tags={"t": "1"})
    client.create_model_version("old-name", source="s3://m", run_id=run_id)
    client.set_registered_model_alias("old-name", "blue", "1")
    client.rename_registered_model("old-name", "new-name")
    renamed = client.get_registered_model("new-name")
    assert (renamed.name, renamed.tags, renamed.aliases) == ("new-name", {"t": "1"}, {"blue": "1"})
    assert client.get_model_version("new-name", "1").run_id == run_id
    assert refused(client.get_registered_model, "old-name").error_code == (
        "RESOURCE_DOES_NOT_EXIST"
    )
    up = lineal_json(registry, "upstream", "model/new-name:blue")
    labels = {node["label"] for node in up["nodes"]}
    assert labels == {"model/new-name@v1", "model/old-name@v1", f"run/{run_id}"}
    # Back to the first name, whose version lineal still holds (deleted): it lives again.
    client.rename_registered_model("new-name", "old-name")
    back = client.get_registered_model("old-name")
    assert (back.tags, back.aliases) == ({"t": "1"}, {"blue": "1"})
    assert client.get_model_version("old-name", "1").run_id == run_id
    assert [v.version for v in client.search_model_versions("name = 'old-name'")] == ["1"]


def test_a_project_named_in_the_tracking_uri_keeps_its_own_registry(registry: Registry) -> None:
    other = client_of(registry.mlflow_uri(OTHER))
    other.create_registered_model("only-there")
    other.create_model_version("only-there", source="s3://x")
    assert [m.name for m in other.search_registered_models()] == ["only-there"]
    default = client_of(registry.url)
    assert "only-there" not in [m.name for m in default.search_registered_models()]
    assert other.get_model_version_download_uri("only-there", "1") == "s3://x"


def test_tokens_are_checked_and_refusals_are_mlflow_errors(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_of(registry.mlflow_uri(CLOSED))
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    error = refused(client.search_registered_models)
    assert (error.error_code, error.get_http_status_code()) == ("UNAUTHENTICATED", 401)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", registry.tokens["viewer"])
    assert list(client.search_registered_models()) == []
    error = refused(client.create_registered_model, "nope")
    assert (error.error_code, error.get_http_status_code()) == ("PERMISSION_DENIED", 403)
    assert "needs role contributor" in error.message
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", registry.tokens["contributor"])
    assert client.create_registered_model("yes").name == "yes"
    version = client.create_model_version("yes", source="s3://y")
    assert version.user_id == "contributor"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "registered-models/create", b"[1, 2]"),
        ("POST", "registered-models/create", b"{not json"),
        ("POST", "registered-models/create", b'{"name": ""}'),
        ("POST", "registered-models/create", b'{"name": "x", "tags": "nope"}'),
        ("POST", "registered-models/create", b'{"name": "%s"}' % (b"n" * 200)),
        ("GET", "registered-models/search?max_results=0", None),
        ("GET", "registered-models/search?filter=name%20%3D", None),
        ("GET", "registered-models/search?order_by=name%20SIDEWAYS", None),
        ("GET", "model-versions/get?name=fraud&version=one", None),
        ("POST", "model-versions/create", b'{"name": "fraud"}'),
        ("POST", "model-versions/transition-stage", b'{"name": "fraud", "version": "1"}'),
        ("POST", "registered-models/alias", b'{"name": "fraud", "alias": "v3", "version": "1"}'),
        ("POST", "logged-models", b'{"experiment_id": "0", "params": [{"value": "x"}]}'),
        ("PATCH", "logged-models/m-nope", b'{"status": "LOGGED_MODEL_READY"}'),
    ],
)
def test_bad_requests_get_one_mlflow_error_and_write_nothing(
    registry: Registry, method: str, path: str, body: bytes | None
) -> None:
    import httpx

    with registry.open() as repo:
        before = repo.store.head()
    answer = httpx.request(
        method,
        f"{registry.url}/api/2.0/mlflow/{path}",
        content=body,
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert answer.status_code in (400, 404), answer.text
    error = answer.json()
    assert set(error) == {"error_code", "message"}
    assert error["error_code"] in (
        "INVALID_PARAMETER_VALUE",
        "MALFORMED_REQUEST",
        "RESOURCE_DOES_NOT_EXIST",
    )
    assert "\n" not in error["message"]
    with registry.open() as repo:
        assert repo.store.head() == before
