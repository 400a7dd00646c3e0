"""`lineal replay RUN`: re-execute a recorded run in a sandbox and compare its output digests.

Thin: formats what lineal.tracking.rerun returns; never reads the store or files itself.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from lineal.cli.common import Quiet, err, handle_errors, open_client, out
from lineal.cli.plain import print_json
from lineal.cli.progress import progress


def _echo(label: str, chunk: bytes) -> None:
    stream = sys.stdout if label == "stdout" else sys.stderr
    stream.buffer.write(chunk)
    stream.flush()


def _quiet(label: str, chunk: bytes) -> None:
    """--json keeps stdout for the report: the command's output is not shown."""


@handle_errors
def replay(
    run: Annotated[str, typer.Argument(help="run/ULID of a run recorded by `lineal run`.")],
    keep: Annotated[
        Path | None,
        typer.Option("--keep", help="Replay in this (new or empty) folder and keep it."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    quiet: Quiet = False,
) -> None:
    """Re-execute a run (command, code, inputs from the cache) and compare output digests."""
    from lineal.tracking.rerun import replay as rerun

    echo = _quiet if as_json else _echo
    with open_client() as client, progress(quiet=quiet) as shown:
        result = rerun(client, run, keep=keep, echo=echo, progress=shown)
    if as_json:
        print_json(result.as_dict())
    else:
        verdict = "reproducible" if result.reproducible else "NOT reproducible"
        out.print(f"{result.run.ref} {verdict}", markup=False)
        if result.exit_code:
            out.print(f"  the command exited with {result.exit_code}", markup=False)
        for one in result.outputs:
            if one.same:
                out.print(f"  same     {one.path}  {one.recorded[:19]}", markup=False)
                continue
            if one.replayed is None:
                out.print(f"  missing  {one.path} (the replay did not create it)", markup=False)
                continue
            out.print(
                f"  differs  {one.path}  {one.recorded[:19]} -> {one.replayed[:19]}", markup=False
            )
            for label, paths in (("changed", one.changed), ("added", one.added),
                                 ("removed", one.removed)):  # fmt: skip
                for path in paths:
                    out.print(f"    {label:<8} {path}", markup=False)
        if result.kept:
            err.print(f"sandbox kept in {result.sandbox}", markup=False)
    if not result.reproducible:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(replay)
