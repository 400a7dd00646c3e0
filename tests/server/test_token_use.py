"""Tokens in use: a batch is taken only from its own agent's token with the role its ops need;
`lineal login|logout` and `lineal token create|list|revoke` (directly on the server's store and
through the API); an open project and what `lineal server` says and refuses about it.

One real `lineal server` over SQLite projects for the module: ``vision`` (closed: alice is its
admin) and ``open`` (no token).
"""

from __future__ import annotations

import json
import os
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from live_server import LINEAL_BIN, PROJECT

from lineal.client import Lineal
from lineal.errors import PermissionDenied
from lineal.ledger.keys import Signer
from lineal.model.grants import RoleGrant
from lineal.model.ops import AgentRegister, ArtifactRecord, ModelApprove, Op
from lineal.model.refs import parse
from lineal.store.batches import encode_batch
from lineal.store.registry import create_project, open_project, open_store
from server_process import start_server, stop

OPEN = "open"


@dataclass
class Site:
    base: str
    url: str
    folder: Path
    alice: Signer
    tokens: dict[str, str]  # "alice-admin", "alice-contributor", "bob-contributor", …

    def api(self, project: str = PROJECT) -> str:
        return f"{self.url}/api/v1/projects/{project}"

    def bearer(self, name: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[name]}"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("tokens")
    base = f"sqlite:///{folder / 'projects'}"
    alice = Signer.generate("alice")
    store = open_store(create_project(base, PROJECT), alice)
    store.append(AgentRegister(name="alice", public_key=alice.public_key))  # the first: admin
    store.close()
    create_project(base, OPEN)
    store = open_project(base, PROJECT)
    tokens = {
        f"{agent}-{role}": store.issue_token(agent, role).token
        for agent, role in [
            ("alice", "admin"),
            ("alice", "contributor"),
            ("alice", "viewer"),
            ("bob", "contributor"),
        ]
    }
    store.close()
    proc, url = start_server(base, folder)
    try:
        yield Site(base, url, folder, alice, tokens)
    finally:
        stop(proc)


def _batch(signer: Signer, *ops: Op) -> bytes:
    return encode_batch(signer.name, list(ops), f"b-{uuid.uuid4().hex}", signer=signer)


def _artifact(label: str) -> ArtifactRecord:
    from lineal.model.digests import digest_bytes

    return ArtifactRecord(kind="dataset", digest=digest_bytes(label.encode()), name=label)


def _send(site: Site, token: str, body: bytes) -> httpx.Response:
    return httpx.post(f"{site.api()}/batches", content=body, headers=site.bearer(token))


def test_a_batch_is_taken_only_from_its_own_agents_token(site: Site) -> None:
    bob = Signer.generate("bob")
    register = _batch(bob, AgentRegister(name="bob", public_key=bob.public_key))
    refused = _send(site, "alice-contributor", register)
    assert refused.status_code == 403
    assert "signed as bob was sent with token" in refused.json()["error"]
    taken = _send(site, "bob-contributor", register)  # bob registers his own key
    assert taken.status_code == 200
    assert taken.json()["receipts"][0]["ok"], taken.text
    # alice's key, signing as alice, but bob's token: refused before the store sees it.
    assert _send(site, "bob-contributor", _batch(site.alice, _artifact("x"))).status_code == 403
    # bob's name on a batch alice's key signed: the token matches, the store refuses the key.
    forged = encode_batch(
        "bob", [_artifact("y")], "b-forged", signer=Signer("bob", site.alice.private_key)
    )
    answer = _send(site, "bob-contributor", forged).json()["receipts"][0]
    assert not answer["ok"]
    assert answer["code"] == "permission"


def test_a_batch_needs_the_highest_role_its_ops_need(site: Site) -> None:
    grant = _batch(site.alice, RoleGrant(agent="bob", role="approver"))
    refused = _send(site, "alice-contributor", grant)
    assert refused.status_code == 403
    assert "role.grant needs role admin" in refused.json()["error"]
    mixed = _batch(site.alice, _artifact("plain"), RoleGrant(agent="bob", role="approver"))
    assert _send(site, "alice-contributor", mixed).status_code == 403
    taken = _send(site, "alice-admin", grant)
    assert taken.status_code == 200
    assert taken.json()["receipts"][0]["ok"], taken.text
    approve = _batch(
        site.alice, ModelApprove(name="m", alias="prod", digest="sha256:" + "a" * 64, reason="ok")
    )
    assert "needs role approver" in _send(site, "alice-contributor", approve).json()["error"]
    assert _send(site, "alice-viewer", _batch(site.alice, _artifact("z"))).status_code == 403


def test_an_sdk_writes_and_reads_with_its_token(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINEAL_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("LINEAL_CREDENTIALS", str(tmp_path / "credentials.toml"))
    uri = f"{site.url}/projects/{PROJECT}"
    monkeypatch.setenv("LINEAL_TOKEN", site.tokens["alice-contributor"])
    lin = Lineal(open_store(uri, site.alice))
    made = lin.record_artifact("dataset", data=b"with a token", name="tokened")
    assert made.seq > 0  # the server answered: appended, not spooled
    assert lin.store.resolve(parse("dataset/tokened")).digest == made.digest
    lin.store.close()
    monkeypatch.delenv("LINEAL_TOKEN")
    anonymous = open_store(uri)  # no token: the project answers nothing
    with pytest.raises(PermissionDenied, match="needs a token"):
        anonymous.head()
    anonymous.close()


def _cli(tmp_path: Path, *args: str, stdin: str | None = None, **env: str) -> tuple[int, str, str]:
    """Run `lineal` as a user would, its credentials file under ``tmp_path``."""
    import subprocess

    clean = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    done = subprocess.run(  # noqa: PLW1510
        [str(LINEAL_BIN), *args],
        cwd=tmp_path,
        env={**clean, "LINEAL_CREDENTIALS": str(tmp_path / "cred.toml"), "COLUMNS": "200", **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr
    return done.returncode, done.stdout, done.stderr


def test_login_token_commands_and_logout(site: Site, tmp_path: Path) -> None:
    url = f"{site.url}/projects/{PROJECT}"
    api_url = f"{site.url}/api/v1/projects/{PROJECT}"
    code, out, err = _cli(tmp_path, "login", api_url, "--token-stdin", stdin="not-a-token\n")
    assert code == 1
    assert err.startswith("error: not a lineal token")
    assert not (tmp_path / "cred.toml").exists()
    admin = site.tokens["alice-admin"]
    code, out, err = _cli(tmp_path, "login", api_url, "--token-stdin", stdin=admin + "\n")
    assert code == 0, err
    assert f"Logged in to {url} as alice (admin;" in out
    assert admin not in out
    saved = tmp_path / "cred.toml"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert admin in saved.read_text()
    env = {"LINEAL_URI": url}
    code, out, err = _cli(
        tmp_path,
        "token",
        "create",
        "--agent",
        "dave",
        "--role",
        "viewer",
        "--expires",
        "2w",
        "--json",
        **env,
    )
    assert code == 0, err
    made = json.loads(out)
    assert (made["agent"], made["role"], made["created_by"]) == ("dave", "viewer", "alice")
    code, out, err = _cli(tmp_path, "token", "list", "--json", **env)
    assert code == 0, err
    listed = {one["id"]: one for one in json.loads(out)}
    assert listed[made["id"]]["state"] == "active"
    assert all("token" not in one for one in listed.values())
    assert made["token"] not in out
    code, out, err = _cli(tmp_path, "token", "revoke", made["id"], **env)
    assert code == 0, err
    gone = httpx.get(f"{api_url}/whoami", headers={"authorization": f"Bearer {made['token']}"})
    assert gone.status_code == 401
    # LINEAL_TOKEN overrides the saved token: a viewer may not list tokens.
    code, out, err = _cli(
        tmp_path, "token", "list", **env, LINEAL_TOKEN=site.tokens["alice-viewer"]
    )
    assert code == 1
    assert "needs role admin" in err
    code, out, err = _cli(tmp_path, "logout", url)
    assert code == 0
    assert "Logged out" in out
    assert admin not in saved.read_text()
    code, out, err = _cli(tmp_path, "token", "list", **env)
    assert code == 1
    assert err.startswith(f"error: project {PROJECT} needs a token")
    assert "lineal login" in err


def test_the_first_token_is_made_on_the_server_machine(site: Site, tmp_path: Path) -> None:
    create_project(site.base, "boot")  # the running server opens it on its first request
    assert httpx.get(f"{site.api('boot')}/whoami").json()["open"] is True
    code, out, err = _cli(
        tmp_path, "token", "create", "--uri", site.base, "--project", "boot",
        "--agent", "erin", "--role", "admin", "--json",
    )  # fmt: skip
    assert code == 0, err
    made = json.loads(out)
    assert made["created_by"] is None
    mine = {"authorization": f"Bearer {made['token']}"}
    who = httpx.get(f"{site.api('boot')}/whoami", headers=mine).json()
    assert (who["agent"], who["role"], who["token_id"]) == ("erin", "admin", made["id"])
    refused = httpx.get(f"{site.api('boot')}/log")  # closed from the first token on
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    code, out, err = _cli(tmp_path, "token", "list", "--uri", site.base)
    assert code == 1
    assert err.startswith("error: --uri needs --project")


def test_an_open_project_serves_anyone_but_mints_no_token(site: Site) -> None:
    assert httpx.get(f"{site.api(OPEN)}/log").status_code == 200
    assert httpx.get(f"{site.api(OPEN)}/whoami").json() == {
        "open": True, "agent": None, "role": None, "token_id": None, "expires": None,
        "token": None,
    }  # fmt: skip
    minted = httpx.post(f"{site.api(OPEN)}/tokens", json={"agent": "eve", "role": "admin"})
    assert minted.status_code == 403
    assert "made on the server machine" in minted.json()["error"]
    # A token is always checked: one of another project is refused even here.
    other = httpx.get(f"{site.api(OPEN)}/log", headers=site.bearer("alice-admin"))
    assert other.status_code == 401


def test_the_server_warns_of_open_projects_and_guards_other_hosts(
    site: Site, tmp_path: Path
) -> None:
    log = (site.folder / "server.log").read_text()
    assert f"warning: project {OPEN} has no token" in log
    assert f"project {PROJECT} has no token" not in log
    code, _, err = _cli(tmp_path, "server", "--uri", site.base, "--host", "0.0.0.0")  # noqa: S104
    assert code == 1
    assert err.startswith(f"error: refusing to listen on 0.0.0.0 while project(s) {OPEN}")
    assert "--open" in err


def test_a_write_the_server_refuses_for_its_token_fails_at_the_call(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINEAL_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("LINEAL_CREDENTIALS", str(tmp_path / "credentials.toml"))
    monkeypatch.setenv("LINEAL_TOKEN", site.tokens["bob-contributor"])  # alice signs
    store = open_store(f"{site.url}/projects/{PROJECT}", site.alice)
    try:
        with pytest.raises(PermissionDenied, match="signed as alice was sent with token"):
            store.append(_artifact("as-bob"))
        assert store.spooled()[0] == 1  # kept: sent once the right token is in place
    finally:
        monkeypatch.setenv("LINEAL_SYNC_TIMEOUT", "0")
        store.close()


def test_a_server_remote_sends_the_token(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineal.errors import Unauthenticated
    from lineal.remotes import open_remote

    monkeypatch.setenv("LINEAL_CREDENTIALS", str(tmp_path / "credentials.toml"))
    digest = "sha256:" + "b" * 64
    url = f"{site.url}/projects/{PROJECT}"
    with pytest.raises(Unauthenticated, match="needs a token"):
        open_remote(url, {}).missing([digest])
    monkeypatch.setenv("LINEAL_TOKEN", site.tokens["alice-viewer"])
    assert open_remote(url, {}).missing([digest]) == [digest]
    assert site.tokens["alice-viewer"] not in repr(open_remote(url, {}))
