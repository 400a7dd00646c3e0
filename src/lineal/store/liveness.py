"""Telling a crashed run from a running one: pid checks on this host, stale beats elsewhere.

A run's flusher beats every few seconds; a run whose process is gone (or whose beats stopped)
is shown as crashed. Never writes: reading a run must not change the record.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable
from pathlib import Path

#: A run on another host whose last beat is older than this is taken for crashed (seconds).
STALE_AFTER = 60.0


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux), which a reused pid
    does not share; None where /proc is not there."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22, counted after the command name, which may itself hold spaces and parentheses.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def host() -> str:
    return socket.gethostname()


def is_alive(pid: int, started: str | None) -> bool:
    """Whether process ``pid`` (started at ``started``, if known) still runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    if started is not None:
        now = process_start(pid)
        if now is not None and now != started:
            return False  # the pid was reused by another process
    return True


#: (run id, host, pid, process start, time of the last beat) of a run recorded as running
Beat = tuple[str, str, int, str | None, float]


def crashed(beats: Iterable[Beat], *, now: float | None = None) -> list[str]:
    """Ids of the runs among ``beats`` whose process has died."""
    moment = time.time() if now is None else now
    here = host()
    dead = []
    for run_id, where, pid, started, beat in beats:
        if where == here:
            if not is_alive(pid, started):
                dead.append(run_id)
        elif moment - beat > STALE_AFTER:
            dead.append(run_id)
    return dead
