"""`lineal role grant|revoke|list`: who holds which role, as signed ledger facts.

Thin: calls lineal.registry.grants and prints what it returns; never reads the store itself.
"""

from __future__ import annotations

from typing import Annotated

import typer

from lineal.cli.common import handle_errors, open_client, out
from lineal.cli.plain import print_json

role_app = typer.Typer(
    help="Roles (viewer, contributor, approver, admin, or a policy's own) as ledger facts.",
    no_args_is_help=True,
)
Json = Annotated[bool, typer.Option("--json", help="Print as JSON.")]
Agent = Annotated[str, typer.Argument(help="A registered agent's name.")]
Role = Annotated[str, typer.Argument(help="viewer, contributor, approver, admin, or another.")]


def _say(text: str) -> None:
    out.print(text, markup=False, emoji=False, highlight=False)


@role_app.command("grant")
@handle_errors
def grant(agent: Agent, role: Role, as_json: Json = False) -> None:
    """Record that AGENT holds ROLE from now on, signed by you (an admin)."""
    from lineal.registry.grants import grant as record

    with open_client() as client:
        done = record(client, agent, role)
    if as_json:
        print_json(done.as_dict())
        return
    _say(f"{done.agent} holds role {done.role} from seq {done.seq} (granted by {done.by})")


@role_app.command("revoke")
@handle_errors
def revoke(agent: Agent, role: Role, as_json: Json = False) -> None:
    """Record that AGENT no longer holds ROLE, signed by you (an admin)."""
    from lineal.registry.grants import revoke as record

    with open_client() as client:
        done = record(client, agent, role)
    if as_json:
        print_json(done.as_dict())
        return
    _say(f"{done.agent} no longer holds role {done.role} from seq {done.seq} (by {done.by})")


@role_app.command("list")
@handle_errors
def list_(
    as_of: Annotated[
        int | None, typer.Option("--as-of", help="As the ledger stood at this seq.")
    ] = None,
    as_json: Json = False,
) -> None:
    """Who holds which role, since which seq and granted by whom."""
    from lineal.registry.grants import holdings

    with open_client() as client:
        found = holdings(client, as_of)
    if as_json:
        print_json([one.as_dict() for one in found])
        return
    if not found:
        _say("No roles are held.")
    for one in found:
        by = "first agent of the store" if one.by is None else f"granted by {one.by}"
        _say(f"{one.agent:<20} {one.role:<12} since seq {one.seq} ({by})")


def register(app: typer.Typer) -> None:
    app.add_typer(role_app, name="role")
