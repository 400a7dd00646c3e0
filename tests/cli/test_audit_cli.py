"""`lineal audit`, `lineal audit export`, `lineal audit verify` and the audit part of `lineal
verify` on an embedded workspace, as a user runs them: each write is a row, the filters answer
"who changed dataset/x since …", and an edited row is named."""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import lineal

if TYPE_CHECKING:
    from conftest import Cli

# Through a server (LINEAL_TEST_STORE=server) the rows are the server's requests, which
# tests/server/test_audit_trail.py checks; these are the embedded store's own write rows.
pytestmark = pytest.mark.skipif(
    os.environ.get("LINEAL_TEST_STORE") == "server", reason="the embedded store's audit rows"
)


@pytest.fixture
def recorded(ws: Path) -> Path:
    """The workspace with two named datasets recorded (rows 2 and 3, after the agent's)."""
    with lineal.open(path=ws) as repo:
        repo.record_artifact("dataset", data=b"raw", name="raw")
        repo.record_artifact("dataset", data=b"clean", name="clean")
    return ws


def _ok(cli: Cli, *args: str, cwd: Path) -> str:
    done = cli(*args, cwd=cwd)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return str(done.stdout)


def _rows(cli: Cli, *args: str, cwd: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(_ok(cli, "audit", *args, "--json", cwd=cwd))["rows"]
    return rows


def test_each_write_is_a_row_and_the_filters_answer(recorded: Path, lineal_cli: Cli) -> None:
    rows = _rows(lineal_cli, cwd=recorded)
    assert [row["seq"] for row in rows] == [1, 2, 3]
    assert {row["agent"] for row in rows} == {"tester"}
    assert [row["ops"] for row in rows] == [
        ["agent.register"],
        ["artifact.record"],
        ["artifact.record"],
    ]
    (raw,) = _rows(lineal_cli, "--ref", "dataset/raw", cwd=recorded)
    assert raw["seq"] == 2
    assert "dataset/raw" in raw["refs"]
    assert len(_rows(lineal_cli, "--since", "30d", "--agent", "tester", cwd=recorded)) == 3
    assert _rows(lineal_cli, "--since", "2999-01-01", cwd=recorded) == []
    assert _rows(lineal_cli, "--until", "2000-01-01", cwd=recorded) == []
    assert [r["seq"] for r in _rows(lineal_cli, "--limit", "1", cwd=recorded)] == [3]
    text = _ok(lineal_cli, "audit", "--ref", "dataset/clean", cwd=recorded)
    assert "tester" in text
    assert "store.append" in text
    assert "dataset/clean" in text
    assert "No audit rows match." in _ok(lineal_cli, "audit", "--agent", "x", cwd=recorded)


def test_a_bad_time_says_what_it_expects(recorded: Path, lineal_cli: Cli) -> None:
    done = lineal_cli("audit", "--since", "last march", cwd=recorded)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0].startswith("error: bad time 'last march'")
    assert lines[1].startswith("hint: e.g. --since 2026-03-01")


def test_an_export_verifies_and_an_edit_is_named(recorded: Path, lineal_cli: Cli) -> None:
    export = recorded / "audit.jsonl"
    assert "Exported 3 audit rows" in _ok(
        lineal_cli, "audit", "export", "-o", str(export), cwd=recorded
    )
    said = _ok(lineal_cli, "audit", "verify", str(export), cwd=recorded)
    assert said.startswith("OK: 3 audit rows chain; head at row 3 signed by tester")
    text = export.read_text()
    export.write_text(text.replace('"agent":"tester","endpoint"', '"agent":"eve","endpoint"', 1))
    done = lineal_cli("audit", "verify", str(export), cwd=recorded)
    assert done.returncode == 1
    assert "audit row 1 was altered" in done.stderr
    missing = lineal_cli("audit", "verify", str(recorded / "nothing.jsonl"), cwd=recorded)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: cannot read")


def test_lineal_verify_names_an_edited_audit_row(recorded: Path, lineal_cli: Cli) -> None:
    said = _ok(lineal_cli, "verify", cwd=recorded)
    assert "OK: audit log of 3 rows, its head at row 3 signed by tester" in said
    with closing(sqlite3.connect(recorded / ".lineal" / "lineal.db")) as db, db:
        db.execute("UPDATE audit SET refs = '[]' WHERE seq = 2")
    done = lineal_cli("verify", cwd=recorded)
    assert done.returncode == 1
    assert done.stderr.startswith(
        "error: the audit log is damaged (row 2): audit row 2 was altered"
    )
    report = json.loads(lineal_cli("verify", "--json", cwd=recorded).stdout)
    assert report["ok"] is False
    assert report["ledger_ok"] is True
    assert report["audit"]["problem"]["seq"] == 2
