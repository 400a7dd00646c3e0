"""`lineal import openlineage EVENTS.jsonl|DIR`: take in events other tools sent to OpenLineage."""

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
        typer.Argument(
            help="A JSON Lines file of events (what the OpenLineage file transport writes), a "
            "JSON array or one event, or a folder of .json/.jsonl files."
        ),
    ],
    spec: Annotated[
        Path | None,
        typer.Option(
            "--spec",
            help="The OpenLineage spec/ folder (OpenLineage.json, facets/): check every event "
            "and facet against its schema (default: $LINEAL_OPENLINEAGE_SPEC; without one, "
            "the spec's basic rules only).",
        ),
    ] = None,
    keep_going: Annotated[
        bool,
        typer.Option(
            "--keep-going", help="Record the valid events and list the invalid ones, not stop."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Record OpenLineage events: runs, jobs, input and output datasets, parents, code and
    every facet. Each event is one transaction; importing the same events again changes
    nothing."""
    from lineal.interop.openlineage_files import read_events
    from lineal.interop.openlineage_ingest import ingest

    with open_client() as repo:
        result = ingest(
            repo,
            read_events(path),
            spec=None if spec is None else str(spec),
            keep_going=keep_going,
        )
    if as_json:
        body = result.as_dict()
        body["invalid"] = [one for one in result.outcomes if one["status"] == "invalid"]
        print_json(body)
        return
    out.print(
        f"{result.events:,} events recorded ({result.duplicates:,} seen before): "
        f"{result.runs:,} runs started, {result.finished:,} finished, {result.jobs:,} jobs, "
        f"{result.datasets:,} dataset versions, {result.edges:,} edges, "
        f"{result.facets:,} facets kept",
        markup=False,
    )
    for one in result.outcomes:
        if one["status"] == "invalid":
            where = one.get("where", f"event {one['index'] + 1}")
            out.print(f"{where} skipped: {one['error']}", markup=False)
    if result.validation == "basic":
        out.print(
            "note: full schema validation was off; pass --spec SPEC_DIR (the OpenLineage "
            "spec/ folder) or set LINEAL_OPENLINEAGE_SPEC to check every event and facet",
            markup=False,
        )
