"""`lineal push` and `lineal pull` say plainly when there is nothing to move, and pull works in
a workspace that recorded runs (their environment and code digests name no stored bytes)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from cli_terminal import make_files, ok


def test_nothing_to_move_is_said_so(tmp_path: Path) -> None:
    ok("init", "--agent", "alice", cwd=tmp_path)
    make_files(tmp_path / "data", 5)
    ok("add", "data", "--name", "d", cwd=tmp_path)
    ok("run", "--in", "data", "--", "true", cwd=tmp_path)  # records env and code digests
    (tmp_path / "remote").mkdir()
    ok("remote", "add", "origin", str(tmp_path / "remote"), cwd=tmp_path)
    pushed = json.loads(ok("push", "--json", cwd=tmp_path))["transferred"]
    assert pushed >= 6  # the manifest and the five files
    assert ok("pull", cwd=tmp_path) == f"nothing to pull: all {pushed} objects are already local\n"
    assert ok("push", cwd=tmp_path) == (
        f"nothing to push: the remote already has all {pushed} objects\n"
    )
    shutil.rmtree(tmp_path / ".lineal" / "objects")  # a fresh clone's empty cache
    pulled = json.loads(ok("pull", "--json", cwd=tmp_path))
    assert (pulled["transferred"], pulled["skipped"], pulled["failed"]) == (pushed, 0, [])
    assert ok("pull", cwd=tmp_path) == f"nothing to pull: all {pushed} objects are already local\n"


def test_push_removes_what_killed_pushes_left_on_the_remote(tmp_path: Path) -> None:
    ok("init", "--agent", "alice", cwd=tmp_path)
    make_files(tmp_path / "data", 3)
    ok("add", "data", "--name", "d", cwd=tmp_path)
    remote = tmp_path / "remote"
    (remote / "incoming").mkdir(parents=True)
    ok("remote", "add", "origin", str(remote), cwd=tmp_path)
    killed = remote / "incoming" / f"{'a' * 64}.{'0' * 32}"  # as a push killed mid-upload left it
    killed.write_bytes(b"partial")
    assert "partial uploads" not in ok("push", cwd=tmp_path)  # fresh: someone may be pushing it
    assert killed.exists()
    an_hour_ago = time.time() - 3601
    os.utime(killed, (an_hour_ago, an_hour_ago))
    said = ok("push", cwd=tmp_path)
    assert "removed 1 partial uploads that interrupted pushes had left" in said
    assert not killed.exists()


def test_checkout_fetches_a_version_whose_manifest_is_not_local(tmp_path: Path) -> None:
    ok("init", "--agent", "alice", cwd=tmp_path)
    make_files(tmp_path / "data", 4)
    ok("add", "data", "--name", "d", cwd=tmp_path)
    (tmp_path / "remote").mkdir()
    ok("remote", "add", "origin", str(tmp_path / "remote"), cwd=tmp_path)
    ok("push", cwd=tmp_path)
    shutil.rmtree(tmp_path / ".lineal" / "objects")  # a fresh clone's empty cache
    ok("checkout", "dataset/d", str(tmp_path / "out"), cwd=tmp_path)
    for path in (tmp_path / "data").iterdir():
        assert (tmp_path / "out" / path.name).read_bytes() == path.read_bytes()
