"""The CLI on a pseudo-terminal, as in a user's shell (progress bars, Ctrl-C), and piped.

A :class:`Terminal` runs the installed `lineal` with its stdout and stderr on a pty (so it
sees a terminal), reads what it draws, and can send it SIGINT as Ctrl-C does.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

LINEAL = str(Path(sys.executable).parent / "lineal")
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


def cli_env(**extra: str) -> dict[str, str]:
    """The environment without LINEAL_* variables, the bar drawn at once, plus ``extra``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    return {**clean, "LINEAL_PROGRESS_DELAY": "0", "COLUMNS": "160", **extra}


class Terminal:
    """A command (``argv``) running with stdout and stderr on a pseudo-terminal."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
        try:
            self.process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=slave,
                stderr=slave,
            )
        finally:
            os.close(slave)  # the child holds it now: reading ends once the child is gone
        self.raw = bytearray()
        self.ended = False

    @property
    def text(self) -> str:
        """Everything shown so far, without the terminal's control sequences."""
        return _ESCAPES.sub("", self.raw.decode("utf-8", "replace"))

    def _read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.master], [], [], max(timeout, 0))
        if not ready:
            return
        try:
            chunk = os.read(self.master, 1 << 16)
        except OSError:  # EIO: every writer of the pty is gone
            chunk = b""
        if chunk:
            self.raw += chunk
        else:
            self.ended = True

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        """Read until ``pattern`` shows up in the text; fail if the command ends first."""
        deadline = time.monotonic() + timeout
        while not (found := re.search(pattern, self.text)):
            if self.ended or time.monotonic() > deadline:
                raise AssertionError(f"never showed {pattern!r}; it showed {self.text[-3000:]!r}")
            self._read(deadline - time.monotonic())
        return found

    def interrupt(self) -> None:
        """Ctrl-C."""
        self.process.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 120) -> int:
        """Read to the end; the exit status."""
        deadline = time.monotonic() + timeout
        while not self.ended and time.monotonic() < deadline:
            self._read(deadline - time.monotonic())
        return self.process.wait(timeout=max(deadline - time.monotonic(), 1))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(OSError):
            os.close(self.master)


def lineal(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`lineal ARGS` with stdout and stderr piped (not a terminal)."""
    return subprocess.run(
        [LINEAL, *args],
        cwd=cwd,
        env=env or cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def ok(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = lineal(*args, cwd=cwd, env=env)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def make_files(folder: Path, count: int) -> Path:
    """``count`` small files with distinct contents (so as many distinct objects)."""
    folder.mkdir(parents=True)
    for n in range(count):
        (folder / f"f{n:05d}.txt").write_bytes(b"line %d\n" % n * 8)
    return folder
