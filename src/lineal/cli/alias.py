"""`lineal alias set|unset|list`: aliases on any named artifact (``KIND/NAME:ALIAS``).

Thin: calls lineal.registry.aliases and prints what it returns; never reads the store itself.
"""

from __future__ import annotations

from typing import Annotated

import typer

from lineal.cli.common import handle_errors, open_client, out
from lineal.cli.plain import print_json

alias_app = typer.Typer(
    help="Aliases on named artifacts (dataset/holdout:eval-approved): set, unset, list.",
    no_args_is_help=True,
)
Json = Annotated[bool, typer.Option("--json", help="Print as JSON.")]


def _say(text: str) -> None:
    out.print(text, markup=False, emoji=False, highlight=False)


@alias_app.command("set")
@handle_errors
def set_(
    ref: Annotated[str, typer.Argument(help="The version: KIND/NAME@vN, or KIND/NAME (latest).")],
    alias: Annotated[str, typer.Argument(help="The alias, e.g. eval-approved.")],
    as_json: Json = False,
) -> None:
    """Point KIND/NAME:ALIAS at a version (protected model aliases: `lineal model promote`)."""
    from lineal.registry.aliases import set_alias

    with open_client() as client:
        done = set_alias(client, ref, alias)
    if as_json:
        print_json(done.as_dict())
        return
    body = done.as_dict()
    if not done.changed:
        _say(f"{done.ref} already names {body['target']}")
    elif done.previous is None:
        _say(f"{done.ref} -> {body['target']}")
    else:
        _say(f"{done.ref} -> {body['target']} (was {body['previous']})")


@alias_app.command("unset")
@handle_errors
def unset(
    target: Annotated[str, typer.Argument(help="KIND/NAME:ALIAS, or KIND/NAME with ALIAS.")],
    alias: Annotated[
        str | None, typer.Argument(help="The alias, when TARGET is KIND/NAME.")
    ] = None,
    as_json: Json = False,
) -> None:
    """Remove an alias (the ledger keeps who set and removed it, and when)."""
    from lineal.registry.aliases import unset_alias

    with open_client() as client:
        done = unset_alias(client, target, alias)
    if as_json:
        print_json(done.as_dict())
        return
    _say(f"{done.ref} removed (it named {done.as_dict()['previous']})")


@alias_app.command("list")
@handle_errors
def list_(
    target: Annotated[
        str | None, typer.Argument(help="KIND/NAME or KIND (default: every name).")
    ] = None,
    as_json: Json = False,
) -> None:
    """List the aliases held now and the version each names."""
    from lineal.registry.aliases import list_aliases

    with open_client() as client:
        found = list_aliases(client, target)
    if as_json:
        print_json([entry.as_dict() for entry in found])
        return
    if not found:
        _say("no aliases" + (f" on {target}" if target else ""))
    width = max((len(entry.ref) for entry in found), default=0)
    for entry in found:
        _say(f"{entry.ref:<{width}}  {entry.target}")


def register(app: typer.Typer) -> None:
    app.add_typer(alias_app, name="alias")
