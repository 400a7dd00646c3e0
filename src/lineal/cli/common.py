"""What every command shares: opening the store, printing, and turning errors into one line.

Never lets a traceback reach the user unless LINEAL_DEBUG=1 asks for it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from lineal.client import Lineal
from lineal.errors import LinealError

P = ParamSpec("P")
T = TypeVar("T")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def debug() -> bool:
    return os.environ.get("LINEAL_DEBUG", "") not in ("", "0")


def fail(message: str, hint: str | None = None) -> typer.Exit:
    """Print ``error:``/``hint:`` lines to stderr and return the Exit(1) to raise."""
    err.print(f"error: {message}", markup=False)
    if hint:
        err.print(f"hint: {hint}", markup=False)
    return typer.Exit(1)


def handle_errors(command: Callable[P, T]) -> Callable[P, T]:
    """Turn LinealError (and anything unexpected) into one clear line and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except LinealError as exc:
            if debug():
                raise
            raise fail(exc.message, exc.hint) from None
        except (typer.TyperException, typer.Exit, typer.Abort, KeyboardInterrupt):
            raise  # Click reports usage errors itself, with exit status 2
        except Exception as exc:
            if debug():
                raise
            raise fail(
                f"unexpected {type(exc).__name__}: {exc}",
                "run again with LINEAL_DEBUG=1 for the traceback, and report it",
            ) from None

    return wrapper


def open_client() -> Lineal:
    return Lineal.open()


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


@contextlib.contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback drawing a bar on a terminal; None (quiet) when stderr is piped."""
    if not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
