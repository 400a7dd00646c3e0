"""Progress of long work: the stages a service goes through and how far it is in each.

Never draws or prints: services report to a Progress they are given (lineal.cli draws a bar
from it on a terminal, and says what an interrupted command did and left from its counters).

A service announces each stage of its work (``progress.stage("hashing", "hashed",
unit="files", total=n, after="nothing was recorded")``), then reports counts within it by
calling ``progress(done, total)``, so a Progress is also the plain ``(done, total)`` callback
the lower-level functions of lineal.cas take. ``after`` says, in words for the user, what an
interruption during this stage leaves behind. Any layer may use it: importers too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(slots=True)
class Stage:
    """One stage of a piece of work, and how far it has got."""

    label: str  # what is being done, for a progress bar: "hashing"
    past: str  # what the counted units had done to them: "hashed"
    unit: str  # what is counted: "files", "objects" ("" for a stage that is not counted)
    after: str  # what an interruption now leaves behind, said to the user
    live: bool  # False while something else owns the terminal (a replayed command's output)
    done: int = 0
    total: int | None = None


class Progress(Protocol):
    """What a service reports its progress to (see the module docstring)."""

    def stage(
        self,
        label: str,
        past: str = "",
        *,
        unit: str = "",
        total: int | None = None,
        after: str = "",
        live: bool = True,
    ) -> None: ...

    def __call__(self, done: int, total: int) -> None: ...


class Tally:
    """A Progress that keeps the current stage and its counts, and shows nothing.

    Subclasses show it: :meth:`started` is called when a stage begins, :meth:`moved` when
    its counts change.
    """

    def __init__(self) -> None:
        self.current: Stage | None = None

    def stage(
        self,
        label: str,
        past: str = "",
        *,
        unit: str = "",
        total: int | None = None,
        after: str = "",
        live: bool = True,
    ) -> None:
        self.current = Stage(label, past or label, unit, after, live, 0, total)
        self.started(self.current)

    def __call__(self, done: int, total: int) -> None:
        current = self.current
        if current is None:  # counts without a stage: a caller that named none
            current = self.current = Stage("working", "done", "items", "", True)
            self.started(current)
        current.done, current.total = done, total
        self.moved(current)

    def started(self, stage: Stage) -> None:
        """A stage began (override to show it)."""

    def moved(self, stage: Stage) -> None:
        """The counts of the current stage changed (override to show them)."""


def stage(
    progress: Progress | None,
    label: str,
    past: str = "",
    *,
    unit: str = "",
    total: int | None = None,
    after: str = "",
    live: bool = True,
) -> None:
    """``progress.stage(...)`` when there is a Progress (services take ``None`` for none)."""
    if progress is not None:
        progress.stage(label, past, unit=unit, total=total, after=after, live=live)
