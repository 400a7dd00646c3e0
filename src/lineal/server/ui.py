"""The web UI's static files on the app, and the app of `lineal ui` over one store.

The UI (``ui/`` in the repository, built by ``npm run build`` into ``ui_static/`` beside this
module) is a single-page app: ``/assets/…`` are its files, and any other GET that is not the
API (``/api/``), the API's docs (``/docs``) or a file answers ``index.html``, whose router
shows the page the URL names (deep links). Without a built bundle, ``/`` answers a page that
says how to build it. The UI reads only the REST API.

A lineage view opened by address (``/p/PROJECT/lineage?ref=…``) is answered with its first reads
inside the page: the head goes out at once (the app's files start loading), then the REST API's
own answers to the very addresses index.html's script would ask, each got by a request to this
app carrying nothing of the page's request but its address — so only what anyone reaching the
server may read without a token is sent (a project with tokens answers 401 and nothing is
embedded; the script then asks with the tab's token). See :func:`first_reads`.
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote

from lineal.errors import LinealError, NotFound
from lineal.server.app import API, Projects

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


#: Where the built index.html takes the answers sent within it (ui/index.html).
ANSWERS_MARK = "<!--answers-->"
#: The early script of index.html, told that the answers come within the page.
EARLY_SCRIPT = '<script id="early-reads">'
EMBEDDED_SCRIPT = '<script id="early-reads" data-answers="embedded">'
#: The longest the page waits for its first reads before the rest of it is sent (the reads
#: not answered by then are asked by the page itself), and the biggest answer sent within it.
EMBED_WAIT_S = 1.0
EMBED_MAX_BYTES = 2_000_000
_LINEAGE_PAGE = re.compile(r"^/p/([^/]+)/lineage/?$")
_DEPTH = re.compile(r"^[0-9]{1,4}$")
#: The first picture's code in index.html (ui/vite.config.ts marks it): a lineage view's only.
_FIRST_PICTURE = re.compile(r"\s*<!--first-picture-->.*?<!--/first-picture-->", re.S)
#: What encodeURIComponent leaves as it is, beside what quote always leaves (letters, digits, _.-~).
_COMPONENT = "!*'()"


def _form(value: str) -> str:
    """``value`` as the browser's URLSearchParams writes it (application/x-www-form-urlencoded:
    every byte but ASCII letters, digits and ``*-._`` escaped, a space as ``+``)."""
    return quote_plus(value, safe="*").replace("~", "%7E")


def first_reads(raw_path: str, query: str) -> tuple[str, list[str]] | None:
    """The project and the addresses index.html's script asks first for the page at
    ``raw_path``?``query``, spelled as it spells them (ui/index.html: a lineage view's upstream
    and downstream, and each expanded node's); None where it is not a lineage view or the
    address is one this function would not spell as the browser does (the page then asks them
    itself)."""
    page = _LINEAGE_PAGE.match(raw_path)
    if page is None:
        return None
    try:
        project = unquote(page.group(1), errors="strict")
    except UnicodeDecodeError:
        return None
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(key, value)  # URLSearchParams.get: the first
    ref = params.get("ref", "")
    depth_text = params.get("depth", "2")
    if not ref or not _DEPTH.match(depth_text):
        return None
    depth = int(depth_text)
    direction = params.get("dir", "both")
    kinds = [k for k in params.get("kinds", "").split(",") if k]
    as_of = params.get("asof")
    base = f"{API}/projects/{quote(project, safe=_COMPONENT)}/"

    def ask(path: str, one: str, deep: int) -> str:
        pairs = [("ref", one), ("depth", str(deep)), *(("kind", k) for k in kinds)]
        if as_of:
            pairs.append(("as_of", as_of))
        return base + path + "?" + "&".join(f"{_form(k)}={_form(v)}" for k, v in pairs)

    urls = []
    if direction != "down":
        urls.append(ask("upstream", ref, depth))
    if direction != "up":
        urls.append(ask("downstream", ref, depth))
    for node in (n for n in params.get("expand", "").split(",") if n):
        urls += [ask("upstream", node, 1), ask("downstream", node, 1)]
    return project, urls


async def _read(app: ASGIApp, scope: Scope, url: str) -> bytes | None:
    """The app's answer to ``GET url`` asked with nothing of the page's request but its client
    and server (no header: no token, no cookie), when it is a JSON 200 of at most
    EMBED_MAX_BYTES; else None."""
    path, _, query = url.partition("?")
    inner: dict[str, Any] = {
        "type": "http",
        "asgi": scope.get("asgi", {"version": "3.0"}),
        "http_version": scope.get("http_version", "1.1"),
        "method": "GET",
        "scheme": scope.get("scheme", "http"),
        "path": unquote(path),
        "raw_path": path.encode("ascii"),
        "root_path": scope.get("root_path", ""),
        "query_string": query.encode("ascii"),
        "headers": [(b"accept", b"application/json")],
        "client": scope.get("client"),
        "server": scope.get("server"),
    }
    if "state" in scope:
        inner["state"] = dict(scope["state"])
    status = 0
    kind = b""
    body: list[bytes] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status, kind
        if message["type"] == "http.response.start":
            status = int(message["status"])
            kind = dict(message.get("headers", [])).get(b"content-type", b"")
        elif message["type"] == "http.response.body":
            body.append(bytes(message.get("body", b"")))

    await app(inner, receive, send)
    found = b"".join(body)
    if status != 200 or not kind.startswith(b"application/json") or len(found) > EMBED_MAX_BYTES:
        return None
    return found


def _answers_script(found: dict[str, bytes]) -> bytes:
    """The call handing the answers to index.html's script: ``{address: body}``, each body the
    API's JSON as it was sent, but for ``<`` (only ever inside a JSON string there) written as
    its escape, so no text in it ends the script."""
    parts = [json.dumps(url).encode() + b":" + body for url, body in found.items()]
    text = b"{" + b",".join(parts) + b"}"
    return b"<script>__linealAnswers(" + text.replace(b"<", b"\\u003c") + b")</script>"


async def _with_answers(app: ASGIApp, html: str, urls: list[str], scope: Scope, send: Send) -> None:
    """index.html with the answers to ``urls`` within it: the head at once, then each
    answer the app gave within EMBED_WAIT_S (see _read), then the rest."""
    head, _, tail = html.replace(EARLY_SCRIPT, EMBEDDED_SCRIPT, 1).partition(ANSWERS_MARK)
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        # Whether answers come within it depends on who asks and when: never kept.
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": head.encode(), "more_body": True})
    reads = {url: asyncio.ensure_future(_read(app, scope, url)) for url in urls}
    for read in reads.values():  # one failed after the wait is not left unretrieved
        read.add_done_callback(lambda done: done.cancelled() or done.exception())
    await asyncio.wait(reads.values(), timeout=EMBED_WAIT_S)
    found: dict[str, bytes] = {}
    for url, read in reads.items():
        if read.done() and not read.cancelled() and read.exception() is None:
            body = read.result()
            if body is not None:
                found[url] = body
        # One still running finishes on its own (its endpoint's thread cannot be stopped);
        # the page asks for it itself.
    script = _answers_script(found)
    await send({"type": "http.response.body", "body": script + tail.encode()})


class StaticUI:
    """ASGI app for what no route answers: the built files, else ``index.html`` (the SPA
    fallback), else MISSING; the API's paths and other methods go on to ``fallback`` (the
    router's own not-found answer)."""

    def __init__(
        self, fallback: ASGIApp, folder: Path = STATIC, app: ASGIApp | None = None
    ) -> None:
        self.fallback = fallback
        #: the whole app, asked the first reads of a lineage view opened by address
        self.app = app
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
        view = None if method != "GET" or self.app is None else self._first_reads(scope)
        if self.app is not None and view and index.is_file() and await self._open(view[0]):
            html = index.read_text(encoding="utf-8")
            if ANSWERS_MARK in html and EARLY_SCRIPT in html:
                await _with_answers(self.app, html, view[1], scope, send)
                return
        if index.is_file() and not _LINEAGE_PAGE.match(str(scope.get("path", ""))):
            # Another page than the lineage explorer: without the first picture's code.
            html = _FIRST_PICTURE.sub("", index.read_text(encoding="utf-8"))
            response = HTMLResponse(html, headers={"cache-control": "no-cache"})
        elif index.is_file():
            response = FileResponse(index, headers={"cache-control": "no-cache"})
        else:
            response = HTMLResponse(MISSING.format(folder=self.folder), status_code=503)
        await response(scope, receive, send)

    @staticmethod
    def _first_reads(scope: Scope) -> tuple[str, list[str]] | None:
        raw = bytes(scope.get("raw_path") or str(scope.get("path", "")).encode("utf-8"))
        try:
            raw_path = raw.decode("ascii")
            query = bytes(scope.get("query_string", b"")).decode("ascii")
        except UnicodeDecodeError:
            return None
        return first_reads(raw_path, query)

    async def _open(self, project: str) -> bool:
        """Whether ``project`` is read by anyone without a token here (`lineal ui` on loopback,
        a project with no token yet on a server that serves open ones): only then are its
        first reads asked for the page. (Each is asked without a token anyway, and refused
        where one is needed; this spares a closed project's audit log those refusals.)"""
        from starlette.concurrency import run_in_threadpool

        projects = getattr(getattr(self.app, "state", None), "projects", None)
        if not isinstance(projects, Projects) or not projects.allow_open:
            return False
        try:
            return bool(await run_in_threadpool(projects.is_open, project))
        except LinealError:  # no such project: the page's own read says so
            return False


def mount(app: FastAPI, folder: Path = STATIC) -> None:
    """Serve the UI at ``/`` for every path no route answers (routes added later included)."""
    app.router.default = StaticUI(app.router.default, folder, app)


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
