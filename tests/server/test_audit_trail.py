"""The server's audit trail on a real server process (SQLite and PostgreSQL projects): every
request of a scripted sequence, refused ones too, is in the audit log exactly once, in its
project's log or the server's own; an edited row is named by verify; an export checks offline.

Each scripted request carries a marker reference (``subject=…``, which every route ignores and
the audit records), so the rows are told apart from those of other requests.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from live_server import PROJECT, Served

from lineal.errors import NotFound
from lineal.ledger.keys import Signer
from lineal.model.ops import AgentRegister, ArtifactRecord, TagSet
from lineal.store.registry import open_store

if TYPE_CHECKING:
    from conftest import Cli

SERVER_LOG = None
#: (method, path under /api/v1, params, body, expected status, whose log: PROJECT or the server)
SCRIPT: list[tuple[str, str, dict[str, Any], Any, int, str | None]] = [
    ("GET", f"/projects/{PROJECT}/upstream", {"ref": "model/detector@v1"}, None, 200, PROJECT),
    ("GET", f"/projects/{PROJECT}/show", {"ref": "dataset/nope"}, None, 404, PROJECT),
    ("GET", f"/projects/{PROJECT}/runs", {"limit": 0}, None, 422, PROJECT),
    ("POST", f"/projects/{PROJECT}/store/labels", {}, {"nodes": ["run/x"]}, 200, PROJECT),
    ("POST", f"/projects/{PROJECT}/batches", {}, b"", 400, PROJECT),
    ("GET", f"/projects/{PROJECT}/store/head", {}, None, 200, PROJECT),
    ("HEAD", f"/projects/{PROJECT}/objects/sha256/{'0' * 64}", {}, None, 404, PROJECT),
    ("GET", f"/projects/{PROJECT}/models/detector", {}, None, 200, PROJECT),
    (
        "GET",
        f"/projects/{PROJECT}/store/versions",
        {"kind": "dataset", "name": "raw"},
        None,
        200,
        PROJECT,
    ),
    ("GET", f"/projects/{PROJECT}/no-such-route", {}, None, 404, SERVER_LOG),
    ("GET", "/projects/no-such-project/show", {"ref": "dataset/x"}, None, 404, SERVER_LOG),
    ("GET", "/health", {}, None, 200, SERVER_LOG),
    ("GET", "/projects", {}, None, 200, SERVER_LOG),
]


def _audit(served: Served, project: str | None, **params: Any) -> list[dict[str, Any]]:
    where = "/audit" if project is None else f"/projects/{project}/audit"
    answer = httpx.get(f"{served.url}/api/v1{where}", params={"limit": 10000, **params})
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["rows"]
    return rows


def test_every_request_is_in_the_audit_log_once(served: Served) -> None:
    run = uuid.uuid4().hex[:10]
    marks = [f"dataset/mark-{run}@v{i}" for i in range(len(SCRIPT))]
    with httpx.Client(base_url=f"{served.url}/api/v1") as client:
        for mark, (method, path, params, body, status, _) in zip(marks, SCRIPT, strict=True):
            kwargs: dict[str, Any] = {"params": {**params, "subject": mark}}
            if isinstance(body, bytes):
                kwargs["content"] = body
            elif body is not None:
                kwargs["json"] = body
            answer = client.request(method, path, **kwargs)
            assert answer.status_code == status, (path, answer.text)
    logs = {
        PROJECT: _audit(served, PROJECT, ref=f"dataset/mark-{run}"),
        SERVER_LOG: _audit(served, SERVER_LOG, ref=f"dataset/mark-{run}"),
    }
    for mark, (method, path, _, _, status, log) in zip(marks, SCRIPT, strict=True):
        found = [(name, row) for name, rows in logs.items() for row in rows if mark in row["refs"]]
        assert len(found) == 1, (path, found)
        ((name, row),) = found
        assert name == log, path
        assert row["method"] == method
        assert row["path"] == f"/api/v1{path}"
        assert row["status"] == status
        assert row["outcome"] == ("ok" if status < 400 else "refused")
    upstream = next(row for row in logs[PROJECT] if marks[0] in row["refs"])
    assert upstream["endpoint"] == "/api/v1/projects/{project}/upstream"
    assert "model/detector@v1" in upstream["refs"]
    unknown = next(row for row in logs[SERVER_LOG] if marks[10] in row["refs"])
    assert "project/no-such-project" in unknown["refs"]
    model = next(row for row in logs[PROJECT] if marks[7] in row["refs"])
    assert "model/detector" in model["refs"]
    versions = next(row for row in logs[PROJECT] if marks[8] in row["refs"])
    assert "dataset/raw" in versions["refs"]


def test_a_write_through_the_server_is_one_row_naming_its_records(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINEAL_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("LINEAL_WRITE_WAIT", "300")
    name = f"w-{uuid.uuid4().hex[:10]}"
    signer = Signer.generate(name)
    store = open_store(served.lineal_uri, signer)
    refused_before = _refused_batches(served)
    try:
        store.append(AgentRegister(name=name, public_key=signer.public_key))
        store.append(ArtifactRecord(kind="dataset", digest=f"sha256:{'ab' * 32}", name=name))
        with pytest.raises(NotFound):  # the server refuses it: its request's row says so
            store.append(TagSet(target=f"sha256:{'cd' * 32}", key="k", value="v"))
    finally:
        store.close()
    assert len(_refused_batches(served)) == len(refused_before) + 1
    rows = _audit(served, PROJECT, ref=f"dataset/{name}")
    assert len(rows) == 1, rows
    (row,) = rows
    assert row["endpoint"] == "/api/v1/projects/{project}/batches"
    assert f"agent/{name}" in row["refs"]
    assert any(ref.startswith("batch/") for ref in row["refs"])
    assert any(ref.startswith("ledger/") for ref in row["refs"])
    # the server's store added no row of its own for that write
    assert all(r["endpoint"] != "store.submit" for r in _audit(served, PROJECT))


def _refused_batches(served: Served) -> list[dict[str, Any]]:
    return [
        row
        for row in _audit(served, PROJECT)
        if row["endpoint"].endswith("/batches") and row["outcome"] == "refused"
    ]


def _sql(served: Served, statement: str, params: tuple[Any, ...]) -> None:
    if served.store_uri.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(served.store_uri.removeprefix("sqlite:///")) as conn:
            conn.execute(statement, params)
        return
    import psycopg

    with psycopg.connect(served.store_uri, autocommit=True) as conn:
        conn.execute(statement.replace("?", "%s"), params)


def test_an_edited_row_is_named_by_verify(served: Served) -> None:
    httpx.get(f"{served.url}/api/v1/health")
    rows = _audit(served, PROJECT)
    victim = rows[len(rows) // 2]
    _sql(served, "UPDATE audit SET agent = ? WHERE seq = ?", ("mallory", victim["seq"]))
    try:
        report = httpx.get(f"{served.url}/api/v1/projects/{PROJECT}/verify").json()
    finally:
        _sql(served, "UPDATE audit SET agent = ? WHERE seq = ?", (victim["agent"], victim["seq"]))
    assert report["ok"] is False
    assert report["ledger_ok"] is True
    assert report["audit"]["problem"]["seq"] == victim["seq"]
    assert f"audit row {victim['seq']} was altered" in report["audit"]["problem"]["what"]
    after = httpx.get(f"{served.url}/api/v1/projects/{PROJECT}/verify").json()
    assert after["audit"]["ok"] is True, after["audit"]


def test_an_export_checks_offline(served: Served, tmp_path: Path, lineal_cli: Cli) -> None:
    answer = httpx.get(f"{served.url}/api/v1/projects/{PROJECT}/audit/export")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    export = tmp_path / "audit.jsonl"
    export.write_text(answer.text)
    done = lineal_cli("audit", "verify", str(export), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True
    assert report["signer"] == "lineal-server"
    # one byte of one row changed: named
    lines = export.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if '"type":"row"' in line and '"seq":3,' in line)
    lines[index] = lines[index].replace('"method":"', '"method":"X', 1)
    export.write_text("\n".join(lines) + "\n")
    done = lineal_cli("audit", "verify", str(export), cwd=tmp_path)
    assert done.returncode == 1
    assert "audit row 3 was altered" in done.stderr
    assert done.stderr.startswith("error: ")


def test_lineal_audit_in_a_workspace_whose_store_is_the_server(
    served: Served, tmp_path: Path, lineal_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lineal

    spool = {"LINEAL_SPOOL": str(tmp_path / "spool"), "LINEAL_WRITE_WAIT": "300"}
    for key, value in spool.items():
        monkeypatch.setenv(key, value)
    lineal.init(tmp_path, agent=f"u-{uuid.uuid4().hex[:8]}", uri=served.lineal_uri)
    httpx.get(f"{served.url}/api/v1/projects/{PROJECT}/show", params={"ref": "model/detector"})
    done = lineal_cli("audit", "--ref", "model/detector", "--json", cwd=tmp_path, env=spool)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert any(row["endpoint"] == "/api/v1/projects/{project}/show" for row in rows)
    export = tmp_path / "audit.jsonl"
    done = lineal_cli("audit", "export", "-o", str(export), cwd=tmp_path, env=spool)
    assert done.returncode == 0, done.stderr
    done = lineal_cli("audit", "verify", str(export), cwd=tmp_path, env=spool)
    assert done.returncode == 0, done.stderr
    assert "signed by lineal-server" in done.stdout
