"""What every command shares: opening the store, printing, and turning errors into one line.

Never lets a traceback reach the user unless LINEAL_DEBUG=1 asks for it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

from lineal.cli.plain import INTERRUPTED, debug, explain, print_error
from lineal.cli.progress import report_interrupted
from lineal.client import Lineal

P = ParamSpec("P")
T = TypeVar("T")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

#: The --quiet option of every command that shows progress.
Quiet = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="Show no progress bar (it shows only on a terminal anyway)."
    ),
]


def fail(message: str, hint: str | None = None) -> typer.Exit:
    """Print ``error:``/``hint:`` lines to stderr and return the Exit(1) to raise."""
    print_error(message, hint)
    return typer.Exit(1)


def handle_errors(command: Callable[P, T]) -> Callable[P, T]:
    """Turn LinealError (and anything unexpected) into one clear line and exit status 1, and
    Ctrl-C into what the command did and left (lineal.cli.progress) and exit status 130.

    lineal.cli.plain.run does the same for the commands that bypass Typer.
    """

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            report_interrupted()
            raise typer.Exit(INTERRUPTED) from None
        except (typer.TyperException, typer.Exit, typer.Abort):
            raise  # Click reports usage errors itself, with exit status 2
        except Exception as exc:
            if debug():
                raise
            raise fail(*explain(exc)) from None

    return wrapper


def open_client() -> Lineal:
    return Lineal.open()
