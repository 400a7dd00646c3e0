"""`lineal policy check`: run the promotion policies of `lineal.toml` without promoting.

Thin: calls lineal.registry and prints what it returns; never reads the store itself.
"""

from __future__ import annotations

from typing import Annotated

import typer

from lineal.cli.common import handle_errors, open_client, out
from lineal.cli.model import print_checks
from lineal.cli.plain import print_json
from lineal.errors import InvalidInput

policy_app = typer.Typer(help="Promotion policies from lineal.toml.", no_args_is_help=True)


def _say(text: str) -> None:
    out.print(text, markup=False, emoji=False, highlight=False)


@policy_app.command("check")
@handle_errors
def check_command(
    ref: Annotated[
        str | None, typer.Argument(help="NAME@vN, NAME:ALIAS or NAME (latest version).")
    ] = None,
    alias: Annotated[
        str | None,
        typer.Option("--alias", help="Check the policy of this alias (default: those it holds)."),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Check every model version holding a policy alias.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Run the policy checks for a version (or --all aliased versions); exit 1 on a violation."""
    from lineal.registry.promote import check_all, check_version

    if every == (ref is not None):
        raise InvalidInput("give a model version or --all", hint="e.g. lineal policy check --all")
    with open_client() as client:
        results = check_all(client) if every else check_version(client, str(ref), alias)
    if as_json:
        print_json(results)
    else:
        if every and not results:
            _say("No model version holds an alias that has a policy.")
        for one in results:
            if one["policy"] is None:
                _say(f"{one['ref']} for {one['alias']}: no policy governs this alias")
                continue
            state = "passes" if one["passed"] else "VIOLATES"
            _say(f"{one['ref']} {state} policy {one['alias']!r}:")
            print_checks(one["checks"])
    if not all(one["passed"] for one in results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
