"""Progress bars: every long command draws one on a terminal, none when piped or with --quiet.

Real `lineal` processes on a pseudo-terminal (cli_terminal.Terminal) and on pipes; the bar is
drawn at once (LINEAL_PROGRESS_DELAY=0) so that small data shows it too, except where the
default delay itself is under test.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_terminal import Terminal, cli_env, lineal, make_files, ok

from lineal.cas.progress import Stage
from lineal.cli.progress import interrupted_message


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with dataset/d (40 files), a file:// remote and a `lineal run` to replay."""
    root = tmp_path_factory.mktemp("progress")
    ok("init", "--agent", "alice", cwd=root)
    make_files(root / "data", 40)
    ok("add", "data", "--name", "d", cwd=root)
    (root / "remote").mkdir()
    ok("remote", "add", "origin", str(root / "remote"), cwd=root)
    copy = "import shutil; shutil.copytree('data', 'copy')"
    ok("run", "--in", "data", "--out", "copy", "--", sys.executable, "-c", copy, cwd=root)
    return root


def _run_ref(work: Path) -> str:
    runs = json.loads(ok("runs", "--json", cwd=work))
    return str(runs[0]["ref"])


#: (command, what its bar says): each must show a bar on a terminal.
COMMANDS = [
    (("add", "data", "--name", "d"), "hashing"),
    (("status",), "comparing data"),
    (("status", "dataset/d", "--json"), "comparing data"),
    (("checkout", "dataset/d@v1", "OUT"), "checking out"),
    (("push",), "pushing"),
    (("pull",), "pulling"),
    (("gc",), "finding unreferenced objects"),
    (("replay", "RUN"), "checking out inputs"),
]


@pytest.mark.parametrize(("args", "label"), COMMANDS, ids=[" ".join(a) for a, _ in COMMANDS])
def test_a_bar_on_a_terminal_none_when_piped_or_quiet(
    work: Path, terminal: Callable[..., Terminal], args: tuple[str, ...], label: str
) -> None:
    (work / "data" / "f00001.txt").write_bytes(b"changed\n")  # status has files to hash
    ok("add", "data", "--name", "d", cwd=work)  # and checkout/replay have a v2 to compare with
    (work / "data" / "f00001.txt").write_bytes(b"changed again\n")
    run = _run_ref(work)
    outs = iter(range(1000))

    def concrete() -> list[str]:  # each checkout into a new folder
        named = {"RUN": run, "OUT": str(work / f"out{next(outs)}")}
        return [named.get(a, a) for a in args]

    shown = terminal(*concrete(), cwd=work)
    assert shown.finish() == 0, shown.text
    assert label in shown.text
    piped = lineal(*concrete(), cwd=work)
    assert piped.returncode == 0, piped.stderr
    assert label not in piped.stdout + piped.stderr
    quiet = terminal(*concrete(), "--quiet", cwd=work)
    assert quiet.finish() == 0, quiet.text
    assert label not in quiet.text
    assert "\x1b[?25l" not in quiet.raw.decode()  # a bar hides the cursor; nothing did
    short = terminal(*concrete(), "-q", cwd=work)
    assert short.finish() == 0, short.text
    assert label not in short.text


def test_an_unchanged_status_on_a_terminal_loads_no_rich(
    work: Path, terminal: Callable[..., Terminal]
) -> None:
    ok("add", "data", "--name", "d", cwd=work)
    code = (
        "import sys\n"
        "sys.argv = ['lineal', 'status']\n"
        "from lineal.cli.main import main\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    print('loaded:', sorted({m.split('.')[0] for m in sys.modules} & {'rich', 'typer'}))"
    )
    env = {k: v for k, v in cli_env().items() if k != "LINEAL_PROGRESS_DELAY"}  # the default
    shown = terminal("-c", code, cwd=work, env=env, program=sys.executable)
    assert shown.finish() == 0, shown.text
    assert "dataset/d@v" in shown.text
    assert "up to date" in shown.text
    assert "loaded: []" in shown.text


def test_what_an_interruption_says() -> None:
    def stage(done: int, total: int | None) -> Stage:
        return Stage("hashing", "hashed", "files", "nothing was recorded", True, done, total)

    assert interrupted_message(None) is None
    assert interrupted_message(stage(1204, 5000)) == (
        "interrupted: 1,204 of 5,000 files hashed, 3,796 left; nothing was recorded"
    )
    assert interrupted_message(stage(7, None)) == (
        "interrupted: 7 files hashed; nothing was recorded"
    )
    uncounted = Stage("recording", "recording", "", "nothing was recorded", True)
    assert interrupted_message(uncounted) == "interrupted while recording; nothing was recorded"
