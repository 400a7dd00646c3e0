"""The Typer app: `lineal init`, and the command groups it mounts.

Never does work itself: every command calls lineal.client or lineal.workspace. A command
given by name loads only the module that defines it (:func:`for_argv`): building the whole
app imports every command module and inspects every command's signature, which costs more
than many a command's own work.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from lineal import __version__, workspace
from lineal.cli.common import handle_errors, out

#: The modules of lineal.cli that register commands, in help order.
GROUPS = (
    "ledger",
    "agent",
    "role",
    "token",
    "show",
    "classify",
    "alerts",
    "catalog",
    "alias",
    "data",
    "remote",
    "runs",
    "lineage",
    "query",
    "schema",
    "model",
    "policy",
    "check",
    "quality",
    "scene",
    "replay",
    "redact",
    "audit",
    "interop",
    "report",
    "demo",
    "server",
    "ui",
)
#: The module that registers each top-level command (tests check it against the full app).
COMMANDS = {
    **dict.fromkeys(("verify", "log", "checkpoint", "sync"), "ledger"),
    "agent": "agent",
    "role": "role",
    **dict.fromkeys(("token", "login", "logout"), "token"),
    **dict.fromkeys(("show", "tag"), "show"),
    "classified": "classify",
    "alerts": "alerts",
    "ls": "catalog",
    "alias": "alias",
    **dict.fromkeys(("add", "status", "diff", "checkout", "gc"), "data"),
    **dict.fromkeys(("remote", "push", "pull"), "remote"),
    **dict.fromkeys(("runs", "metrics", "run"), "runs"),
    **dict.fromkeys(("upstream", "downstream", "path"), "lineage"),
    "query": "query",
    "schema": "schema",
    "model": "model",
    "policy": "policy",
    "check": "check",
    **dict.fromkeys(("drift", "health", "stale"), "quality"),
    "scene": "scene",
    "replay": "replay",
    **dict.fromkeys(("redact", "retention"), "redact"),
    "audit": "audit",
    **dict.fromkeys(("import", "export"), "interop"),
    "report": "report",
    "demo": "demo",
    "server": "server",
    "ui": "ui",
}


def _version(value: bool) -> None:
    if value:
        out.print(f"lineal {__version__}")
        raise typer.Exit


def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Record where every dataset, label schema, scene, run, metric and model came from."""


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
    if uri is not None and created.uri != uri:  # the password was taken out of the URI
        out.print(
            f"Its password is in {workspace.credentials_file()} (mode 0600), "
            "not in .lineal/config.toml",
            markup=False,
        )
    if signer is not None and created.uri.startswith(("http://", "https://")):
        out.print(
            f"Agent {signer.name} (key {signer.key_id}) registered through the lineal server "
            f"(or spooled until it answers: `lineal sync --status`); private key in "
            f"{created.keys}",
            markup=False,
        )
    elif signer is not None:
        out.print(
            f"Agent {signer.name} (key {signer.key_id}) registered; private key in {created.keys}",
            markup=False,
        )


def build(groups: Sequence[str] = GROUPS) -> typer.Typer:
    """The app with `lineal init` and the commands of ``groups`` (modules of lineal.cli)."""
    app = typer.Typer(
        name="lineal",
        help="Record where every dataset, label schema, scene, run, metric and model came from.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    app.callback()(_root)
    app.command()(init)
    for group in groups:
        importlib.import_module(f"lineal.cli.{group}").register(app)
    return app


def for_argv(argv: Sequence[str]) -> typer.Typer:
    """The app that can run ``argv``: one group for a known command, else all of them (help,
    --version, a misspelt command: Typer answers those from the whole app)."""
    if argv and argv[0] == "init":
        return build(())
    if argv and argv[0] in COMMANDS:
        return build((COMMANDS[argv[0]],))
    return build()


def __getattr__(name: str) -> typer.Typer:
    """``app``: the whole app, built on first use."""
    if name == "app":
        app = build()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
