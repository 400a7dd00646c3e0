"""The Typer app: `lineal init`, and the command groups it mounts.

Never does work itself: every command calls lineal.client or lineal.workspace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lineal import __version__, workspace
from lineal.cli import data, ledger, lineage, query, remote, runs, show
from lineal.cli.common import handle_errors, out

app = typer.Typer(
    name="lineal",
    help="Record where every dataset, label schema, scene, run, metric and model came from.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        out.print(f"lineal {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Record where every dataset, label schema, scene, run, metric and model came from."""


@app.command()
@handle_errors
def init(
    path: Annotated[
        Path, typer.Argument(help="Folder to create .lineal/ in (default: here).")
    ] = Path(),
    uri: Annotated[
        str | None,
        typer.Option(help="Store URI, e.g. postgresql://host/db (default: .lineal/lineal.db)."),
    ] = None,
    agent: Annotated[
        str | None,
        typer.Option(help="Your agent name (default: git user.email, user.name or login)."),
    ] = None,
) -> None:
    """Create .lineal/ (the store, a signing key) and register you as an agent."""
    created = workspace.init(path, uri=uri, agent=agent)
    signer = created.signer()
    out.print(f"Initialised lineal store {created.uri}", markup=False)
    if signer is not None:
        out.print(
            f"Agent {signer.name} (key {signer.key_id}) registered; private key in {created.keys}",
            markup=False,
        )


ledger.register(app)
show.register(app)
data.register(app)
remote.register(app)
runs.register(app)
lineage.register(app)
query.register(app)
