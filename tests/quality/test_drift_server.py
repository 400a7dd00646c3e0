"""Drift, health and staleness through a real `lineal server`: the ``drift``, ``health`` and
``stale`` endpoints answer what the CLI prints with --json, and the CLI over the server's
store (HttpStore, Store.tagged over the wire) gives the same answers."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from lineal.store.registry import create_project
from shared_data import SHARED_DATA

if TYPE_CHECKING:
    from conftest import Cli

COCO = SHARED_DATA / (
    "coco/rafaelpadilla__review_object_detection_metrics/data/database/gts/coco_format_v1/"
    "instances_default.json"
)


@pytest.mark.usefixtures("shared_data")
def test_the_server_answers_drift_health_and_stale(
    lineal_server: tuple[str, str], lineal_cli: Cli, tmp_path: Path
) -> None:
    base, url = lineal_server
    name = f"q{uuid.uuid4().hex[:10]}"
    create_project(base, name)
    ws = tmp_path / "ws"
    ws.mkdir()
    env = {"LINEAL_SPOOL": str(tmp_path / "spool")}

    def cli(*args: str, code: int = 0) -> str:
        done = lineal_cli(*args, cwd=ws, env=env)
        assert done.returncode == code, (args, done.stdout, done.stderr)
        return str(done.stdout)

    cli("init", "--agent", "alice", "--uri", f"{url}/projects/{name}")
    document = json.loads(COCO.read_text())
    (ws / "data").mkdir()
    target = ws / "data/instances.json"
    target.write_text(json.dumps(document))
    cli("add", "data", "--name", "x", "--license", "MIT", "--source", "https://example.org")
    for category in document["categories"]:
        if category["name"] == "cat":
            category["name"] = "kitten"
    target.write_text(json.dumps(document))
    cli("add", "data", "--name", "x")
    cli("run", "--in", "data", "--out", "model.txt", "--", "sh", "-c", "echo m > model.txt")

    with httpx.Client(base_url=f"{url}/api/v1/projects/{name}/", timeout=60) as client:

        def get(path: str, status: int = 200, **params: Any) -> Any:
            answer = client.get(path, params=params)
            assert answer.status_code == status, answer.text
            return answer.json()

        drifted = get("drift", ref="dataset/x@v2")
        assert drifted == json.loads(cli("drift", "dataset/x@v2", "--json", code=1))
        assert drifted["a"] == "dataset/x@v1"
        assert "schema" in drifted["drifted"]
        assert drifted["schema"]["renamed"][0]["after"] == "kitten"
        assert get("drift", ref="dataset/x@v1", to="dataset/x@v2") == drifted
        refused = get("drift", 400, ref="dataset/x@v1")
        assert "first version" in refused["error"]
        # What `lineal add` recorded with v2, through the HTTP store, the server lists.
        (fact,) = get("drift/recorded")
        assert fact == json.loads(cli("drift", "--all", "--json"))[0]
        assert (fact["ref"], fact["from"]) == ("dataset/x@v2", "dataset/x@v1")
        assert "schema" in fact["drifted"]
        assert refused["hint"]
        health = get("health")
        assert set(health) == {"now", "coverage", "staleness", "freshness", "orphans", "crashed"}
        assert health["freshness"]["of"] == 1
        assert get("stale") == json.loads(cli("stale", "--all", "--json"))
