"""Progress on the command line: a bar on a terminal, and what Ctrl-C interrupted.

Never imports rich until there is a bar to draw (after LINEAL_PROGRESS_DELAY seconds of real
work, on a terminal, without --quiet): `lineal status` on an unchanged working copy runs
without it. Never draws when stderr is not a terminal.

Every long command opens :func:`progress` around its service call and hands the service the
Progress it yields. On Ctrl-C, the command's error handling (lineal.cli.common.handle_errors,
or lineal.cli.plain.run for the commands that bypass Typer) calls :func:`report_interrupted`,
which says from that Progress's counters what was done, what was left, and what the stage
the work was in leaves behind.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

from lineal.cas.progress import Stage, Tally

#: Seconds of work before a bar is drawn (as git's GIT_PROGRESS_DELAY): quick commands stay
#: quiet, and `lineal status` does not pay for importing rich.
DELAY = 0.3
_REFRESH = 0.05  # seconds between two updates handed to the bar


def _delay() -> float:
    try:
        return max(0.0, float(os.environ.get("LINEAL_PROGRESS_DELAY", DELAY)))
    except ValueError:
        return DELAY


class Bar(Tally):
    """A Tally that draws the current stage as a Rich progress bar on stderr, once the work
    has gone on for ``delay`` seconds; the bar is erased when the work ends."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self._since: float | None = None  # when the first stage began
        self._last = 0.0
        self._total: int | None = -1  # the total drawn last (-1: none yet)
        self._bar: Any = None  # rich.progress.Progress, once drawn
        self._task: Any = None

    def started(self, stage: Stage) -> None:
        if self._since is None:
            self._since = time.monotonic()
        if not stage.live:
            self.close()  # the terminal belongs to something else for now
            return
        if self._bar is not None:
            self._bar.remove_task(self._task)  # a task's total cannot go back to "unknown"
            self._task = self._bar.add_task(stage.label, total=stage.total, counts="")
            self._total = -1
        self.moved(stage)

    def moved(self, stage: Stage) -> None:
        if not stage.live or self._since is None:
            return
        now = time.monotonic()
        if self._bar is None:
            if now - self._since < self.delay:
                return
            self._draw(stage)
        elif (
            now - self._last < _REFRESH and stage.done != stage.total and stage.total == self._total
        ):
            return
        self._last = now
        # A new stage or a new total is drawn at once, counts at the bar's own pace.
        news, self._total = stage.total != self._total, stage.total
        self._bar.update(
            self._task,
            completed=stage.done,
            total=stage.total,
            counts=_counts(stage),
            refresh=news,
        )

    def _draw(self, stage: Stage) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            TextColumn("{task.fields[counts]}", markup=False),
            TimeRemainingColumn(),
            console=Console(stderr=True, highlight=False),
            transient=True,
        )
        self._task = self._bar.add_task(stage.label, total=stage.total, counts="")
        self._bar.start()

    def close(self) -> None:
        """Erase the bar, if one is drawn."""
        if self._bar is not None:
            bar, self._bar = self._bar, None
            bar.stop()


def _counts(stage: Stage) -> str:
    if not stage.unit:
        return ""
    if stage.total is None:
        return f"{stage.done:,} {stage.unit}"
    return f"{stage.done:,}/{stage.total:,} {stage.unit}"


#: The Progress of the command running now; kept when Ctrl-C ends it, for report_interrupted.
_current: list[Tally] = []


@contextlib.contextmanager
def progress(*, quiet: bool = False) -> Iterator[Tally]:
    """The Progress to hand a service: a Bar on a terminal, else a Tally that draws nothing
    (``quiet``, or stderr piped); either way its counts are what Ctrl-C reports."""
    shown = not quiet and sys.stderr.isatty()
    tally = Bar(_delay()) if shown else Tally()
    _current[:] = [tally]
    try:
        yield tally
    except KeyboardInterrupt:
        raise  # _current stays for report_interrupted
    except BaseException:
        _current.clear()
        raise
    else:
        _current.clear()  # Ctrl-C from here on interrupts no work this Progress counted
    finally:
        if isinstance(tally, Bar):
            tally.close()  # erased before anything else is printed


def interrupted_message(stage: Stage | None) -> str | None:
    """What to say when Ctrl-C stops work in ``stage``; None if no stage was reported."""
    if stage is None:
        return None
    if not stage.unit:
        said = f"interrupted while {stage.label}"
    elif stage.total is None:
        said = f"interrupted: {stage.done:,} {stage.unit} {stage.past}"
    else:
        left = max(stage.total - stage.done, 0)
        said = (
            f"interrupted: {stage.done:,} of {stage.total:,} {stage.unit} {stage.past}, "
            f"{left:,} left"
        )
    return f"{said}; {stage.after}" if stage.after else said


def report_interrupted() -> None:
    """Say on stderr what the interrupted command did and left (nothing if it reported no
    progress). Every command's Ctrl-C goes through here."""
    tally = _current.pop() if _current else None
    message = interrupted_message(tally.current if tally else None)
    if message:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
