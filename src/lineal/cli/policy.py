"""`lineal policy check|apply|show`: run the promotion policies in force without promoting,
record `lineal.toml`'s policies in the ledger, and show the ledger's beside the file's.

Thin: calls lineal.registry and prints what it returns; never reads the store itself.
"""

from __future__ import annotations

from typing import Annotated

import typer

from lineal.cli.common import handle_errors, open_client, out
from lineal.cli.model import print_checks
from lineal.cli.plain import print_json
from lineal.errors import InvalidInput

policy_app = typer.Typer(
    help="Promotion policies: recorded from lineal.toml into the ledger, checked, shown.",
    no_args_is_help=True,
)


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


@policy_app.command("apply")
@handle_errors
def apply_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Record lineal.toml's protected aliases and policies in the ledger (you must be admin)."""
    from lineal.registry.grants import apply

    with open_client() as client:
        done = apply(client)
    if as_json:
        print_json(done.as_dict())
        return
    if done.seq is None:
        _say("The ledger holds these policies already; nothing recorded.")
    else:
        policies = ", ".join(done.policies) or "none"
        protected = ", ".join(done.protected) or "none"
        _say(f"Policies in force from seq {done.seq}: {policies}; protected aliases: {protected}")
    for agent, role in done.roles_in_file:
        _say(
            f"note: {agent} holds role {role} only in lineal.toml, which counts for nothing; "
            f"an admin runs: lineal role grant {agent} {role}"
        )


@policy_app.command("show")
@handle_errors
def show_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """The policies and roles in force in the ledger beside lineal.toml's; exit 1 on a
    difference."""
    from lineal.registry.grants import show

    with open_client() as client:
        state = show(client)
    if as_json:
        print_json(state.as_dict())
    else:
        ledger = state.ledger
        if ledger is None:
            _say("In force: no policy has been applied (lineal policy apply records lineal.toml's)")
        else:
            _say(
                f"In force since seq {ledger['seq']} (applied by {ledger['author']}): "
                f"policies {', '.join(sorted(ledger['policies'])) or 'none'}; "
                f"protected {', '.join(ledger['protected']) or 'none'}"
            )
        for one in state.roles:
            _say(f"  role {one.role:<12} {one.agent} since seq {one.seq}")
        for difference in state.differences:
            _say(f"DIFFERS  {difference}")
        if state.same:
            _say("lineal.toml and the ledger agree.")
    if not state.same:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
