"""`lineal status` answered without Typer must print exactly what the Typer command prints.

Each case runs the installed console script (which takes the fast path) and the Typer app in
a subprocess of its own, and compares stdout, stderr and the exit status.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lineal.cli.main import status_args

LINEAL = Path(sys.executable).parent / "lineal"
THROUGH_TYPER = "from lineal.cli.app import app; app(prog_name='lineal')"


def _env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    return {**clean, "COLUMNS": "200"}


def both(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``lineal ARGS`` both ways; assert they agree; return the fast path's result."""
    fast, typer = (
        subprocess.run(  # noqa: PLW1510 - the caller checks the exit status
            command, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=60
        )
        for command in ([str(LINEAL), *args], [sys.executable, "-c", THROUGH_TYPER, *args])
    )
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        typer.returncode,
        typer.stdout,
        typer.stderr,
    )
    return fast


def age(folder: Path) -> None:
    then = time.time() - 60  # the stat cache does not trust files changed within 2 s
    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (then, then))


@pytest.fixture
def work(tmp_path: Path) -> Path:
    subprocess.run(
        [str(LINEAL), "init", "--agent", "alice"],
        cwd=tmp_path,
        check=True,
        env=_env(),
        capture_output=True,
    )
    data = tmp_path / "data"
    data.mkdir()
    for n in range(5):
        (data / f"img{n}.png").write_bytes(os.urandom(100 + n))
    age(data)
    return tmp_path


def add(work: Path, name: str) -> None:
    subprocess.run(
        [str(LINEAL), "add", "data", "--name", name],
        cwd=work,
        check=True,
        env=_env(),
        capture_output=True,
    )


def test_no_dataset_yet(work: Path) -> None:
    assert both("status", cwd=work).stdout == "no dataset working copies to compare\n"
    assert json.loads(both("status", "--json", cwd=work).stdout) == []


def test_up_to_date(work: Path) -> None:
    add(work, "dataset/scenes")
    for _ in range(2):  # the second time from the recorded tree signature
        assert both("status", cwd=work).stdout == "dataset/scenes@v1 (data): up to date\n"
    assert both("status", "dataset/scenes", cwd=work).stdout.endswith(": up to date\n")
    shown = json.loads(both("status", "--json", cwd=work).stdout)
    assert json.loads(both("status", "--json", "scenes", cwd=work).stdout) == shown
    assert shown[0]["summary"]["added"] == 0


def test_changes(work: Path) -> None:
    add(work, "scenes")
    data = work / "data"
    (data / "img0.png").unlink()
    (data / "img1.png").write_bytes(b"changed")
    (data / "new.png").write_bytes(b"new file")
    out = both("status", cwd=work).stdout
    assert out.splitlines() == [
        "dataset/scenes@v1 (data): 1 added, 1 removed, 1 modified",
        "  added     new.png  (8 B)",
        "  removed   img0.png  (100 B)",
        "  modified  img1.png  (101 B -> 7 B)",
    ]
    found = json.loads(both("status", "dataset/scenes", "--json", cwd=work).stdout)
    assert [e["path"] for e in found[0]["added"]] == ["new.png"]
    assert found[0]["summary"]["modified"] == 1


def test_a_damaged_stat_cache_means_comparing_in_full(work: Path) -> None:
    add(work, "scenes")
    assert both("status", cwd=work).stdout.endswith(": up to date\n")  # signature recorded
    for path in (work / ".lineal").glob("stat.db*"):
        path.write_bytes(b"not a database" * 100)
    assert both("status", cwd=work).stdout.endswith(": up to date\n")
    (work / "data" / "img2.png").write_bytes(b"other bytes")
    assert both("status", cwd=work).stdout.splitlines()[1:] == [
        "  modified  img2.png  (102 B -> 11 B)"
    ]


def test_errors_are_one_line_with_a_hint(work: Path) -> None:
    add(work, "scenes")
    done = both("status", "dataset/nope", cwd=work)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines()[0] == "error: no dataset named 'nope'"
    assert done.stderr.splitlines()[1].startswith("hint: ")
    assert both("status", "model/x@v", cwd=work).stderr.startswith("error: bad reference")


def test_no_workspace(tmp_path: Path) -> None:
    done = both("status", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("error: no lineal store in ")


def test_usage_errors_and_help_still_come_from_typer(work: Path) -> None:
    done = both("status", "a", "b", cwd=work)
    assert done.returncode == 2
    assert "Usage: lineal status" in done.stderr
    assert both("status", "--bogus", cwd=work).returncode == 2
    shown = both("status", "--help", cwd=work)
    assert shown.returncode == 0
    assert shown.stdout.startswith("Usage: lineal status [OPTIONS]")
    assert "--json" in shown.stdout


def test_only_a_plain_status_takes_the_fast_path() -> None:
    assert status_args(["status"]) == (None, False, False)
    assert status_args(["status", "dataset/x", "--json"]) == ("dataset/x", True, False)
    assert status_args(["status", "--json", "x"]) == ("x", True, False)
    assert status_args(["status", "-q", "x"]) == ("x", False, True)
    assert status_args(["status", "--quiet", "--json"]) == (None, True, True)
    for argv in (
        [],
        ["add", "x"],
        ["status", "--help"],
        ["status", "-h"],
        ["status", "--json", "--json"],
        ["status", "a", "b"],
        ["status", "--", "x"],
        ["--json", "status"],
        ["status", "--json=1"],
        ["status", "-q", "--quiet"],
        ["status", "-qq"],
    ):
        assert status_args(argv) is None, argv


def test_the_fast_path_loads_neither_typer_nor_rich(work: Path) -> None:
    add(work, "scenes")
    code = (
        "import json, sys\n"
        "sys.argv = ['lineal', 'status']\n"
        "from lineal.cli.main import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as done:\n"
        "    loaded = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'typer', 'click', 'rich', 'cryptography', 'pathspec'})\n"
        "    print(json.dumps([done.code, loaded]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=work,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [0, []]
