"""`lineal import dvc PATH`: a DVC project's tracked data, pipeline outs and stages.

Thin: prints what lineal.interop.dvc_import returns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lineal.cli.common import handle_errors, open_client, out
from lineal.cli.plain import print_json


@handle_errors
def command(
    path: Annotated[
        Path,
        typer.Argument(metavar="PATH", help="The DVC repository's root (where `dvc init` ran)."),
    ] = Path(),
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Import a DVC project: .dvc files and stage outs as dataset and model versions, each
    dvc.lock stage as a run with its deps, params and outs (again: adds only what is new)."""
    from lineal.interop.dvc_import import import_dvc

    with open_client() as client:
        result = import_dvc(client, path)
    if as_json:
        print_json(result.as_dict())
        return
    out.print(
        f"Imported {result.root}: {result.files} .dvc files, {result.stages} stages, "
        f"{result.datasets} dataset and {result.models} model versions "
        f"({result.hashed} hashed, {result.absent} absent: bytes not in the workspace or cache)",
        markup=False,
    )
    out.print(
        f"Added {result.added_versions} versions, {result.added_runs} runs and "
        f"{result.added_edges} edges",
        markup=False,
    )
    if result.unrun:
        out.print(f"Never run (no dvc.lock entry): {', '.join(result.unrun)}", markup=False)
    if result.runs:
        out.print(f"See the pipeline: lineal upstream {result.runs[-1]}", markup=False)
