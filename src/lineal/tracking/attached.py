"""The handle a command run by `lineal run` gets on that run: ``lineal.active_run()`` there.

Metrics, params, tags, inputs and outputs go to the wrapper run through this process's own
buffer and flusher; summary values go back to `lineal run` through its summary channel.
Finishing the handle only flushes and detaches: it never ends the run and never beats for it
(the `lineal run` process does both, and sets the status from the command's exit code).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.model.entities import Run
from lineal.tracking import handshake, lifecycle
from lineal.tracking.runs import ActiveRun, checked_summary

_LOCK = threading.Lock()  # one handle per process, even when two threads ask at once


class AttachedRun(ActiveRun):
    """A handle on a run another process started and will end (`lineal run`'s)."""

    def __init__(
        self, repo: Lineal, run: Run, channel: Path | None, *, flush_interval: float = 1.0
    ) -> None:
        super().__init__(repo, run, flush_interval=flush_interval)
        self._channel = channel
        self.owns_repo = True

    def _beat(self) -> None:
        """Nothing: the process that started the run beats for it (`lineal run`, which
        outlives this one), and its pid is the one a crash is told by."""

    def summary(self, values: Mapping[str, Any] | None = None, **more: Any) -> dict[str, Any]:
        """Set final values: sent to `lineal run`, which records them when it ends the run."""
        given = checked_summary(values, more)
        if self._channel is None:
            raise InvalidInput(
                f"summary values cannot reach {self.ref}: the process that ends it gave this "
                "one no summary channel (LINEAL_RUN_SUMMARY)",
                hint="log them as metrics with run.log, or run the script under `lineal run`",
            )
        if given:
            handshake.send(self._channel, given)
        self._summary.update(given)
        return dict(self._summary)

    def finish(self, status: str = "finished", *, error: str | None = None) -> Run:
        """Write every point and detach; the run goes on. `lineal run` ends it when the
        command exits, with a status from the exit code (``status`` is not recorded)."""
        self._refuse_if_forked()
        if self._finished:
            return self.info
        self._finished = True
        lifecycle.release_attached(self)
        try:
            self._stop_flusher()
        finally:
            self._buffer.disown(
                f"{self.ref} was detached from this process (finish() or the end of a with block)",
                "call lineal.active_run() again for a new handle on it",
            )
            self.repo.close()
        return self.info

    def disown(self) -> None:
        """In a forked child: this handle (its buffer, its flusher) is the parent's."""
        self._forked = (
            f"this handle on {self.ref} belongs to process {self._pid}, not to this forked "
            f"child (pid {os.getpid()})"
        )
        self._buffer.disown(self._forked, "call lineal.active_run() in the child for its own")

    def __repr__(self) -> str:
        return f"<AttachedRun {self.name} {self.ref}>"


def current() -> ActiveRun | None:
    """This process's handle on the run `lineal run` wraps it in (``LINEAL_RUN``), made at
    first use and checked then: the run must be in the store this process opens, and running."""
    with _LOCK:
        held = lifecycle.attached_run()
        if held is not None or handshake.wrapped_ref() is None:
            return held
        repo = Lineal.open()
        try:
            run = handshake.wrapped_run(repo)
            assert run is not None  # noqa: S101 - LINEAL_RUN is set
            handle = AttachedRun(repo, run, handshake.channel_for(run.ref))
        except BaseException:
            repo.close()
            raise
        lifecycle.hold_attached(handle)
        return handle


def _after_fork_in_child() -> None:
    global _LOCK  # noqa: PLW0603 - another thread may have held it at the fork
    _LOCK = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
