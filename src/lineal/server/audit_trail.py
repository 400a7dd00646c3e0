"""The server's audit trail: every request, once, after its status is known, into its
project's audit log (or the server's own, for requests under no project).

An ASGI middleware queues one event per request; one writer thread per worker process
appends the queue in blocks (one transaction and one signed head per block and log), at
least every second, when the log is read, and at shutdown. Never holds a request up on the
database, and never records a secret: a token's public id only.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from contextvars import ContextVar
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from lineal.errors import NotFound
from lineal.model import canonical
from lineal.model.audit import MAX_REFS, AuditEvent, outcome_of
from lineal.server.permissions import DEFAULT_PROJECT_ROUTES

if TYPE_CHECKING:
    from lineal.server.app import Projects

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("lineal.server.audit")
#: Seconds between the writer's flushes.
INTERVAL = 1.0
#: The most events a worker keeps while their log cannot be written (the oldest go first,
#: each loss logged as an error).
MAX_QUEUED = 200_000
#: Query and path parameters that name references (their values are recorded as refs).
REF_PARAMS = frozenset(
    {"ref", "a", "b", "run", "run_id", "root", "node", "digest", "target", "name", "subject"}
)
_PROJECT_ROUTES = "/api/v1/projects/{project}"
#: flush()'s default: the queued events of every log.
EVERY_LOG = object()


class Noted:
    """What a route noted for its request's row: references (a batch's records, a POST
    body's nodes), and whether something it was asked to write was refused in a 2xx answer."""

    __slots__ = ("aborted", "refs", "refused")

    def __init__(self) -> None:
        self.refs: list[str] = []
        self.refused = False
        #: the answer started but never ended (a failure mid-stream, a client gone)
        self.aborted = False


_NOTED: ContextVar[Noted | None] = ContextVar("lineal_audit_noted", default=None)


def note(refs: Iterable[str]) -> None:
    """Add ``refs`` to the current request's audit row (outside a request: nothing)."""
    noted = _NOTED.get()
    if noted is not None:
        noted.refs.extend(refs)


def note_refused() -> None:
    """The current request's row says ``refused`` though its answer is 2xx (a batch of a
    request of many that the store refused)."""
    noted = _NOTED.get()
    if noted is not None:
        noted.refused = True


#: Body fields of the POST reads that hold lists of references.
REF_LISTS = frozenset({"nodes", "roots", "sources", "subjects"})


def note_body(body: dict[str, Any]) -> None:
    """Note the references a POST read's body names."""
    for key, value in body.items():
        if key in REF_PARAMS and isinstance(value, str):
            note([value])
        elif key in REF_LISTS and isinstance(value, list):
            note(str(one) for one in value[:MAX_REFS])
        elif key == "artifact" and isinstance(value, dict):
            note(str(value[k]) for k in ("node", "digest") if isinstance(value.get(k), str))


def _clean(text: str, most: int) -> str:
    """Text any backend stores: no NUL, no lone surrogate, at most ``most`` characters."""
    text = text[:most].replace("\x00", "\\x00")
    return text.encode("utf-8", "replace").decode("utf-8")


def _refs(scope: Scope, noted: Noted, endpoint: str) -> tuple[str, ...]:
    found: dict[str, None] = {}
    # The model routes name a model by NAME[@vN|:ALIAS]: recorded as model/NAME….
    model = "model/" if "/models/{" in endpoint else ""
    for key, value in (scope.get("path_params") or {}).items():
        if key in REF_PARAMS and isinstance(value, str):
            found[value if "/" in value else model + value] = None
        elif key == "hexdigest" and isinstance(value, str):  # an object's bytes
            found[f"sha256:{value}"] = None
    query = scope.get("query_string") or b""
    if query:
        asked = parse_qsl(query.decode("latin-1"), keep_blank_values=False)
        kind = next((value for key, value in asked if key == "kind"), None)
        for key, value in asked:
            if key == "name" and kind is not None and "/" not in value:
                found[f"{kind}/{value}"] = None  # a store read's KIND and NAME
            elif key in REF_PARAMS:
                found[value] = None
    found.update(dict.fromkeys(ref for ref in noted.refs if isinstance(ref, str)))
    return tuple(_clean(ref, 512) for ref in list(found)[:MAX_REFS] if ref)


def endpoint_of(scope: Scope) -> str | None:
    """The route template a request matched, with the prefix its router was mounted under
    (a router's routes know their own part only); None: no route matched."""
    template = getattr(scope.get("route"), "path", None)
    if not isinstance(template, str):
        return None
    if template.startswith("/api/"):  # mounted whole (MLflow's routes: a {…:path} spans
        return template  # segments, so counting them would misplace the prefix)
    segments = str(scope.get("path", "")).split("/")
    extra = len(segments) - len(template.split("/"))
    return "/".join(segments[: extra + 1]) + template if extra > 0 else template


def _outcome(status: int | None, noted: Noted) -> str:
    if noted.aborted:
        return "aborted"
    if noted.refused and status is not None and status < 400:
        return "refused"
    return outcome_of(status)


def event_of(scope: Scope, started: float, status: int | None, noted: Noted) -> AuditEvent:
    """The audit event of one answered (or failed) request."""
    principal = (scope.get("state") or {}).get("principal")
    endpoint = endpoint_of(scope) or "(no route)"
    token = getattr(principal, "token_id", None)
    agent = getattr(principal, "agent", None)
    return AuditEvent(
        time=canonical.format_time(datetime.fromtimestamp(started, UTC)),
        agent=None if agent is None else _clean(str(agent), 255),
        token_id=None if token is None else _clean(str(token), 255),
        method=_clean(str(scope.get("method", "")), 16),
        endpoint=_clean(endpoint, 512),
        path=_clean(str(scope.get("path", "")), 2048),
        refs=_refs(scope, noted, endpoint),
        outcome=_outcome(status, noted),
        status=status,
    )


def target_of(scope: Scope) -> str | None:
    """The project whose log a request goes to (None: the server's own)."""
    project = (scope.get("path_params") or {}).get("project")
    endpoint = endpoint_of(scope) or ""
    if isinstance(project, str) and endpoint.startswith(_PROJECT_ROUTES):
        return project
    if endpoint.startswith(DEFAULT_PROJECT_ROUTES):  # served on the server's default project
        app = scope.get("app")
        return str(app.state.projects.default) if app is not None else None
    return None


class AuditTrail:
    """ASGI middleware: one audit event per HTTP request, queued after its answer."""

    def __init__(self, app: App, writer: AuditWriter) -> None:
        self.app = app
        self.writer = writer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.time()
        status: int | None = None
        noted = Noted()
        queued = False

        def queue() -> None:
            nonlocal queued
            if not queued:
                queued = True
                self.writer.add(target_of(scope), event_of(scope, started, status, noted))

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                queue()  # before the client sees the answer end: a read after it finds it
            await send(message)

        token = _NOTED.set(noted)
        try:
            await self.app(scope, receive, sending)
        except BaseException:
            if status is None:
                status = 500  # the outer error middleware answers 500
            else:
                noted.aborted = not queued
            raise
        finally:
            _NOTED.reset(token)
            queue()


class AuditWriter:
    """The queue of one worker process and the thread that appends it, log by log."""

    def __init__(self, projects: Projects, interval: float = INTERVAL) -> None:
        self.projects = projects
        self.interval = interval
        self._queue: list[tuple[str | None, AuditEvent]] = []
        self._lock = threading.Lock()  # the queue
        self._flushing = threading.Lock()  # one flush at a time keeps each log in order
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._closed = False

    def add(self, target: str | None, event: AuditEvent) -> None:
        with self._lock:
            self._queue.append((target, event))
            if self._thread is None or self._pid != os.getpid():
                self._start()

    def _start(self) -> None:
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="lineal-audit", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def flush(self, only: str | object | None = EVERY_LOG) -> None:
        """Append what is queued (``only``: the events of that log, a project or None)."""
        with self._flushing:
            with self._lock:
                if only is EVERY_LOG:
                    taken, self._queue = self._queue, []
                else:
                    taken = [one for one in self._queue if one[0] == only]
                    self._queue = [one for one in self._queue if one[0] != only]
            if not taken:
                return
            logs: dict[str | None, list[AuditEvent]] = {}
            for target, event in taken:
                logs.setdefault(target, []).append(event)
            failed: list[tuple[str | None, AuditEvent]] = []
            for target, events in logs.items():
                try:
                    self._append(target, events)
                except Exception as exc:  # kept, and tried again at the next flush
                    log.warning("audit rows of %s not written yet: %s", target or "server", exc)
                    failed += [(target, event) for event in events]
            if failed:
                with self._lock:
                    self._queue[:0] = failed
                    over = len(self._queue) - MAX_QUEUED
                    if over > 0:
                        del self._queue[:over]
                        log.error("%d audit rows dropped: their log stayed unwritable", over)

    def _append(self, target: str | None, events: list[AuditEvent]) -> None:
        if target is not None:
            try:
                store = self.projects.store(target)
            except NotFound:  # no such project: the server's own log says who asked
                events = [
                    replace(e, refs=(f"project/{target}", *e.refs)[:MAX_REFS]) for e in events
                ]
            else:
                store.append_audit(events)
                return
        self.projects.server_log().append_audit(events)

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            thread.join(timeout=10)
        self.flush()
