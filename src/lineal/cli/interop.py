"""`lineal import SOURCE …` (openlineage, mlflow, dvc) and `lineal export FORMAT REF`.

Thin: each importer's command lives in its own module (``IMPORTERS``); `export` calls the
format's module of lineal.interop (``EXPORTERS``), which returns the document's bytes, and
writes them to ``-o FILE`` or standard output.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from lineal.cli.common import handle_errors, open_client, out
from lineal.errors import InvalidInput

#: `lineal import NAME`: the module of lineal.cli that defines its ``command``.
IMPORTERS: dict[str, str] = {
    "dvc": "lineal.cli.import_dvc",
    "mlflow": "lineal.cli.import_mlflow",
    "openlineage": "lineal.cli.import_openlineage",
}
#: `lineal export FORMAT`: the module of lineal.interop with ``FLAVORS`` (the first is the
#: default) and ``export(repo, ref, *, flavor) -> bytes``.
EXPORTERS: dict[str, str] = {
    "openlineage": "lineal.interop.openlineage_export",
    "prov": "lineal.interop.prov",
    "croissant": "lineal.interop.croissant",
    "intoto": "lineal.interop.intoto",
    "cyclonedx": "lineal.interop.cyclonedx",
}

import_app = typer.Typer(
    help="Take in what other tools recorded: OpenLineage events, MLflow stores, DVC projects.",
    no_args_is_help=True,
)


@handle_errors
def export(
    format: Annotated[
        str, typer.Argument(help="openlineage, prov, croissant, intoto or cyclonedx.")
    ],
    ref: Annotated[str, typer.Argument(help="What to export: KIND/NAME[@vN], run/ULID, …")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here (default: standard output).")
    ] = None,
    flavor: Annotated[
        str | None,
        typer.Option("--as", help="The format's variant, e.g. prov: json, turtle, jsonld, provn."),
    ] = None,
) -> None:
    """Write REF (and what it came from) in a standard format, for other tools and auditors."""
    if format not in EXPORTERS:
        raise InvalidInput(
            f"unknown export format {format!r}",
            hint=f"use one of: {', '.join(sorted(EXPORTERS))}",
        )
    module = importlib.import_module(EXPORTERS[format])
    flavors: tuple[str, ...] = module.FLAVORS
    chosen = flavors[0] if flavor is None else flavor
    if chosen not in flavors:
        raise InvalidInput(
            f"{format} has no variant {chosen!r}", hint=f"use --as one of: {', '.join(flavors)}"
        )
    with open_client() as repo:
        document: bytes = module.export(repo, ref, flavor=chosen)
    if output is None:
        sys.stdout.buffer.write(document)
        sys.stdout.buffer.flush()
        return
    output.write_bytes(document)
    out.print(f"Wrote {format} ({chosen}) of {ref} to {output}", markup=False)


def register(app: typer.Typer) -> None:
    for name, module in IMPORTERS.items():
        import_app.command(name)(importlib.import_module(module).command)
    app.add_typer(import_app, name="import")
    app.command("export")(export)
