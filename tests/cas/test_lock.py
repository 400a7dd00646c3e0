"""The cache's lock between real processes: writers share it, gc waits for them (and they for
gc), and a writer killed with SIGKILL holds nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineal.cas.lock import held

SRC = Path(__file__).resolve().parents[2] / "src"
WAIT = 60  # seconds: a bound on waiting for an event, never a pause

_HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from lineal.cas.lock import held

    with held(Path(sys.argv[1]), exclusive=sys.argv[2] == "exclusive"):
        print("held", flush=True)
        sys.stdin.read()  # until the test closes our stdin (or kills us)
    """
)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Another process holding the lock of the cache at tmp_path (shared)."""
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path), "shared"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    assert child.stdout is not None
    assert child.stdout.readline() == b"held\n"
    yield child
    if child.poll() is None:
        child.kill()
    child.wait()
    for pipe in (child.stdin, child.stdout):
        if pipe is not None:
            pipe.close()


def _take_in_thread(root: Path, *, exclusive: bool) -> tuple[threading.Event, threading.Event]:
    """Take the lock in a thread: (said it waits, got it); the thread lets go at once."""
    waited, got = threading.Event(), threading.Event()

    def take() -> None:
        with held(root, exclusive=exclusive, waiting=waited.set):
            got.set()

    threading.Thread(target=take, daemon=True).start()
    return waited, got


def test_gc_waits_for_a_writer_and_says_so(tmp_path: Path, holder: subprocess.Popen[bytes]) -> None:
    waited, got = _take_in_thread(tmp_path, exclusive=True)
    assert waited.wait(WAIT)
    assert not got.is_set()
    assert holder.stdin is not None
    holder.stdin.close()  # the writer has recorded: it lets go
    assert got.wait(WAIT)


def test_writers_share_the_lock(tmp_path: Path, holder: subprocess.Popen[bytes]) -> None:
    waited, got = _take_in_thread(tmp_path, exclusive=False)
    assert got.wait(WAIT)
    assert not waited.is_set()


def test_a_writer_waits_for_gc(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path), "exclusive"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    assert child.stdout is not None
    assert child.stdin is not None
    try:
        assert child.stdout.readline() == b"held\n"
        waited, got = _take_in_thread(tmp_path, exclusive=False)
        assert waited.wait(WAIT)
        assert not got.is_set()
        child.stdin.close()
        assert got.wait(WAIT)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdin.close()
        child.stdout.close()


def test_a_killed_writer_holds_nothing(tmp_path: Path, holder: subprocess.Popen[bytes]) -> None:
    holder.send_signal(signal.SIGKILL)
    assert holder.wait() == -signal.SIGKILL
    waited, got = _take_in_thread(tmp_path, exclusive=True)
    assert got.wait(WAIT)
    assert not waited.is_set()
