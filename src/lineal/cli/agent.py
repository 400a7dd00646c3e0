"""`lineal agent add|list|key|show|rotate|revoke`: the agents who sign writes in this workspace.

Thin: calls lineal.agents and prints what it returns; never touches keys or the store itself.
"""

from __future__ import annotations

from typing import Annotated

import typer

from lineal.cli.common import handle_errors, open_client, out
from lineal.cli.plain import print_json

agent_app = typer.Typer(
    help="Agents who sign writes here: add one (a key, its registration, a role), list, key, "
    "show, rotate a key, revoke a key.",
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
        held = [key["key_id"] for key in body["keys"] if key["current"]]
        keys = "key " + ", ".join(held) if held else "no current key"
        keys = keys if body["keys"] else "not registered"
        local = "private key here" if agent.local_key is not None else "no private key here"
        roles = f"  roles: {', '.join(agent.roles)}" if agent.roles else ""
        mark = "*" if agent.current else " "
        _say(f"{mark} {agent.name:<20} {keys}  ({local}){roles}")


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


def _span(body: dict[str, object]) -> str:
    start = f"seq {body['seq']}"
    if body["ended"] is None:
        return f"{start}- (current)"
    why = f": {body['reason']}" if body["reason"] else ""
    return f"{start}-{body['until_seq']} ({body['ended']}{why})"


@agent_app.command("show")
@handle_errors
def show(
    name: Annotated[
        str | None, typer.Argument(help="The agent (default: the one you write as).")
    ] = None,
    as_json: Json = False,
) -> None:
    """Show an agent's keys, oldest first, with the seqs each may sign (from the record that
    gave it to the one that rotated it away or revoked it)."""
    from lineal.agents import agent_info

    with open_client() as client:
        agent = agent_info(client, name)
    if as_json:
        print_json(agent.as_dict())
        return
    body = agent.as_dict()
    roles = f"; roles: {', '.join(agent.roles)}" if agent.roles else ""
    _say(f"agent {agent.name}{roles}")
    for key in body["keys"]:
        local = "  (private key here)" if key["key_id"] == body["local_key"] else ""
        _say(f"  key {key['key_id']}  {_span(key)}{local}")
    if not body["keys"]:
        _say("  not registered")


@agent_app.command("rotate")
@handle_errors
def rotate(as_json: Json = False) -> None:
    """Replace the key you sign with by a new one, certified by the old key in the ledger.

    The new private key takes the old one's place in .lineal/keys/; the old one is kept in
    .lineal/keys/retired/. Records after the rotation signed with the old key are refused.
    """
    from lineal.agents import rotate_key

    with open_client() as client:
        done = rotate_key(client)
    if as_json:
        print_json(done.as_dict())
        return
    body = done.as_dict()
    _say(
        f"Agent {done.name}: key {body['previous_key_id']} rotated to {body['key_id']} at "
        f"seq {done.seq}; new private key in {done.key_path}, old one kept in "
        f"{done.retired_path}"
    )


@agent_app.command("revoke")
@handle_errors
def revoke(
    target: Annotated[
        str,
        typer.Argument(help="An agent (its one current key) or a key id.", metavar="NAME|KEY_ID"),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the ledger).")],
    as_json: Json = False,
) -> None:
    """Revoke a key: nothing signed with it after now is accepted; what it signed before
    still verifies. An agent revokes its own keys; an admin revokes anyone's (a lost key)."""
    from lineal.agents import revoke_key

    with open_client() as client:
        done = revoke_key(client, target, reason)
    if as_json:
        print_json(done.as_dict())
        return
    body = done.as_dict()
    _say(
        f"Key {body['key_id']} of agent {done.name} revoked by {done.by} at seq {done.seq}: "
        "it signs nothing after that"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(agent_app, name="agent")
