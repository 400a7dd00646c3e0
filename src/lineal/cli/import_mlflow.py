"""`lineal import mlflow URI|PATH`: an MLflow tracking store's runs and models into lineal."""

from __future__ import annotations

from typing import Annotated

import typer

from lineal.cli.common import Quiet, handle_errors, open_client, out
from lineal.cli.plain import print_json
from lineal.cli.progress import progress


@handle_errors
def command(
    target: Annotated[
        str,
        typer.Argument(
            metavar="URI|PATH",
            help="An mlruns/ folder, an MLflow sqlite file, or a tracking URI "
            "(sqlite:///mlflow.db, postgresql://…, http://…).",
        ),
    ],
    experiment: Annotated[
        list[str] | None,
        typer.Option(
            "--experiment", "-e", help="Import only this experiment (name or id); repeatable."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    quiet: Quiet = False,
) -> None:
    """Import MLflow experiments, runs (params, every metric point, tags, dataset inputs,
    files), logged and registered models, versions, aliases and stages. Running it again
    records only what is new."""
    from lineal.interop.mlflow_import import import_mlflow

    with open_client() as repo, progress(quiet=quiet) as shown:
        result = import_mlflow(repo, target, experiments=tuple(experiment or ()), progress=shown)
    if as_json:
        print_json(result.as_dict())
        return
    new, old = result.imported.as_dict(), result.already.as_dict()
    out.print(f"Imported from {result.source} ({result.records} records)", markup=False)
    for key in new:
        if new[key] or old[key]:
            label = key.replace("_", " ")
            out.print(f"  {label:<14} {new[key]:>7} new  {old[key]:>7} already there", markup=False)
    if not result.records:
        out.print("Nothing new: everything was imported before.", markup=False)
    for note in result.notes:
        out.print(f"note: {note}", markup=False)
