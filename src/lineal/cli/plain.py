"""Plain-text output every command shares: lines, JSON and one-line errors on stdout/stderr.

Never imports typer or rich: `lineal status` runs on this alone (see lineal.cli.main).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

from lineal.cas.manifest import ManifestDiff
from lineal.errors import LinealError

#: Typer's exit status for Ctrl-C, kept on the paths that bypass Typer.
INTERRUPTED = 130


def debug() -> bool:
    return os.environ.get("LINEAL_DEBUG", "") not in ("", "0")


def print_line(text: str) -> None:
    sys.stdout.write(text + "\n")


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def print_error(message: str, hint: str | None = None) -> None:
    """The ``error:`` line, and the ``hint:`` line if there is one, on stderr; credentials in a
    URI or a ``password=`` in them never reach the screen (or the CI log it goes to)."""
    from lineal.model.masking import mask_url  # its patterns compile only when an error shows

    text = f"error: {message}\n" + (f"hint: {hint}\n" if hint else "")
    sys.stderr.write(mask_url(text))


def explain(exc: Exception) -> tuple[str, str | None]:
    """The message and hint to show for an exception a command let through."""
    if isinstance(exc, LinealError):
        return exc.message, exc.hint
    return (
        f"unexpected {type(exc).__name__}: {exc}",
        "run again with LINEAL_DEBUG=1 for the traceback, and report it",
    )


def run(command: Callable[[], None]) -> int:
    """Run ``command`` as `lineal` runs a command; its exit status (0, 1, or 130 on Ctrl-C).

    For commands that bypass Typer; lineal.cli.common.handle_errors does the same inside it.
    """
    try:
        command()
    except KeyboardInterrupt:
        from lineal.cli.progress import report_interrupted

        report_interrupted()
        return INTERRUPTED
    except Exception as exc:
        if debug():
            raise
        print_error(*explain(exc))
        return 1
    return 0


def size(n: int) -> str:
    """A byte count for people: 512 B, 4.1 kB, 81.9 MB."""
    step = 1000.0
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(value) < step or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= step
    return f"{n} B"


def change_lines(changes: ManifestDiff) -> list[str]:
    """One indented line per added, removed and modified file."""
    return [
        *(f"  added     {e.path}  ({size(e.size)})" for e in changes.added),
        *(f"  removed   {e.path}  ({size(e.size)})" for e in changes.removed),
        *(
            f"  modified  {new.path}  ({size(old.size)} -> {size(new.size)})"
            for old, new in changes.modified
        ),
    ]


def redaction_line(one: dict[str, Any]) -> str:
    """One redaction (Store.redactions) as a line: what was erased, by whom, when and why."""
    when = str(one["time"])[:19].replace("T", " ")
    return (
        f"record {one['seq']} ({one['op']}) by {one['author']} at {when} "
        f"(record {one['by_seq']}): {one['reason']}"
    )
