"""The `lineal` command as a user runs it: the installed console script, in a subprocess.

Each test works in its own folder with LINEAL_* variables removed from the environment, and
checks exit codes (0 ok, 1 failed, 2 bad usage) and that errors are one line plus a hint.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import typer

import lineal
from lineal.cli import app as cli_app
from lineal.cli.app import app
from lineal.model.digests import digest_bytes
from lineal.model.ops import OPS

LINEAL = Path(sys.executable).parent / "lineal"
README = Path(__file__).resolve().parents[2] / "README.md"


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    return subprocess.run(  # noqa: PLW1510 - callers check the exit code themselves
        [str(LINEAL), *args],
        cwd=cwd,
        env={**clean, "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def ok(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = run(*args, cwd=cwd, env=env)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def failure(*args: str, cwd: Path, env: dict[str, str] | None = None) -> list[str]:
    """Run a command that must fail cleanly; return its stderr lines (error:, then hint:)."""
    done = run(*args, cwd=cwd, env=env)
    assert done.returncode == 1, (args, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines, args
    assert lines[0].startswith("error: "), lines
    assert [line for line in lines if line.startswith("error:")] == lines[:1], lines
    assert all(line.startswith(("error: ", "hint: ")) for line in lines), lines
    assert len(lines) <= 2, lines
    return lines


def tamper(folder: Path, sql: str) -> None:
    with closing(sqlite3.connect(folder / ".lineal" / "lineal.db")) as db, db:
        assert db.execute(sql).rowcount == 1


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A folder with `lineal init --agent alice` done in it."""
    ok("init", "--agent", "alice", cwd=tmp_path)
    return tmp_path


@pytest.fixture
def no_lineal_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process Python API must find the same store as the subprocesses."""
    for name in ("LINEAL_URI", "LINEAL_AGENT"):
        monkeypatch.delenv(name, raising=False)


# --- Help and documentation -------------------------------------------------------------------


def _command_paths() -> Iterator[tuple[tuple[str, ...], Any]]:
    def walk(prefix: tuple[str, ...], command: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield (*prefix, name), sub
            yield from walk((*prefix, name), sub)

    yield from walk((), typer.main.get_command(app))


COMMANDS = dict(_command_paths())


def test_the_app_has_the_commands_we_test() -> None:
    assert {("init",), ("verify",), ("log",), ("checkpoint",), ("show",)} <= set(COMMANDS)


def test_each_command_loads_only_its_own_module() -> None:
    top = {path[0] for path in COMMANDS}
    assert set(cli_app.COMMANDS) | {"init"} == top  # no command missing, none invented
    for name, group in cli_app.COMMANDS.items():
        alone = typer.main.get_command(cli_app.for_argv([name, "--help"]))
        assert name in getattr(alone, "commands", {}), (name, group)
    assert set(getattr(typer.main.get_command(cli_app.for_argv(["--help"])), "commands", {})) == top


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...], tmp_path: Path) -> None:
    command = COMMANDS[path]
    assert (command.help or "").strip(), f"`lineal {' '.join(path)}` has no help text"
    for param in command.params:
        if param.name != "help":
            assert (getattr(param, "help", None) or "").strip(), (path, param.name)
    out = ok(*path, "--help", cwd=tmp_path)
    assert out.startswith("Usage: lineal " + " ".join(path))
    assert command.help.strip().splitlines()[0][:40] in " ".join(out.split())


def test_root_help_and_version(tmp_path: Path) -> None:
    out = ok("--help", cwd=tmp_path)
    for path in COMMANDS:
        assert path[0] in out
    assert ok("--version", cwd=tmp_path).strip() == f"lineal {lineal.__version__}"


def test_readme_mentions_every_command() -> None:
    text = README.read_text()
    missing = [
        " ".join(path)
        for path in COMMANDS
        if not re.search(rf"\blineal {re.escape(' '.join(path))}\b", text)
    ]
    assert not missing, f"README.md does not show: {', '.join(f'lineal {m}' for m in missing)}"


# --- init, log, verify ------------------------------------------------------------------------


def test_init_creates_the_workspace(tmp_path: Path) -> None:
    out = ok("init", "--agent", "alice", cwd=tmp_path)
    assert "alice" in out
    root = tmp_path / ".lineal"
    assert (root / "config.toml").is_file()
    assert (root / "lineal.db").is_file()
    key = root / "keys" / "alice.ed25519"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    records = json.loads(ok("log", "--json", cwd=tmp_path))
    assert len(records) == 1
    (record,) = records
    assert (record["seq"], record["op"], record["author"]) == (1, "agent.register", "alice")
    assert record["payload"]["name"] == "alice"
    assert re.fullmatch(r"[0-9a-f]{64}", record["payload"]["public_key"])
    assert not record["redacted"]


def test_init_in_another_folder(tmp_path: Path) -> None:
    ok("init", "sub", "--agent", "carol", cwd=tmp_path)
    assert (tmp_path / "sub" / ".lineal" / "config.toml").is_file()
    assert not (tmp_path / ".lineal").exists()
    nested = tmp_path / "sub" / "deeper" / "still"
    nested.mkdir(parents=True)
    assert json.loads(ok("log", "--json", cwd=nested))[0]["author"] == "carol"


def test_init_twice_fails(workspace: Path) -> None:
    lines = failure("init", "--agent", "alice", cwd=workspace)
    assert "already" in lines[0]
    assert ok("verify", cwd=workspace).startswith("OK")


def test_init_refuses_a_bad_agent_name(tmp_path: Path) -> None:
    failure("init", "--agent", "no spaces please", cwd=tmp_path)
    assert not (tmp_path / ".lineal").exists()


def test_verify(workspace: Path) -> None:
    assert ok("verify", cwd=workspace).startswith("OK: 1 records")
    report = json.loads(ok("verify", "--json", cwd=workspace))
    assert report["ok"] is True
    assert report["problem"] is None
    assert report["records"] == 1
    assert report["agents"] == 1


def test_verify_catches_a_changed_byte(workspace: Path) -> None:
    tamper(workspace, "UPDATE ledger SET author = 'mallory' WHERE seq = 1")
    lines = failure("verify", cwd=workspace)
    assert "seq 1" in lines[0]
    done = run("verify", "--json", cwd=workspace)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert report["problem"]["seq"] == 1


def test_log_filters_and_limits(workspace: Path) -> None:
    records = json.loads(ok("log", "--json", "--op", "agent.register", cwd=workspace))
    assert [r["op"] for r in records] == ["agent.register"]
    assert json.loads(ok("log", "--json", "--op", "run.start", cwd=workspace)) == []
    assert "agent.register" in ok("log", "-n", "1", cwd=workspace)


def test_log_unknown_op_is_bad_usage_listing_the_ops(workspace: Path) -> None:
    done = run("log", "--op", "nope", cwd=workspace)
    assert done.returncode == 2
    assert "'nope'" in done.stderr
    for name in OPS:
        assert name in done.stderr


def test_no_workspace_says_run_init(tmp_path: Path) -> None:
    lines = failure("log", cwd=tmp_path)
    assert len(lines) == 2
    assert "lineal init" in lines[1]


def test_unreachable_postgres_is_one_clear_line(tmp_path: Path) -> None:
    lines = failure("verify", cwd=tmp_path, env={"LINEAL_URI": "postgresql://127.0.0.1:1/nope"})
    assert lines[0].startswith("error: cannot reach PostgreSQL")


def test_a_missing_postgres_database_says_how_to_create_it(tmp_path: Path, pg_uri: str) -> None:
    # pg_uri: the server is up (else the test is skipped); this database on it is not there.
    base = pg_uri.rsplit("/", 1)[0]
    missing = f"lineal_missing_{os.getpid()}"
    uri = f"{base}/{missing}"
    for args, env in (
        (("init", "--uri", uri, "--agent", "alice"), None),
        (("verify",), {"LINEAL_URI": uri}),
    ):
        lines = failure(*args, cwd=tmp_path, env=env)
        assert lines[0] == f"error: PostgreSQL at 127.0.0.1:5432 has no database {missing!r}"
        assert lines[1] == (
            f"hint: create it: createdb -h 127.0.0.1 -p 5432 -U postgres {missing} "
            f'(or in psql: CREATE DATABASE "{missing}";), or fix the store URI '
            "(--uri, LINEAL_URI or .lineal/config.toml)"
        )
    assert not (tmp_path / ".lineal").exists()
    down = failure("verify", cwd=tmp_path, env={"LINEAL_URI": "postgresql://127.0.0.1:1/nope"})
    assert "start the server" in down[1]  # a server that is down is told apart


def test_unsupported_uri(tmp_path: Path) -> None:
    lines = failure("verify", cwd=tmp_path, env={"LINEAL_URI": "mysql://db/x"})
    assert "mysql://db/x" in lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ("--bogus",),
        ("verify", "--bogus"),
        ("log", "--limit", "0"),
        ("show",),
        ("nosuchcommand",),
        ("checkpoint", "--out", "a.json", "--verify", "b.json"),
    ],
)
def test_bad_usage_exits_2(args: tuple[str, ...], tmp_path: Path) -> None:
    done = run(*args, cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr


# --- show -------------------------------------------------------------------------------------


def test_show_a_misspelt_kind(workspace: Path) -> None:
    done = run("show", "datset/x", cwd=workspace)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("error: bad reference 'datset/x'")
    assert "did you mean 'dataset'?" in lines[0]
    assert lines[1].startswith("hint: ")
    assert "Traceback" not in done.stderr


def test_show_missing(workspace: Path) -> None:
    lines = failure("show", "dataset/missing", cwd=workspace)
    assert "no dataset named 'missing'" in lines[0]


def test_debug_shows_the_traceback(workspace: Path) -> None:
    done = run("show", "datset/x", cwd=workspace, env={"LINEAL_DEBUG": "1"})
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert "lineal.errors.InvalidInput" in done.stderr


@pytest.mark.usefixtures("no_lineal_env")
def test_show_artifact_and_run(workspace: Path) -> None:
    data = b"a small dataset\n"
    with lineal.open(path=workspace) as client:
        client.record_artifact(kind="dataset", data=data, name="d", meta={"rows": 1})
        started = client.start_run("train", params={"lr": 0.1, "epochs": 2})
        client.link("used", "dataset/d", started, role="train")
        client.log_metrics(started, {"loss": 0.5, "acc": 0.25}, step=0)
        client.log_metrics(started, {"loss": 0.25}, step=1)
        client.finish_run(started, summary={"best": 0.25})

    artifact = json.loads(ok("show", "dataset/d", "--json", cwd=workspace))
    assert artifact["type"] == "artifact"
    assert artifact["kind"] == "dataset"
    assert artifact["name"] == "d"
    assert artifact["version"] == 1
    assert artifact["ref"] == "dataset/d@v1"
    assert artifact["digest"] == digest_bytes(data)
    assert artifact["size"] == len(data)
    assert artifact["meta"] == {"rows": 1}
    assert artifact["versions"] == ["dataset/d@v1"]
    assert artifact["node"] == f"dataset/d@{digest_bytes(data)}"
    assert artifact["same_content"] == []
    assert artifact["upstream"] == []
    run = f"run/{started.id}"
    assert artifact["downstream"] == [
        {"kind": "used", "node": run, "ref": run, "node_kind": "run", "role": "train"}
    ]
    by_digest = json.loads(ok("show", artifact["digest"][:15], "--json", cwd=workspace))
    assert (by_digest["digest"], by_digest["ref"]) == (artifact["digest"], "dataset/d@v1")

    shown = json.loads(ok("show", f"run/{started.id}", "--json", cwd=workspace))
    assert shown["type"] == "run"
    assert shown["id"] == started.id
    assert shown["ref"] == f"run/{started.id}"
    assert shown["name"] == "train"
    assert shown["status"] == "finished"
    assert shown["author"] == "alice"
    assert shown["params"] == {"lr": 0.1, "epochs": 2}
    assert shown["metrics"] == {
        "acc": {"step": 0, "value": 0.25},
        "best": {"step": None, "value": 0.25},  # a summary number, set by the finish
        "loss": {"step": 1, "value": 0.25},
    }
    assert shown["metric_points"] == 3
    assert shown["summary"] == {"best": 0.25}
    assert shown["started"] <= shown["ended"]
    assert isinstance(shown["duration"], float)
    assert shown["duration"] >= 0
    assert shown["error"] is None
    assert shown["upstream"] == [
        {"kind": "used", "node": artifact["node"], "ref": "dataset/d@v1", "node_kind": "dataset",
         "role": "train"}
    ]  # fmt: skip
    assert shown["downstream"] == []

    text = ok("show", f"run/{started.id}", cwd=workspace)
    assert "finished" in text
    assert "used (train) dataset/d@v1" in text  # its input by reference, not by digest
    assert ok("verify", cwd=workspace).startswith("OK")


# --- checkpoint -------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_lineal_env")
def test_checkpoint_detects_rewritten_history(workspace: Path) -> None:
    out = ok("checkpoint", "--out", "cp.json", cwd=workspace)
    assert "cp.json" in out
    document = json.loads((workspace / "cp.json").read_text())
    assert document["size"] == 1

    with lineal.open(path=workspace) as client:
        for i in range(3):
            client.record_artifact(kind="dataset", data=b"%d" % i, name="d")

    assert "consistent" in ok("checkpoint", "--verify", "cp.json", cwd=workspace)
    result = json.loads(ok("checkpoint", "--verify", "cp.json", "--json", cwd=workspace))
    assert result["consistent"] is True
    assert (result["size"], result["current_size"]) == (1, 4)

    tamper(workspace, "UPDATE ledger SET time = '2020-01-01T00:00:00.000000Z' WHERE seq = 1")
    lines = failure("checkpoint", "--verify", "cp.json", cwd=workspace)
    assert re.search(r"\bseq 1\b", lines[0]), lines


def test_checkpoint_refuses_an_altered_document(workspace: Path) -> None:
    ok("checkpoint", "--out", "cp.json", cwd=workspace)
    path = workspace / "cp.json"
    document = json.loads(path.read_text())
    document["size"] = 2
    path.write_text(json.dumps(document))
    lines = failure("checkpoint", "--verify", "cp.json", cwd=workspace)
    assert "signature" in lines[0]
    failure("checkpoint", "--verify", "missing.json", cwd=workspace)


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.mark.postgres
def test_init_on_postgres_then_use_it_from_the_folder(tmp_path: Path, pg_uri: str) -> None:
    ok("init", "--uri", pg_uri, "--agent", "bob", cwd=tmp_path)
    assert not (tmp_path / ".lineal" / "lineal.db").exists()
    assert pg_uri in (tmp_path / ".lineal" / "config.toml").read_text()
    assert ok("verify", cwd=tmp_path).startswith("OK: 1 records")
    (record,) = json.loads(ok("log", "--json", cwd=tmp_path))
    assert (record["op"], record["author"]) == ("agent.register", "bob")
    failure("show", "dataset/missing", cwd=tmp_path)
