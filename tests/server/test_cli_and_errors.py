"""The CLI against a server (LINEAL_URI=http://…), error bodies, a dead server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from live_server import PROJECT, Served

from lineal.errors import StoreUnavailable
from lineal.store.registry import open_store
from server_process import free_port


def test_the_cli_reads_through_the_server(
    served: Served, lineal_cli: object, tmp_path: Path
) -> None:
    env = {"LINEAL_URI": served.lineal_uri}

    def ok(*args: str) -> str:
        done = lineal_cli(*args, cwd=tmp_path, env=env)  # type: ignore[operator]
        assert done.returncode == 0, done.stderr
        return str(done.stdout)

    tree = ok("upstream", served.facts["model"])
    assert f"run/{served.facts['run']}" in tree
    assert "dataset/raw@v1" in tree  # two hops up, through derived_from
    shown = json.loads(ok("show", served.facts["model"], "--json"))
    assert shown["aliases"] == ["model/detector:prod"]
    runs = ok("runs")
    assert served.facts["run"] in runs
    assert served.facts["other"] in runs
    log = json.loads(ok("log", "--json", "--limit", "3"))
    # The server registered its own agent (it commits client batches) when it first opened
    # the project, after the records written straight to the project's database.
    assert [entry["op"] for entry in log] == ["agent.register", "redact", "tag.set"]
    assert log[0]["payload"]["name"] == "lineal-server"
    assert ok("verify").startswith("OK: 22 records")
    refused = lineal_cli("tag", served.facts["model"], "x=y", cwd=tmp_path, env=env)  # type: ignore[operator]
    assert refused.returncode == 1  # no workspace here: no key to sign a batch with
    assert refused.stderr.startswith("error: no signing key to write to http://")
    assert "\nhint: " in refused.stderr
    assert "Traceback" not in refused.stderr


def _error(answer: httpx.Response, status: int) -> dict[str, str]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error", "hint", "code"}
    assert body["error"]
    assert "\n" not in body["error"]
    assert body["hint"]
    return body


def test_error_bodies(served: Served) -> None:
    api = f"{served.url}/api/v1/projects"
    body = _error(httpx.get(f"{api}/nope/store/head"), 404)
    assert body["code"] == "not_found"
    assert "nope" in body["error"]
    _error(httpx.get(f"{api}/..%2Fetc/store/head"), 404)
    body = _error(httpx.get(f"{api}/{PROJECT}/store/resolve", params={"ref": "bad"}), 400)
    assert body["code"] == "invalid_input"
    assert "bad reference" in body["error"]
    body = _error(httpx.get(f"{api}/{PROJECT}/store/resolve", params={"ref": "dataset/x"}), 404)
    assert body["code"] == "not_found"
    body = _error(httpx.get(f"{api}/{PROJECT}/store/records", params={"limit": "abc"}), 422)
    assert body["code"] == "invalid_input"
    assert "limit" in body["error"]
    _error(httpx.get(f"{api}/{PROJECT}/store/records", params={"limit": 2**64}), 422)
    _error(httpx.get(f"{api}/{PROJECT}/store/resolve"), 422)  # a required parameter missing
    body = _error(
        httpx.post(f"{api}/{PROJECT}/store/search_runs", json={"filter": "metrics. >"}), 400
    )
    assert body["code"] == "invalid_input"
    body = _error(httpx.get(f"{api}/{PROJECT}/store/tags", params={"node": "a\x00b"}), 422)
    assert body["error"] == "bad node: a NUL character"
    _error(httpx.post(f"{api}/{PROJECT}/store/labels", json={"nodes": "x", "more": 1}), 422)
    _error(httpx.post(f"{api}/{PROJECT}/store/artifact_details", json={"artifact": {}}), 400)
    _error(httpx.get(f"{served.url}/api/v1/nothing-here"), 404)


def test_an_unreachable_server_says_so_in_one_line() -> None:
    uri = f"http://127.0.0.1:{free_port()}/projects/{PROJECT}"
    with pytest.raises(StoreUnavailable, match="cannot reach the lineal server at ") as failed:
        open_store(uri)
    assert "\n" not in failed.value.message
    assert failed.value.hint


def test_an_unknown_project_fails_when_opened(served: Served) -> None:
    from lineal.errors import NotFound

    with pytest.raises(NotFound, match="no project 'nope' on this server"):
        open_store(f"{served.url}/projects/nope")
