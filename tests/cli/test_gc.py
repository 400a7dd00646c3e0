"""`lineal gc` beside writers: it never takes what a write in progress will record, and it
clears what killed commands left once they are old.

Real `lineal` processes. To put gc inside another command's critical window without sleeps,
a test holds a lock that command needs next (the store's write lock, for an add about to
record), or waits until the command's progress bar shows it there and stops it (SIGSTOP),
then starts the other; on the code before the cache lock, these lost objects every time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_terminal import LINEAL, Terminal, cli_env, lineal, make_files, ok

from cli_checks import error_and_hint
from lineal.cas.objects import ObjectCache
from lineal.cas.packs import PACK_OBJECT_MAX
from lineal.client import Lineal

# real processes, real data: ~40 s in all; processes racing each other: make test runs it alone
pytestmark = [pytest.mark.slow, pytest.mark.serial]
DAY = 86400
SRC = Path(__file__).resolve().parents[2] / "src"


def _age(path: Path, seconds: float = 2 * DAY) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def _same_files(one: Path, other: Path) -> None:
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(other) for p in other.rglob("*") if p.is_file())
    for name in files:
        assert (one / name).read_bytes() == (other / name).read_bytes(), name


@pytest.mark.parametrize("grace", [(), ("--grace", "0")], ids=["default-grace", "grace-0"])
def test_gc_beside_an_add_keeps_what_the_add_records(
    tmp_path: Path, terminal: Callable[..., Terminal], grace: tuple[str, ...]
) -> None:
    """Regression (of the test): it paused the add (SIGSTOP) once its bar showed 303 of 304
    files hashed, but the bar is redrawn at its own pace and the last file took ~0.1 s, so
    on a busy machine the bar went from 0/304 to 304/304 and the test never saw its cue.
    Here the add cannot pass the point gc must meet it at: another writer holds the store's
    write lock, so the add waits to record with every object in the cache."""
    ok("init", "--agent", "alice", cwd=tmp_path)
    data = make_files(tmp_path / "data", 300)
    for n in range(3):  # loose objects, beside the packed ones
        (data / f"a-big-{n}.bin").write_bytes(os.urandom(PACK_OBJECT_MAX + 100))
    with Lineal.open(path=tmp_path) as other, other.atomic():  # holds the store's write lock
        add = terminal("add", "data", "--name", "d", cwd=tmp_path)
        add.wait_for(r"recording")  # every object in the cache, and the record waits
        gc = terminal("gc", *grace, cwd=tmp_path)
        gc.wait_for(r"waiting for the commands writing to the cache")
    assert add.finish() == 0, add.text
    assert gc.finish() == 0, gc.text
    assert "removed 0 objects" in gc.text, gc.text
    ok("checkout", "dataset/d", str(tmp_path / "out"), cwd=tmp_path)
    _same_files(data, tmp_path / "out")


def test_an_add_beside_gc_waits_and_keeps_what_it_records(
    tmp_path: Path, terminal: Callable[..., Terminal]
) -> None:
    ok("init", "--agent", "alice", cwd=tmp_path)
    data = make_files(tmp_path / "data", 4000)
    cache = ObjectCache(tmp_path / ".lineal" / "objects")
    for path in data.iterdir():  # as an add killed two days ago left them: old, unreferenced
        _age(cache.path(cache.add_bytes(path.read_bytes())))
    gc = terminal("gc", cwd=tmp_path)
    gc.wait_for(r"removing")  # it has decided to remove them all and is under way
    gc.process.send_signal(signal.SIGSTOP)
    try:  # an add of the same bytes would reuse the objects gc has not removed yet
        add = terminal("add", "data", "--name", "d", cwd=tmp_path)
        add.wait_for(r"waiting for lineal gc to finish|dataset/d@v1")
    finally:
        gc.process.send_signal(signal.SIGCONT)
    assert gc.finish() == 0, gc.text
    assert add.finish() == 0, add.text
    ok("checkout", "dataset/d", str(tmp_path / "out"), cwd=tmp_path)
    _same_files(data, tmp_path / "out")
    assert "waiting for lineal gc to finish" in add.text


TRIALS = 6


def test_adds_and_gcs_side_by_side_lose_nothing(tmp_path: Path) -> None:
    ok("init", "--agent", "alice", cwd=tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    for trial in range(1, TRIALS + 1):
        for n in range(2000):  # new content each trial: new objects, packed
            (data / f"f{n:04d}.txt").write_bytes(b"trial %d file %d\n" % (trial, n))
        for n in range(2):  # and loose ones, in the cache from early in the snapshot
            (data / f"a-big-{n}.bin").write_bytes(os.urandom(PACK_OBJECT_MAX + 100))
        with subprocess.Popen(
            [LINEAL, "add", "data", "--name", "r", "--quiet"],
            cwd=tmp_path,
            env=cli_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        ) as add:
            while add.poll() is None:  # gc after gc, for as long as the add runs
                assert lineal("gc", "--quiet", cwd=tmp_path).returncode == 0
            assert add.stderr is not None
            assert add.wait() == 0, add.stderr.read()
        shutil.copytree(data, tmp_path / f"copy{trial}")
    for trial in range(1, TRIALS + 1):
        out = tmp_path / f"out{trial}"
        ok("checkout", f"dataset/r@v{trial}", str(out), "--quiet", cwd=tmp_path)
        _same_files(tmp_path / f"copy{trial}", out)


def test_gc_removes_the_temp_files_a_killed_add_left_once_they_are_old(
    tmp_path: Path, terminal: Callable[..., Terminal]
) -> None:
    ok("init", "--agent", "alice", cwd=tmp_path)
    data = make_files(tmp_path / "data", 300)
    with (data / "a-video.bin").open("wb") as sparse:  # reads as zeros; takes no disk space
        sparse.truncate(256 << 20)
    add = terminal("add", "data", cwd=tmp_path)
    # A small file is in the pack being written (a temp file); the video is being copied.
    add.wait_for(r"hashing.*\b[1-9][\d,]*/301 files")
    add.process.send_signal(signal.SIGKILL)
    assert add.process.wait() == -signal.SIGKILL
    temp = tmp_path / ".lineal" / "objects" / "tmp"
    left = sorted(temp.iterdir())
    assert left
    size = sum(p.stat().st_size for p in left)
    assert "temporary" not in ok("gc", cwd=tmp_path)  # a day's grace: it may be a live writer's
    assert sorted(temp.iterdir()) == left
    for path in left:
        _age(path)
    would = json.loads(ok("gc", "--dry-run", "--json", cwd=tmp_path))
    assert (would["temp_files"], would["temp_bytes"]) == (len(left), size)
    assert sorted(temp.iterdir()) == left
    said = json.loads(ok("gc", "--json", cwd=tmp_path))
    assert (said["temp_files"], said["temp_bytes"]) == (len(left), size)
    assert not list(temp.iterdir())


def test_a_bad_grace_period_is_an_error_with_a_hint(tmp_path: Path) -> None:
    ok("init", "--agent", "alice", cwd=tmp_path)
    error, hint = error_and_hint(lineal("gc", "--grace", "soon", cwd=tmp_path))
    assert "bad grace period 'soon'" in error
    assert "2h" in hint


def test_ctrl_c_while_gc_waits_for_a_writer(
    tmp_path: Path, terminal: Callable[..., Terminal]
) -> None:
    ok("init", "--agent", "alice", cwd=tmp_path)
    hold = "import sys; from pathlib import Path; from lineal.cas.lock import held\n"
    hold += "with held(Path(sys.argv[1]), exclusive=False):\n print('held', flush=True)\n"
    hold += " sys.stdin.read()"
    with subprocess.Popen(  # a writer that has not recorded yet
        [sys.executable, "-c", hold, str(tmp_path / ".lineal" / "objects")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    ) as writer:
        assert writer.stdout is not None
        assert writer.stdout.readline() == b"held\n"
        gc = terminal("gc", "--grace", "0", cwd=tmp_path)
        gc.wait_for("waiting for the commands writing to the cache")
        gc.interrupt()
        assert gc.finish() == 130, gc.text
        assert writer.stdin is not None
        writer.stdin.close()
    assert "interrupted while waiting for the commands writing to the cache; nothing was " in (
        gc.text.replace("\n", "")
    )
