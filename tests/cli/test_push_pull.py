"""`lineal push` and `lineal pull` say plainly when there is nothing to move, and pull works in
a workspace that recorded runs (their environment and code digests name no stored bytes)."""

from __future__ import annotations

import json
import shutil
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
