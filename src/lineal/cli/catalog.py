"""`lineal ls [KIND]`: the named artifacts, with latest version, versions, aliases and licence.

Thin: calls lineal.registry.listing and prints what it returns; never reads the store itself.
"""

from __future__ import annotations

from typing import Annotated

import typer

from lineal.cli.common import handle_errors, open_client, out
from lineal.cli.plain import print_json


@handle_errors
def ls(
    kind: Annotated[
        str | None, typer.Argument(help="Only this kind: dataset, model, schema, scene, …")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List named artifacts: latest version, number of versions, aliases held, licence."""
    from lineal.registry.listing import named_artifacts

    with open_client() as client:
        found = named_artifacts(client, kind)
    if as_json:
        print_json([one.as_dict() for one in found])
        return
    if not found:
        out.print(f"no named {kind or 'artifact'}s yet", markup=False)
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("name", "latest", "versions", "aliases", "license"):
        table.add_column(column, no_wrap=True, justify="right" if column == "versions" else "left")
    for one in found:
        aliases = " ".join(f"{alias}=v{v}" for alias, v in sorted(one.aliases.items()))
        table.add_row(one.ref, f"v{one.latest}", str(one.versions), aliases, one.license or "-")
    if out.is_terminal:
        out.print(table)
    else:  # piped: as wide as it needs, never folded
        from rich.console import Console

        Console(width=10_000, highlight=False).print(table, crop=False)


def register(app: typer.Typer) -> None:
    app.command()(ls)
