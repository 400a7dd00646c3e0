"""Every route of the API against every kind of caller, generated from the permission table.

One real `lineal server` (two worker processes) over two SQLite projects, both closed (each has
tokens). Each route x {viewer, contributor, approver, admin, no token, expired, revoked, a token
of the other project}: a caller the table allows gets anything but 401/403 (a 404 or 422 past
the check counts), every other caller gets 401 or 403 with the JSON error body; no
unauthorized call succeeds. The server's whole output and its databases never hold a token.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import PROJECT, populate

from lineal.model.grants import ROLES
from lineal.model.tokens import at_least
from lineal.server.app import create_app
from lineal.server.permissions import BATCH, PUBLIC, ROUTES, SERVER_LOG, needed
from lineal.store.registry import create_project, open_project
from server_process import start_server, stop

OTHER = "other"
CALLERS = (*ROLES, "none", "expired", "revoked", "other-project")


@dataclass
class Matrix:
    url: str
    folder: Path
    facts: dict[str, str]
    tokens: dict[str, str]  # caller -> token text
    made: list[str] = field(default_factory=list)  # every token text the tests saw

    def headers(self, caller: str) -> dict[str, str]:
        token = self.tokens.get(caller)
        return {"authorization": f"Bearer {token}"} if token else {}


def _db(folder: Path, project: str) -> Path:
    return folder / "projects" / f"{project}.db"


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    folder = tmp_path_factory.mktemp("permissions")
    base = f"sqlite:///{folder / 'projects'}"
    facts = populate(create_project(base, PROJECT))
    create_project(base, OTHER)
    store = open_project(base, PROJECT)
    made = {role: store.issue_token("alice", role, "30d") for role in ROLES}
    expired = store.issue_token("alice", "admin", "30d")
    revoked = store.issue_token("alice", "admin", "30d")
    store.revoke_token(revoked.info.id)
    store.close()
    with sqlite3.connect(_db(folder, PROJECT)) as db:  # ended a minute ago
        db.execute(
            "UPDATE tokens SET expires = '2020-01-01T00:00:00+00:00' WHERE id = ?",
            (expired.info.id,),
        )
    other = open_project(base, OTHER)
    foreign = other.issue_token("alice", "admin", "30d")
    other.close()
    tokens = {role: one.token for role, one in made.items()}
    tokens |= {"expired": expired.token, "revoked": revoked.token, "other-project": foreign.token}
    proc, url = start_server(base, folder, args=["--workers", "2", "--project", PROJECT])
    served = Matrix(url, folder, facts, tokens, made=list(tokens.values()))
    try:
        yield served
    finally:
        stop(proc)


def _walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, full path) of every route, into included routers (however FastAPI nests them)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _walk(inner.routes, prefix + route.include_context.prefix)
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            yield method, prefix + route.path


def _app_routes(tmp_path: Path) -> list[tuple[str, str]]:
    return sorted(set(_walk(create_app(f"sqlite:///{tmp_path}").routes)))


def test_every_route_has_a_permission(tmp_path: Path) -> None:
    found = _app_routes(tmp_path)
    assert len(found) > 60  # the walk saw the routers' routes, not only the app's own
    missing = [f"{method} {path}" for method, path in found if needed(method, path) is None]
    assert not missing, f"routes without an entry in lineal.server.permissions.ROUTES: {missing}"
    stale = sorted(set(ROUTES) - {(m, p) for m, p in found})
    assert not stale, f"entries of ROUTES that no route has: {stale}"


def test_the_walk_fails_on_an_undeclared_route(tmp_path: Path) -> None:
    app = create_app(f"sqlite:///{tmp_path}")
    app.add_api_route("/api/v1/projects/{project}/new", lambda project: None, methods=["GET"])
    assert ("GET", "/api/v1/projects/{project}/new") in set(_walk(app.routes))
    assert needed("GET", "/api/v1/projects/{project}/new") is None


#: Path parameter values; query and body values come from the OpenAPI schema.
_PATH_VALUES = {
    "project": PROJECT,
    "ref": "detector",
    "name": "detector",
    "run_id": "0" * 26,
    "hexdigest": hashlib.sha256(b"matrix").hexdigest(),
    "token_id": "0" * 16,
    "model_id": "m-0",
    "tag_key": "k",
}
#: MLflow's REST API refuses in MLflow's shape, which its client reads.
_MLFLOW_API = "/api/2.0/"
_MLFLOW_CODES = {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED"}


def _value(schema: dict[str, Any], name: str) -> Any:
    kinds = [schema.get("type")] + [one.get("type") for one in schema.get("anyOf", [])]
    if "integer" in kinds:
        return 1
    if "boolean" in kinds:
        return False
    if "array" in kinds:
        return []
    if "object" in kinds:
        return {}
    return {"role": "viewer", "agent": "matrix", "run_id": "0" * 26}.get(name, "x")


def _request(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    """The least a call of ``method path`` needs to get past parsing: required query
    parameters and body fields, by their schema's type."""
    operation = spec["paths"].get(path, {}).get(method.lower(), {})
    params = {
        p["name"]: _value(p.get("schema", {}), p["name"])
        for p in operation.get("parameters", [])
        if p["in"] == "query" and p.get("required")
    }
    request: dict[str, Any] = {"params": params}
    if path.endswith(("/batches", "/trial")):
        request["content"] = b"null\nnot a batch" if path.endswith("/trial") else b"not a batch"
    elif method == "PUT":
        request["content"] = b"matrix"
    elif "requestBody" in operation:
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        if "$ref" in body:
            body = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
        request["json"] = {
            key: _value(value, key)
            for key, value in body.get("properties", {}).items()
            if key in body.get("required", [])
        }
    return request


#: MLflow's artifact routes (``…/mlflow-artifacts/artifacts/{artifact_path:path}``).
_PATH_VALUES["artifact_path"] = f"0/{'0' * 26}/artifacts/matrix.txt"


def _cells() -> list[tuple[str, str, str]]:
    return [(m, p, caller) for (m, p) in sorted(ROUTES) for caller in CALLERS]


def _allowed(rule: str, caller: str) -> bool:
    if rule == PUBLIC:
        return True
    if rule == SERVER_LOG:
        return False  # the matrix's project has tokens: the server's own log is not served
    return caller in ROLES and at_least(caller, rule.removesuffix(BATCH))


def test_the_matrix(matrix: Matrix) -> None:
    spec = httpx.get(f"{matrix.url}/api/v1/openapi.json").json()
    wrong: list[str] = []
    with httpx.Client(base_url=matrix.url, timeout=30) as client:
        for method, path, caller in _cells():
            url = path.replace(":path}", "}").format(**_PATH_VALUES)  # {artifact_path:path}
            answer = client.request(
                method, url, headers=matrix.headers(caller), **_request(spec, method, path)
            )
            if method == "POST" and path.endswith("/tokens") and answer.status_code == 200:
                matrix.made.append(answer.json()["token"])
            allowed = _allowed(ROUTES[(method, path)], caller)
            status = answer.status_code
            cell = f"{caller:>13} {method} {path} -> {status}"
            if allowed and (status in (401, 403) or status >= 500):
                wrong.append(f"refused or failed: {cell} {answer.text[:200]}")
            elif not allowed and status not in (401, 403):
                wrong.append(f"NOT REFUSED: {cell}")
            elif not allowed and _MLFLOW_API in path:
                body = answer.json()
                if set(body) != {"error_code", "message"} or (
                    body["error_code"] != _MLFLOW_CODES[status]
                ):
                    wrong.append(f"bad MLflow error body: {cell} {body}")
                if status == 401 and answer.headers.get("www-authenticate") != "Bearer":
                    wrong.append(f"no WWW-Authenticate: {cell}")
            elif not allowed and method != "HEAD":
                body = answer.json()
                expected = "unauthenticated" if status == 401 else "permission"
                if set(body) != {"error", "hint", "code"} or body["code"] != expected:
                    wrong.append(f"bad error body: {cell} {body}")
                if status == 401 and answer.headers.get("www-authenticate") != "Bearer":
                    wrong.append(f"no WWW-Authenticate: {cell}")
    assert not wrong, "\n".join(wrong)
    # The roles and callers above each met every route.
    assert len(_cells()) == len(ROUTES) * len(CALLERS)


def test_a_revoked_token_is_refused_at_once_by_every_worker(matrix: Matrix) -> None:
    admin = matrix.headers("admin")
    base = f"{matrix.url}/api/v1/projects/{PROJECT}"
    made = httpx.post(f"{base}/tokens", headers=admin, json={"agent": "carol", "role": "viewer"})
    assert made.status_code == 200, made.text
    token = made.json()["token"]
    matrix.made.append(token)
    mine = {"authorization": f"Bearer {token}"}
    clients = [httpx.Client(timeout=10) for _ in range(6)]  # new connections: both workers
    try:
        for client in clients:
            assert client.get(f"{base}/whoami", headers=mine).json()["agent"] == "carol"
        gone = httpx.delete(f"{base}/tokens/{made.json()['id']}", headers=admin)
        assert gone.status_code == 200
        assert gone.json()["revoked"] is not None
        for client in clients:  # the same kept-alive connections, each worker's
            refused = client.get(f"{base}/whoami", headers=mine)
            assert refused.status_code == 401
            assert "revoked" in refused.json()["error"]
    finally:
        for client in clients:
            client.close()


def test_whoami_answers_the_tokens_agent_role_id_and_expiry(matrix: Matrix) -> None:
    answer = httpx.get(
        f"{matrix.url}/api/v1/projects/{PROJECT}/whoami", headers=matrix.headers("approver")
    ).json()
    assert answer["agent"] == "alice"
    assert answer["role"] == "approver"
    assert answer["open"] is False
    assert answer["token_id"] == matrix.tokens["approver"].split("_")[1]
    assert answer["expires"] is not None


def test_a_bad_authorization_header_is_a_401_that_does_not_echo_it(matrix: Matrix) -> None:
    url = f"{matrix.url}/api/v1/projects/{PROJECT}/log"
    secret = matrix.tokens["admin"]
    changed = secret[:-1] + ("B" if secret.endswith("A") else "A")  # one character off
    for header in (f"Basic {secret}", f"Bearer {secret}x", "Bearer", f"Bearer {changed}"):
        answer = httpx.get(url, headers={"authorization": header})
        assert answer.status_code == 401, header
        assert secret not in answer.text
        assert secret.split("_", 2)[2][:20] not in answer.text


def test_tokens_are_nowhere_in_the_servers_output_or_databases(matrix: Matrix) -> None:
    # Runs last in this module: every token the tests made or used is in matrix.made.
    assert len(matrix.made) >= 9
    log = (matrix.folder / "server.log").read_text()
    dumps = []
    for project in (PROJECT, OTHER):
        with sqlite3.connect(_db(matrix.folder, project)) as db:
            dumps.append("\n".join(db.iterdump()))
    for token in matrix.made:
        secret = token.split("_", 2)[2]  # the secret may hold "_" itself
        assert token not in log
        assert secret not in log
        for dump in dumps:
            assert secret not in dump
    # The dump holds the tokens' rows, hashed: the check looked at them.
    assert all(one.split("_")[1] in dumps[0] for one in matrix.made[:4])
    assert json.dumps(dumps)  # plain text, nothing binary hid a secret


def test_a_server_beyond_loopback_serves_no_open_project(tmp_path: Path) -> None:
    """`lineal server --host 0.0.0.0` (no --open) builds its app without allow_open: a project
    made after it started answers no one until it has a token."""
    import asyncio

    base = f"sqlite:///{tmp_path / 'projects'}"
    create_project(base, "late")
    app = create_app(base, allow_open=False)

    async def status(path: str, token: str | None = None) -> tuple[int, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lineal") as client:
            headers = {"authorization": f"Bearer {token}"} if token else {}
            answer = await client.get(path, headers=headers)
            return answer.status_code, answer.json()

    code, body = asyncio.run(status("/api/v1/projects/late/log"))
    assert code == 401
    assert "serves no open project" in body["error"]
    assert asyncio.run(status("/api/v1/health"))[0] == 200
    store = open_project(base, "late")
    token = store.issue_token("alice", "viewer").token
    store.close()
    assert asyncio.run(status("/api/v1/projects/late/log", token))[0] == 200
    assert asyncio.run(status("/api/v1/projects/late/log"))[0] == 401
    app.state.projects.close()
