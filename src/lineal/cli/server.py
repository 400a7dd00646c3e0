"""`lineal server`: serve projects' ledgers over HTTP; `lineal server project create|list`.

Thin: builds the app (lineal.server.app) and hands it to uvicorn; project layout and creation
are lineal.store.registry's. Imports FastAPI and uvicorn only when serving.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from lineal.cli.alerts import Send, Timeout
from lineal.cli.common import err, fail, handle_errors, out

server_app = typer.Typer(
    help="Serve lineal projects over HTTP (REST under /api/v1/, OpenAPI at /docs).",
    invoke_without_command=True,
)
project_app = typer.Typer(help="The server's projects (one ledger each): create, list.")
server_app.add_typer(project_app, name="project")

#: The server's store URI when --uri is not given (LINEAL_SERVER_URI, else this folder).
URI_HELP = (
    "Where projects live: sqlite:///FOLDER (FOLDER/NAME.db each) or postgresql://HOST/DB "
    "(database DB_NAME each). Default: $LINEAL_SERVER_URI, else sqlite:///./lineal-projects."
)
Uri = Annotated[str | None, typer.Option("--uri", help=URI_HELP)]
OBJECTS_HELP = (
    "Where the projects' objects are kept (PROJECT/sha256/… under it): a folder, file://, "
    "s3://, gs://, az://. Default: $LINEAL_SERVER_OBJECTS, else FOLDER/objects beside SQLite "
    "projects, else ~/.lineal-server/objects."
)


def _base(uri: str | None) -> str:
    return (
        uri
        or os.environ.get("LINEAL_SERVER_URI")
        or f"sqlite:///{Path('lineal-projects').resolve()}"
    )


def _say(text: str) -> None:
    out.print(text, markup=False, emoji=False, highlight=False)


def warn(text: str) -> None:
    err.print(text, markup=False, emoji=False, highlight=False)


@server_app.callback()
@handle_errors
def serve(
    ctx: typer.Context,
    uri: Uri = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8470,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1, max=256)] = 1,
    objects: Annotated[str | None, typer.Option("--objects", help=OBJECTS_HELP)] = None,
    project: Annotated[
        str,
        typer.Option(
            "--project",
            help="The project of the routes that name none: OpenLineage's POST "
            "/api/v1/lineage and MLflow's /api/2.0/mlflow/… (MLFLOW_TRACKING_URI=http://HOST:PORT).",
        ),
    ] = "default",
    openlineage_spec: Annotated[
        Path | None,
        typer.Option(
            "--openlineage-spec",
            help="The OpenLineage spec/ folder (OpenLineage.json, facets/): check every event "
            "POSTed to /api/v1/lineage against its schemas (default: "
            "$LINEAL_OPENLINEAGE_SPEC; without one, the spec's basic rules only).",
        ),
    ] = None,
    alerts: Annotated[
        Path | None,
        typer.Option(
            "--alerts",
            help="A TOML file whose [alerts] table (as in lineal.toml: command, webhook, kinds, "
            "tries, backoff, timeout) receives what written batches show: recorded drift, "
            "promotions that overrode failed checks, promotions the store refused.",
        ),
    ] = None,
    open_: Annotated[
        bool,
        typer.Option(
            "--open",
            help="Listen on a non-loopback --host even while some project has no token "
            "(anyone who reaches the server may then read and write it).",
        ),
    ] = False,
) -> None:
    """Serve lineal projects over HTTP (REST under /api/v1/, OpenAPI at /docs).

    A project with no token is open to anyone; once it has one (`lineal token create`),
    every request to it needs a token of that project."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = uri
        return
    from lineal.errors import MissingExtra
    from lineal.model.masking import mask_url
    from lineal.server.app import (
        ALERTS_VARIABLE,
        OBJECTS_VARIABLE,
        OPEN_VARIABLE,
        PROJECT_VARIABLE,
        URI_VARIABLE,
        create_app,
    )
    from lineal.store import registry

    base = _base(uri)
    registry.project_uri(base, "check")  # an unsupported URI fails here, in one line
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingExtra("uvicorn", "server") from exc
    objects = objects or registry.server_objects(base)
    if "://" not in objects:  # a folder: the same one whatever directory a worker starts in
        objects = str(Path(objects).resolve())
    if alerts is not None:
        alerts = alerts.resolve()  # the same file whatever directory a worker starts in
    # Fails now, in one line, on a bad URI, a missing extra or a bad [alerts] table.
    create_app(base, objects, alerts=alerts)
    from lineal.access import is_loopback, open_projects

    unguarded = open_projects(base)
    if unguarded and not is_loopback(host) and not open_:
        raise fail(
            f"refusing to listen on {host} while project(s) {', '.join(unguarded)} have no "
            "token: anyone reaching the server could read and write them",
            hint="make a first admin token for each: lineal token create --uri "
            f"{mask_url(base)} --project NAME --agent YOU --role admin; or pass --open",
        )
    os.environ[URI_VARIABLE] = base
    os.environ[OBJECTS_VARIABLE] = objects
    os.environ[PROJECT_VARIABLE] = project
    if alerts is not None:
        os.environ[ALERTS_VARIABLE] = str(alerts)
    if openlineage_spec is not None:
        from lineal.interop.openlineage_validate import SPEC_VARIABLE, validator

        validator(openlineage_spec)  # a folder without the spec fails now, in one line
        os.environ[SPEC_VARIABLE] = str(openlineage_spec.resolve())
    # Beyond loopback without --open, a project made later is not served open either.
    os.environ[OPEN_VARIABLE] = "1" if open_ or is_loopback(host) else "0"
    _say(f"lineal server on http://{host}:{port}/api/v1/ serving {mask_url(base)}")
    _say(f"  objects: {mask_url(objects)}")
    _say(f"  projects: LINEAL_URI=http://{host}:{port}/projects/NAME")
    if alerts is not None:
        _say(f"  alerts: [alerts] of {alerts}, outboxes in {registry.server_folder(base)}/alerts")
    for name in unguarded:
        warn(
            f"warning: project {name} has no token: open to anyone who reaches the server "
            f"(lineal token create --uri {mask_url(base)} --project {name} --agent YOU "
            "--role admin)"
        )
    uvicorn.run(
        "lineal.server.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


@project_app.command("create")
@handle_errors
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The project name: a-z, 0-9, '_' and '-'.")],
    uri: Uri = None,
) -> None:
    """Create a project: an empty ledger of its own (a file, or a PostgreSQL database)."""
    from lineal.model.masking import mask_url
    from lineal.store import registry

    store_uri = mask_url(registry.create_project(_base(uri or ctx.obj), name))
    _say(f"Created project {name}: {store_uri}")
    _say(f"  write to it directly: lineal init --uri {store_uri}")
    _say(f"  read it through the server: LINEAL_URI=http://HOST:PORT/projects/{name}")


@project_app.command("list")
@handle_errors
def list_(ctx: typer.Context, uri: Uri = None) -> None:
    """List the server's projects."""
    from lineal.store import registry

    for name in registry.list_projects(_base(uri or ctx.obj)):
        _say(name)


@server_app.command("alerts")
@handle_errors
def alerts_(
    ctx: typer.Context,
    alerts: Annotated[
        Path,
        typer.Option("--alerts", help="The TOML file `lineal server --alerts` was given."),
    ],
    uri: Uri = None,
    send: Send = False,
    timeout: Timeout = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show the alerts a server's --alerts receivers have waiting, and those given up."""
    from lineal.cli.alerts import show
    from lineal.quality.alerts_config import read
    from lineal.quality.served_alerts import ServerAlerts, status
    from lineal.store import registry

    base = _base(uri or ctx.obj)
    to = ServerAlerts(read(alerts), registry.server_folder(base))
    found = status(to, send=send, timeout=timeout)
    show(found, send=send, as_json=as_json, none="")


def register(app: typer.Typer) -> None:
    app.add_typer(server_app, name="server")
