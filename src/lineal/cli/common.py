"""What every command shares: opening the store, printing, and turning errors into one line.

Never lets a traceback reach the user unless LINEAL_DEBUG=1 asks for it.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer

from lineal.cli.plain import INTERRUPTED, debug, explain, print_error
from lineal.cli.progress import report_interrupted
from lineal.client import Lineal

P = ParamSpec("P")
T = TypeVar("T")

if TYPE_CHECKING:
    from rich.console import Console

#: What rich's emoji codes look like (rich._emoji_replace): a line without one prints as is.
_EMOJI_LIKE = re.compile(r":\S*?:")


class _LazyConsole:
    """A rich Console made on first use, for the lines that need rich.

    ``print(text, markup=False)`` of one printable line holding nothing like an emoji code
    writes it as is, as that Console would (no highlighting, soft wrap, no markup): commands
    that print only such lines (`lineal add`) never import rich (~30 ms).
    """

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def _rich(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, highlight=False, soft_wrap=True)
        return self._console

    def print(self, *objects: Any, markup: bool | None = None, **options: Any) -> None:
        if (
            markup is False
            and not options
            and len(objects) == 1
            and type(text := objects[0]) is str
            and text.isprintable()
            and _EMOJI_LIKE.search(text) is None
        ):
            (sys.stderr if self._stderr else sys.stdout).write(text + "\n")
            return
        self._rich().print(*objects, markup=markup, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rich(), name)


out: Console = _LazyConsole(stderr=False)  # type: ignore[assignment]
err: Console = _LazyConsole(stderr=True)  # type: ignore[assignment]

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
