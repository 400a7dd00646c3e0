"""What every command shares: opening the store, printing, and turning errors into one line.

Never lets a traceback reach the user unless LINEAL_DEBUG=1 asks for it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from lineal.cli.plain import debug, explain, print_error
from lineal.client import Lineal

P = ParamSpec("P")
T = TypeVar("T")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, hint: str | None = None) -> typer.Exit:
    """Print ``error:``/``hint:`` lines to stderr and return the Exit(1) to raise."""
    print_error(message, hint)
    return typer.Exit(1)


def handle_errors(command: Callable[P, T]) -> Callable[P, T]:
    """Turn LinealError (and anything unexpected) into one clear line and exit status 1.

    lineal.cli.plain.run does the same for the commands that bypass Typer.
    """

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except (typer.TyperException, typer.Exit, typer.Abort, KeyboardInterrupt):
            raise  # Click reports usage errors itself, with exit status 2
        except Exception as exc:
            if debug():
                raise
            raise fail(*explain(exc)) from None

    return wrapper


def open_client() -> Lineal:
    return Lineal.open()


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
