"""`lineal ui`: the web UI over this workspace's store, with no server to set up.

Thin: opens the store every `lineal` command here uses, builds the app of lineal.server.ui
(the REST API over that store as one project, and the UI) and hands it to uvicorn.
"""

from __future__ import annotations

import re
from typing import Annotated

import typer

from lineal.cli.common import err, fail, handle_errors, out

#: What a project name may hold (lineal.store.projects.PROJECT).
_NOT_NAME = re.compile(r"[^a-z0-9_-]+")


def project_name(folder: str | None) -> str:
    """The project the UI shows: the workspace folder's name as a project name, else
    ``default``."""
    name = _NOT_NAME.sub("-", (folder or "").lower()).strip("-_")[:48]
    return name or "default"


@handle_errors
def ui(
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8471,
    host: Annotated[
        str,
        typer.Option(help="Address to listen on (loopback: nothing else can reach it)."),
    ] = "127.0.0.1",
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the UI in the web browser once it listens.")
    ] = False,
) -> None:
    """Serve the web UI over this workspace's store (or LINEAL_URI) at http://HOST:PORT/.

    One project, named after the workspace folder; no tokens on loopback. For a team, run
    `lineal server`, which serves the same UI."""
    from lineal.access import is_loopback
    from lineal.client import Lineal
    from lineal.errors import MissingExtra
    from lineal.server.ui import STATIC, local_app

    try:
        import uvicorn
    except ImportError as exc:
        raise MissingExtra("uvicorn", "server") from exc
    repo = Lineal.open()  # its key signs checkpoints; the UI only reads
    if not is_loopback(host) and not repo.store.has_tokens():
        repo.close()
        raise fail(
            f"refusing to serve this store on {host}: it has no token, so anyone reaching "
            "it could read it",
            hint="serve it on 127.0.0.1, or make a token (`lineal token create`) and run "
            "`lineal server` for a team",
        )
    root = repo.workspace.root if repo.workspace is not None else None
    name = project_name(root.parent.name if root is not None else None)
    app = local_app(repo.store, name, trusted=is_loopback(host), cache=root)
    url = f"http://{host}:{port}/"
    out.print(f"lineal ui on {url} (project {name})", markup=False, highlight=False)
    if not (STATIC / "index.html").is_file():
        err.print(
            f"warning: the UI is not built ({STATIC}): run `npm ci && npm run build` in ui/",
            markup=False,
            highlight=False,
        )
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        repo.close()


def register(app: typer.Typer) -> None:
    app.command("ui")(ui)
