"""The web UI's static files on the app, and the app of `lineal ui` over one store.

The UI (``ui/`` in the repository, built by ``npm run build`` into ``ui_static/`` beside this
module) is a single-page app: ``/assets/…`` are its files, and any other GET that is not the
API (``/api/``), the API's docs (``/docs``) or a file answers ``index.html``, whose router
shows the page the URL names (deep links). Without a built bundle, ``/`` answers a page that
says how to build it. The UI reads only the REST API.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal.errors import NotFound
from lineal.server.app import API, Projects

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI
    from starlette.types import ASGIApp, Receive, Scope, Send

    from lineal.store.base import Store

#: Where `npm run build` (in ui/) writes the bundle; the wheel ships it (pyproject.toml).
STATIC = Path(__file__).parent / "ui_static"
#: Paths the UI never answers: the API and its documentation.
NOT_UI = (f"{API}/", "/api/", "/docs", "/openapi.json")

MISSING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lineal: the web UI is not built</title></head>
<body><main>
<h1>The web UI is not built</h1>
<p>This lineal has no built UI in <code>{folder}</code>. Build it from a checkout of lineal:</p>
<pre>cd ui &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>(or <code>make test</code>, which builds it when it is stale). The REST API works without
it: see <a href="/docs">/docs</a>.</p>
</main></body></html>
"""


class StaticUI:
    """ASGI app for what no route answers: the built files, else ``index.html`` (the SPA
    fallback), else MISSING; the API's paths and other methods go on to ``fallback`` (the
    router's own not-found answer)."""

    def __init__(self, fallback: ASGIApp, folder: Path = STATIC) -> None:
        self.fallback = fallback
        self.folder = folder.resolve()
        # /assets/ files by name (named by their content, so never stale): answered from memory
        # in one piece, not read from disk in chunks through the thread pool, which the API's
        # reads keep busy when a page's first reads and its code are asked for at once.
        self._assets: dict[str, tuple[bytes, str]] = {}

    def _file(self, path: str) -> Path | None:
        if not path.strip("/"):
            return None
        found = (self.folder / path.lstrip("/")).resolve()
        if not found.is_relative_to(self.folder) or not found.is_file():
            return None
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.responses import FileResponse, HTMLResponse, Response

        path = str(scope.get("path", "/"))
        method = scope.get("method", "GET")
        if scope["type"] != "http" or path.startswith(NOT_UI) or method not in ("GET", "HEAD"):
            await self.fallback(scope, receive, send)
            return
        kept = self._assets.get(path)
        if kept is not None:
            headers = {"cache-control": "public, max-age=31536000, immutable"}
            await Response(kept[0], media_type=kept[1], headers=headers)(scope, receive, send)
            return
        found = self._file(path)
        if found is not None and path.startswith("/assets/"):
            import mimetypes

            kind = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
            self._assets[path] = (found.read_bytes(), kind)
            await self(scope, receive, send)
            return
        if found is not None:  # not an asset (those are kept above): asked again each time
            await FileResponse(found, headers={"cache-control": "no-cache"})(scope, receive, send)
            return
        index = self.folder / "index.html"
        response: Response
        if index.is_file():
            response = FileResponse(index, headers={"cache-control": "no-cache"})
        else:
            response = HTMLResponse(MISSING.format(folder=self.folder), status_code=503)
        await response(scope, receive, send)


def mount(app: FastAPI, folder: Path = STATIC) -> None:
    """Serve the UI at ``/`` for every path no route answers (routes added later included)."""
    app.router.default = StaticUI(app.router.default, folder)


class OneStore(Projects):
    """The projects of `lineal ui`: one, ``name``, over a store opened by the caller (a
    workspace's). With ``trusted`` (a loopback address: whoever reaches it can read the
    store's file anyway), no token is asked for; else a store with tokens asks for one. The
    server's own key and log live in a temporary folder of this process."""

    def __init__(
        self, store: Store, name: str, *, trusted: bool, cache: Path | None = None
    ) -> None:
        self._state = tempfile.TemporaryDirectory(prefix="lineal-ui-")
        super().__init__(f"sqlite:///{self._state.name}", default=name)
        self._one = store
        self._name = name
        self._trusted = trusted
        self._cache = cache

    def manifests(self, name: str) -> Callable[[Any, Any], Any] | None:
        """A file-level diff reads the workspace's object cache (``cache``: its ``.lineal``
        folder), where `lineal add` put the manifests; no workspace: the server's objects."""
        if self._cache is None:
            return None
        from lineal.served_objects import cached_manifests

        return cached_manifests(self._cache)

    def is_open(self, name: str) -> bool:
        return self._trusted or super().is_open(name)

    def store(self, name: str) -> Store:
        if name != self._name:
            raise NotFound(
                f"no project {name!r} here: `lineal ui` serves one, {self._name!r}",
                hint=f"use {API}/projects/{self._name}/…",
            )
        return self._one

    def names(self) -> list[str]:
        return [self._name]

    def close(self) -> None:
        super().close()  # the server's log; the store is the caller's to close
        self._state.cleanup()


def local_app(
    store: Store, name: str, *, trusted: bool = True, cache: Path | None = None
) -> FastAPI:
    """The app of `lineal ui`: the REST API over ``store`` as project ``name``, and the UI
    (``trusted``: see OneStore). Its requests are not audited (the CLI's reads are not
    either), so the UI needs no key."""
    from lineal.server.app import create_app

    projects = OneStore(store, name, trusted=trusted, cache=cache)
    return create_app(projects.base, projects=projects, audit=False)
