"""`lineal agent add|list|key`: the agents who sign writes in this workspace.

Thin: calls lineal.agents and prints what it returns; never touches keys or the store itself.
"""

from __future__ import annotations

from typing import Annotated

import typer

from lineal.cli.common import handle_errors, open_client, out
from lineal.cli.plain import print_json

agent_app = typer.Typer(
    help="Agents who sign writes here: add one (a key, its registration, a role), list, key.",
    no_args_is_help=True,
)
Json = Annotated[bool, typer.Option("--json", help="Print as JSON.")]


def _say(text: str) -> None:
    out.print(text, markup=False, emoji=False, highlight=False)


@agent_app.command("add")
@handle_errors
def add(
    name: Annotated[str, typer.Argument(help="The new agent's name (letters, digits, . _ @ + -).")],
    role: Annotated[
        str | None,
        typer.Option("--role", help="Also grant NAME this role in the ledger (you must be admin)."),
    ] = None,
    as_json: Json = False,
) -> None:
    """Make a signing key for NAME in .lineal/keys/ and register NAME, signed by you."""
    from lineal.agents import add_agent

    with open_client() as client:
        done = add_agent(client, name, role=role)
    if as_json:
        print_json(done.as_dict())
        return
    body = done.as_dict()
    _say(
        f"Agent {done.name} (key {body['key_id']}) registered by {done.by} at seq {done.seq}; "
        f"private key in {done.key_path}"
    )
    if done.role is not None:
        _say(f"{done.name} holds role {done.role} (granted by {done.by} at seq {done.seq + 1})")
    _say(f"Write as {done.name}: LINEAL_AGENT={done.name} lineal …")


@agent_app.command("list")
@handle_errors
def list_(as_json: Json = False) -> None:
    """List the agents: key ids, whether this workspace has the private key, roles."""
    from lineal.agents import list_agents

    with open_client() as client:
        agents = list_agents(client)
    if as_json:
        print_json([agent.as_dict() for agent in agents])
        return
    for agent in agents:
        body = agent.as_dict()
        keys = ", ".join(key["key_id"] for key in body["keys"]) or "not registered"
        local = "private key here" if agent.local_key is not None else "no private key here"
        roles = f"  roles: {', '.join(agent.roles)}" if agent.roles else ""
        mark = "*" if agent.current else " "
        _say(f"{mark} {agent.name:<20} key {keys}  ({local}){roles}")


@agent_app.command("key")
@handle_errors
def key(
    name: Annotated[
        str | None, typer.Argument(help="The agent (default: the one you write as).")
    ] = None,
    as_json: Json = False,
) -> None:
    """Print an agent's public key (hex, raw ed25519): each registered key, oldest first."""
    from lineal.agents import agent_info

    with open_client() as client:
        agent = agent_info(client, name)
    if as_json:
        print_json(agent.as_dict())
        return
    shown = [k.public_key for k in agent.keys] or [agent.local_key or ""]
    for public_key in shown:
        _say(public_key)


def register(app: typer.Typer) -> None:
    app.add_typer(agent_app, name="agent")
