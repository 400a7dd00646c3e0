"""Bad input to the `lineal` command, as a user gives it: each gets one clear `error:` line and
a `hint:` naming the fix, never "unexpected … report it" (issue 17).

A damaged database says it is damaged and how to recover; a config file that is not UTF-8
names the file; a limit beyond what SQL takes, a path longer than the system allows, are
refused where they are read.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cli_checks import error_and_hint
from lineal.client import Lineal

if TYPE_CHECKING:
    from conftest import Cli

LONG = "a" * 300  # longer than any file name the system allows (255 bytes)


@pytest.mark.parametrize("command", [["ls"], ["log"], ["verify"], ["runs"], ["status"]])
def test_a_config_that_is_not_utf8_names_the_file(
    ws: Path, lineal_cli: Cli, command: list[str]
) -> None:
    config = ws / ".lineal" / "config.toml"
    config.write_bytes(config.read_bytes() + b"# caf\xe9\n")  # Latin-1, as an editor may save
    lines = error_and_hint(lineal_cli(*command, cwd=ws), *command)
    assert lines[0].startswith(f"error: cannot read {config}: not UTF-8 text (byte ")
    assert "UTF-8 TOML" in lines[1]


def test_a_project_config_that_is_not_utf8_names_the_file(ws: Path, lineal_cli: Cli) -> None:
    project = ws / "lineal.toml"
    project.write_bytes(b'[roles]\nadmin = ["\xff"]\n')
    lines = error_and_hint(lineal_cli("policy", "apply", cwd=ws))
    assert lines[0] == (
        f"error: cannot read {project}: not UTF-8 text (byte 18: invalid start byte)"
    )
    assert "UTF-8 TOML" in lines[1]


@pytest.mark.parametrize(
    "command",
    [
        ["log", "--limit", "99999999999999999999"],
        ["log", "-n", str(2**63)],
        ["runs", "--limit", "99999999999999999999"],
        ["query", "status = finished", "--limit", "99999999999999999999"],
    ],
)
def test_a_limit_beyond_64_bits_is_refused(ws: Path, lineal_cli: Cli, command: list[str]) -> None:
    lines = error_and_hint(lineal_cli(*command, cwd=ws), *command)
    assert lines[0] == f"error: bad limit {command[-1]}: expected a number from 1 to {2**63 - 1}"
    done = lineal_cli(command[0], *command[1:-1], str(2**63 - 1), cwd=ws)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (["run", "--in", LONG, "--", "true"], f"bad --in path {LONG}: File name too long"),
        (["run", "--in", f"train={LONG}", "--", "true"], "bad --in path train="),
        (["run", "--out", LONG, "--", "true"], f"bad --out path {LONG}: File name too long"),
        (["run", "--", LONG], f"bad command path {LONG}: File name too long"),
        (["schema", "import", LONG], f"bad path {LONG}: File name too long"),
        (["scene", "add", LONG], f"bad scene path {LONG}: File name too long"),
        (["schema", "diff", LONG, LONG], "bad reference 'schema/aaaa"),
    ],
    ids=["in", "in-role", "out", "command", "schema-import", "scene-add", "schema-diff"],
)
def test_a_path_too_long_is_refused_where_it_is_read(
    ws: Path, lineal_cli: Cli, command: list[str], says: str
) -> None:
    lines = error_and_hint(lineal_cli(*command, cwd=ws), *command)
    assert lines[0].startswith(f"error: {says}"), lines
    if command[0] == "run":
        assert lineal_cli("runs", cwd=ws).stdout.strip() == "no runs yet"  # none started


def _damage(db: Path, how: str) -> None:
    for extra in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        extra.unlink(missing_ok=True)
    if how == "not-a-database":
        db.write_bytes(b"this is not a database" * 400)
        return
    data = bytearray(db.read_bytes())
    page = 4096
    data[2 * page : 3 * page] = b"\xff\x00" * (page // 2)  # a page in the middle, overwritten
    db.write_bytes(bytes(data))


@pytest.mark.skipif(
    os.environ.get("LINEAL_TEST_STORE") == "server",
    reason="damages the local SQLite file a workspace on a server does not have",
)
@pytest.mark.parametrize("how", ["not-a-database", "malformed"])
def test_a_damaged_database_says_so_and_how_to_recover(ws: Path, lineal_cli: Cli, how: str) -> None:
    with Lineal.open(path=ws) as repo:
        for i in range(300):  # enough records that the ledger spans many pages
            repo.record_artifact("dataset", data=str(i).encode(), name=f"d{i % 40}")
    (ws / "data").mkdir()
    (ws / "data" / "a.txt").write_text("a")
    db = ws / ".lineal" / "lineal.db"
    backup = ws / "backup.db"
    shutil.copy(db, backup)
    _damage(db, how)
    reason = "file is not a database" if how == "not-a-database" else "malformed"
    for command in (["log"], ["verify"], ["ls"], ["add", "data", "--name", "again"]):
        done = lineal_cli(*command, cwd=ws)
        if done.returncode == 0:
            continue  # the pages this command read were whole
        lines = error_and_hint(done, *command)
        assert lines[0].startswith(f"error: {db} is damaged: "), lines
        assert reason in lines[0]
        assert "backup" in lines[1]
        assert "lineal verify" in lines[1]
    assert error_and_hint(lineal_cli("verify", cwd=ws))[0].startswith(f"error: {db} is damaged")
    shutil.copy(backup, db)  # as the hint says: restore, then verify
    assert lineal_cli("verify", cwd=ws).stdout.startswith("OK")
