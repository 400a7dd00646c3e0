"""`lineal login URL`, `lineal logout URL`, `lineal token create|list|revoke`: API tokens of a
server's projects.

Thin: calls lineal.access and prints what it returns. A token's text is printed once, by the
command that made it, and saved only by `lineal login` (in the private credentials file).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from lineal.cli.common import fail, handle_errors, out
from lineal.cli.plain import print_json

if TYPE_CHECKING:
    from collections.abc import Iterator

    from lineal.store.base import Store

token_app = typer.Typer(
    help="API tokens of a server's project: create (shown once), list, revoke.",
    no_args_is_help=True,
)
Json = Annotated[bool, typer.Option("--json", help="Print as JSON.")]
Uri = Annotated[
    str | None,
    typer.Option(
        "--uri",
        help="The server's store URI (as `lineal server --uri` takes it): work on the "
        "project's database directly, on the server machine (how the first token is made). "
        "Default: the workspace's store, a server project reached with your login.",
    ),
]
Project = Annotated[str | None, typer.Option("--project", help="The project (with --uri).")]
Url = Annotated[
    str,
    typer.Argument(
        metavar="URL",
        help="The server project: http(s)://HOST:PORT/projects/NAME (or its API URL "
        ".../api/v1/projects/NAME).",
    ),
]


def _say(text: str) -> None:
    out.print(text, markup=False, emoji=False, highlight=False)


@contextmanager
def _project(uri: str | None, project: str | None) -> Iterator[tuple[Store, str | None]]:
    """The project's store and the workspace's agent (None with --uri)."""
    if uri is not None:
        if project is None:
            raise fail("--uri needs --project", hint="e.g. --uri sqlite:///srv/p --project vision")
        from lineal.store.registry import open_project

        store = open_project(uri, project)
        try:
            yield store, None
        finally:
            store.close()
        return
    if project is not None:
        raise fail("--project goes with --uri", hint="without --uri, the workspace's store is used")
    from lineal.client import Lineal

    client = Lineal.open(write=False)
    try:
        yield client.store, client.workspace.agent if client.workspace else None
    finally:
        client.store.close()


@token_app.command("create")
@handle_errors
def create(
    agent: Annotated[
        str | None,
        typer.Option("--agent", help="The agent the token acts as. Default: yours."),
    ] = None,
    role: Annotated[
        str, typer.Option("--role", help="viewer, contributor, approver or admin.")
    ] = "contributor",
    expires: Annotated[
        str,
        typer.Option(
            "--expires", help="Lifetime: 30d, 12h, 90m, 2w (at most 366d; every token expires)."
        ),
    ] = "90d",
    uri: Uri = None,
    project: Project = None,
    as_json: Json = False,
) -> None:
    """Make a token; its text is shown this once (keep it: only a hash is stored)."""
    from lineal.access import create_token

    with _project(uri, project) as (store, mine):
        who = agent or mine
        if who is None:
            raise fail("which agent? pass --agent NAME", hint="a token acts as one agent")
        made = create_token(store, who, role, expires, by=mine)
    if as_json:
        print_json(made.as_dict())
        return
    info = made.info
    _say(made.token)
    _say(
        f"token {info.id}: {info.agent} as {info.role}, expires {info.expires or 'never'} "
        "(shown once: `lineal login URL` saves it)"
    )


@token_app.command("list")
@handle_errors
def list_(uri: Uri = None, project: Project = None, as_json: Json = False) -> None:
    """The project's tokens (never their secrets): id, agent, role, expiry, state."""
    from lineal.access import list_tokens

    with _project(uri, project) as (store, _):
        found = list_tokens(store).as_dict()
    if as_json:
        print_json(found)
        return
    if not found:
        _say("No tokens: the project is open to anyone who reaches its server.")
    for one in found:
        _say(
            f"{one['id']}  {one['agent']:<16} {one['role']:<12} {one['state']:<8} "
            f"expires {one['expires'] or 'never'}"
        )


@token_app.command("revoke")
@handle_errors
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (`lineal token list`).")],
    uri: Uri = None,
    project: Project = None,
    as_json: Json = False,
) -> None:
    """Revoke a token now: every server process refuses it from its next request."""
    from lineal.access import revoke_token

    with _project(uri, project) as (store, _):
        info = revoke_token(store, token_id)
    if as_json:
        print_json(info.as_dict())
        return
    _say(f"token {info.id} of {info.agent} revoked at {info.revoked}")


@handle_errors
def login(
    url: Url,
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="Read the token from standard input.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Check a token with the server project at URL and save it (mode 0600, never in a
    workspace) for every command that reaches that project. LINEAL_TOKEN overrides it."""
    from lineal.access import login as check_and_save

    if token_stdin:
        secret = sys.stdin.readline().strip()
    else:
        secret = typer.prompt("Token", hide_input=True).strip()
    if not secret:
        raise fail("no token given", hint="paste the text `lineal token create` printed")
    done = check_and_save(url, secret)
    if as_json:
        print_json(done.as_dict())
        return
    info = done.info
    _say(
        f"Logged in to {done.url} as {info.agent} ({info.role}; token {info.id}, expires "
        f"{info.expires or 'never'}); saved in {done.saved}"
    )


@handle_errors
def logout(url: Url) -> None:
    """Forget the token saved for the server project at URL."""
    from lineal.access import logout as forget

    _say(f"Logged out of {url}" if forget(url) else f"No token was saved for {url}")


def register(app: typer.Typer) -> None:
    app.add_typer(token_app, name="token")
    app.command("login")(login)
    app.command("logout")(logout)
