"""`lineal push` and `lineal pull` against a real `lineal server`: a workspace whose store is the
server needs no remote (the server's URL is enough), and a server's project can also be added
as a named remote of a workspace with its own store."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from lineal.store.registry import create_project

if TYPE_CHECKING:
    from conftest import Cli


def _project(server: tuple[str, str]) -> str:
    base, url = server
    name = f"o{uuid.uuid4().hex[:10]}"
    create_project(base, name)
    return f"{url}/projects/{name}"


def _ok(lineal_cli: Cli, *args: str, cwd: Path) -> str:
    done = lineal_cli(*args, cwd=cwd, env={"LINEAL_SPOOL": str(cwd.parent / f"{cwd.name}.spool")})
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def _data(folder: Path) -> dict[str, bytes]:
    folder.mkdir()
    files = {f"f{n}.bin": os.urandom(1000 * n + 1) for n in range(8)}
    for name, blob in files.items():
        (folder / name).write_bytes(blob)
    return files


def test_a_team_needs_only_the_servers_url(
    lineal_server: tuple[str, str], lineal_cli: Cli, tmp_path: Path
) -> None:
    uri = _project(lineal_server)
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    alice.mkdir()
    bob.mkdir()
    _ok(lineal_cli, "init", "--agent", "alice", "--uri", uri, cwd=alice)
    files = _data(alice / "data")
    _ok(lineal_cli, "add", "data", "--name", "d", cwd=alice)
    pushed = json.loads(_ok(lineal_cli, "push", "--json", cwd=alice))
    assert (pushed["transferred"], pushed["failed"]) == (len(files) + 1, [])  # and the manifest
    # The push's checkpoint of the server's ledger is kept here, out of the server's reach.
    assert len(list((alice / ".lineal" / "checkpoints").glob("*.json"))) == 1
    assert _ok(lineal_cli, "push", cwd=alice) == (
        f"nothing to push: the remote already has all {len(files) + 1} objects\n"
    )
    # Another machine: the same URL, no remote configured, an empty cache.
    _ok(lineal_cli, "init", "--agent", "bob", "--uri", uri, cwd=bob)
    pulled = json.loads(_ok(lineal_cli, "pull", "--json", cwd=bob))
    assert (pulled["transferred"], pulled["skipped"]) == (len(files) + 1, 0)
    _ok(lineal_cli, "checkout", "dataset/d", str(bob / "out"), cwd=bob)
    for name, blob in files.items():
        assert (bob / "out" / name).read_bytes() == blob
    assert "nothing to pull" in _ok(lineal_cli, "pull", cwd=bob)
    # A checkout fetches what the cache lacks from the server, as from a default remote.
    carol = tmp_path / "carol"
    carol.mkdir()
    _ok(lineal_cli, "init", "--agent", "carol", "--uri", uri, cwd=carol)
    _ok(lineal_cli, "checkout", "dataset/d", str(carol / "out"), cwd=carol)
    assert {p.name: p.read_bytes() for p in (carol / "out").iterdir()} == files


def test_a_servers_project_as_a_named_remote(
    lineal_server: tuple[str, str], lineal_cli: Cli, tmp_path: Path
) -> None:
    uri = _project(lineal_server)
    _ok(lineal_cli, "init", "--agent", "alice", cwd=tmp_path)
    files = _data(tmp_path / "data")
    _ok(lineal_cli, "add", "data", "--name", "d", cwd=tmp_path)
    said = _ok(lineal_cli, "remote", "add", "team", uri, cwd=tmp_path)
    assert said == f"remote team -> {uri} (default)\n"
    assert json.loads(_ok(lineal_cli, "push", "--json", cwd=tmp_path))["transferred"] == 9
    objects = tmp_path / ".lineal" / "objects"
    for path in sorted(objects.rglob("*"), reverse=True):  # lose the local cache
        if path.is_file():
            path.chmod(0o644)
            path.unlink()
    assert json.loads(_ok(lineal_cli, "pull", "--json", cwd=tmp_path))["transferred"] == 9
    _ok(lineal_cli, "checkout", "dataset/d", str(tmp_path / "out"), cwd=tmp_path)
    for name, blob in files.items():
        assert (tmp_path / "out" / name).read_bytes() == blob


def test_bad_server_remotes_are_refused_in_one_line(
    lineal_server: tuple[str, str], lineal_cli: Cli, tmp_path: Path
) -> None:
    _, url = lineal_server
    _ok(lineal_cli, "init", "--agent", "alice", cwd=tmp_path)
    bad = lineal_cli("remote", "add", "team", f"{url}/vision", cwd=tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.splitlines()[0] == (
        f"error: bad server URL '{url}/vision': expected http(s)://HOST:PORT/projects/NAME"
    )
    option = lineal_cli(
        "remote", "add", "team", f"{url}/projects/x", "--region", "eu", cwd=tmp_path
    )
    assert option.returncode == 1
    assert "a lineal server remote takes no region option" in option.stderr
    _ok(lineal_cli, "remote", "add", "team", f"{url}/projects/nobody", cwd=tmp_path)
    missing = lineal_cli("push", cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.splitlines() == [
        "error: no project 'nobody' on this server",
        "hint: create it on the server: `lineal server project create nobody`",
    ]
    none = tmp_path / "none"
    none.mkdir()
    _ok(lineal_cli, "init", "--agent", "alice", cwd=none)
    unset = lineal_cli("push", cwd=none)
    assert unset.returncode == 1
    assert "lineal init --uri http://HOST:PORT/projects/NAME" in unset.stderr
