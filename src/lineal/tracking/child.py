"""Running a command as a child process: its output streamed through the caller's ``echo``,
SIGTERM passed on, and the tail of each stream kept (for `lineal run` and `lineal replay`).

Never records anything and never prints: the caller decides where output goes and what is kept.
"""

from __future__ import annotations

import collections
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import IO

#: How much of each output stream a run keeps (the tail, where errors usually are).
TAIL_BYTES = 64 * 1024
Echo = Callable[[str, bytes], None]


def _pump(stream: IO[bytes], label: str, keep: collections.deque[bytes], echo: Echo) -> None:
    size = 0
    while chunk := stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536):
        echo(label, chunk)
        keep.append(chunk)
        size += len(chunk)
        while size - len(keep[0]) >= TAIL_BYTES:
            size -= len(keep.popleft())


def last_lines(data: bytes, size: int) -> bytes:
    """The last ``size`` bytes of ``data`` less the cut line they start with, if any: the
    rest of a line is noise, and may be the end of a secret cut in two."""
    if len(data) <= size:
        return data
    cut = data[-size:]
    newline = cut.find(b"\n")
    return cut[newline + 1 :] if newline >= 0 else cut


def _tail(keep: collections.deque[bytes]) -> bytes:
    return last_lines(b"".join(keep), TAIL_BYTES)


def execute(
    argv: Sequence[str], echo: Echo, *, env: Mapping[str, str], cwd: Path | None = None
) -> tuple[int, dict[str, bytes]]:
    """Run ``argv`` with its output through ``echo``; its exit code and each stream's tail.

    SIGTERM is passed on to the child; Ctrl-C reaches it directly, and its exit code tells.
    """
    child = subprocess.Popen(  # noqa: S603 - running the user's command is the point
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
    )
    assert child.stdout is not None  # noqa: S101 - PIPE above
    assert child.stderr is not None  # noqa: S101
    tails: dict[str, collections.deque[bytes]] = {
        "stdout": collections.deque(),
        "stderr": collections.deque(),
    }
    pumps = [
        threading.Thread(target=_pump, args=(child.stdout, "stdout", tails["stdout"], echo)),
        threading.Thread(target=_pump, args=(child.stderr, "stderr", tails["stderr"], echo)),
    ]
    for pump in pumps:
        pump.start()

    def forward(signum: int, frame: FrameType | None) -> None:
        child.send_signal(signum)

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            try:
                code = child.wait()
                break
            except KeyboardInterrupt:
                continue  # the child got the same SIGINT; its exit code tells the story
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        for pump in pumps:
            pump.join()
        child.stdout.close()
        child.stderr.close()
    return code, {label: _tail(keep) for label, keep in tails.items()}
