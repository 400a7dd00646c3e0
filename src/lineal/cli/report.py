"""`lineal report REF [-o report.html|report.pdf|report.json]`: the audit report of a model or
dataset version.

Thin: lineal.report.facts gathers, lineal.report.render writes; this writes the bytes out.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from lineal.cli.common import handle_errors, open_client, out


@handle_errors
def report(
    ref: Annotated[
        str, typer.Argument(help="A model or dataset version: model/NAME:ALIAS, dataset/NAME@v2…")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Write here: .html (self-contained), .pdf (needs Chromium) or .json "
            "(default: HTML on standard output).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the facts as JSON.")] = False,
    no_verify: Annotated[
        bool, typer.Option("--no-verify", help="Skip `lineal verify`'s checks (faster).")
    ] = False,
) -> None:
    """Write the audit report of a model or dataset: provenance, data, runs, approvals, checks."""
    from lineal.report import facts, render

    fmt = "json" if as_json else render.format_of(output) if output is not None else "html"
    with open_client() as repo:
        found = facts.gather(repo, ref, verify=not no_verify)
    document = render.document(found, fmt)
    if output is None:
        sys.stdout.buffer.write(document)
        sys.stdout.buffer.flush()
        return
    output.write_bytes(document)
    missing = len(found.missing)
    stated = f" ({missing} missing item{'s' if missing != 1 else ''} stated in it)"
    out.print(
        f"Wrote the {fmt.upper()} report of {found.subject['ref']} to {output}"
        + (stated if missing else ""),
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.command()(report)
