"""The server's app factory: FastAPI with the routes, and every error as one JSON body.

Every failure answers ``{"error", "hint", "code"}`` with the status lineal.store.wire_errors.STATUS
gives the code: bad input is a 4xx, never a 500. Opens stores only through
lineal.store.registry and reads them only through the Store protocol.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal.errors import InvalidInput, LinealError
from lineal.store import registry, wire_errors

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    from lineal.quality.served_alerts import ServerAlerts
    from lineal.server.audit_trail import AuditWriter
    from lineal.store.base import Store

#: Where `lineal server` tells the worker processes which store URI to serve.
URI_VARIABLE = "LINEAL_SERVER_URI"
#: And where their objects are kept (see lineal.store.projects.objects_url).
OBJECTS_VARIABLE = "LINEAL_SERVER_OBJECTS"
#: "0" when the server listens beyond loopback without --open: an open project is refused.
OPEN_VARIABLE = "LINEAL_SERVER_OPEN"
#: The project of the routes that name none: the Marquez-style `POST /api/v1/lineage` and the
#: MLflow REST surface at `/api/2.0/mlflow/…` (`lineal server --project NAME`).
PROJECT_VARIABLE = "LINEAL_SERVER_PROJECT"
#: The TOML file whose ``[alerts]`` table says where findings go (`lineal server --alerts`).
ALERTS_VARIABLE = "LINEAL_SERVER_ALERTS"
DEFAULT_PROJECT = "default"
API = "/api/v1"
log = logging.getLogger("lineal.server")


class Projects:
    """The projects under one base URI, each store opened once and shared by the threads."""

    def __init__(
        self, base: str, *, allow_open: bool = True, default: str = DEFAULT_PROJECT
    ) -> None:
        self.base = base
        self.allow_open = allow_open
        #: the project of a route that names none (see PROJECT_VARIABLE)
        self.default = default
        self._open: dict[str, Store] = {}
        self._closed: set[str] = set()  # projects seen with a token: closed for good
        self._lock = threading.Lock()
        self.signer = registry.server_signer(base)
        self._server_log: Store | None = None
        #: this worker's audit queue (lineal.server.audit_trail), set by create_app
        self.audit: AuditWriter | None = None
        #: where findings in written batches are sent (`lineal server --alerts FILE`)
        self.alerts: ServerAlerts | None = None

    def store(self, name: str) -> Store:
        with self._lock:
            store = self._open.get(name)
            if store is None:
                store = registry.open_project(self.base, name, self.signer)
                self._open[name] = store
            return store

    def is_open(self, name: str) -> bool:
        """Whether project ``name`` has no token yet (anyone may call it). Asked of the
        database each time until the answer is no: tokens are revoked, never deleted, so a
        project that has one stays closed and that answer may be kept."""
        if name in self.closed:
            return False
        return not self.note_tokens(name, self.store(name).has_tokens())

    @property
    def closed(self) -> set[str]:
        """The projects seen with a token: closed for good."""
        return self._closed

    def note_tokens(self, name: str, has_tokens: bool) -> bool:
        """Keep what the database said of whether project ``name`` has a token (a yes is kept
        for good); returns ``has_tokens``."""
        if has_tokens:
            self._closed.add(name)
        return has_tokens

    def server_log(self) -> Store:
        """The store of the server's own audit log (requests under no project)."""
        with self._lock:
            if self._server_log is None:
                self._server_log = registry.open_server_log(self.base, self.signer)
            return self._server_log

    def names(self) -> list[str]:
        return registry.list_projects(self.base)

    def manifests(self, name: str) -> Callable[[Any, Any], Any] | None:
        """How a file-level diff reads project ``name``'s dataset manifests (a reader as
        lineal.datasets.diff_versions takes one); None: from the objects the server keeps
        for it (lineal.served_objects). `lineal ui` may read a workspace's object cache
        instead (lineal.served_objects.cached_manifests)."""
        return None

    def flush_audit(self, *project: str | None) -> None:
        """Append this worker's queued audit rows of ``project`` (None: the server's log;
        no argument: of every log) before that log is read."""
        if self.audit is not None:
            self.audit.flush(*project)

    def close(self) -> None:
        if self.audit is not None:
            self.audit.close()
        with self._lock:
            for store in self._open.values():
                store.close()
            self._open.clear()
            if self._server_log is not None:
                self._server_log.close()
                self._server_log = None


def _body(exc: LinealError) -> dict[str, Any]:
    return wire_errors.error_body(exc)


def _validation_message(errors: list[Any]) -> str:
    first = errors[0] if errors else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("query", "body"))
    what = str(first.get("msg", "invalid request"))
    if first.get("type") == "string_pattern_mismatch":
        pattern = str(first.get("ctx", {}).get("pattern", ""))
        # Text fields refuse only NUL; digests and the like name the form they expect.
        what = "a NUL character" if "\\x00" in pattern else f"expected text matching {pattern}"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"bad {where or 'request'}: {what}{more}"


def _alerts(path: Path, base: str) -> ServerAlerts:
    """Where findings in written batches go: ``path``'s ``[alerts]``, outboxes in the server's
    folder (InvalidInput, one line, for a bad file)."""
    from lineal.quality.alerts_config import read
    from lineal.quality.served_alerts import ServerAlerts

    return ServerAlerts(read(path), registry.server_folder(base))


def create_app(
    base: str,
    objects: str | None = None,
    *,
    allow_open: bool = True,
    default_project: str = DEFAULT_PROJECT,
    projects: Projects | None = None,
    audit: bool = True,
    alerts: Path | None = None,
) -> FastAPI:
    """The app serving the projects under store URI ``base`` (see lineal.store.projects), their
    objects under ``objects`` (default: lineal.store.registry.server_objects), and the web UI
    at ``/`` (lineal.server.ui). Without ``allow_open``, a project with no token yet answers no
    one (a project made after the server started on a public address is not open to the
    world). ``projects``: other projects than those under ``base`` (`lineal ui`'s one store);
    without ``audit``, requests are not recorded. ``alerts``: a TOML file whose ``[alerts]``
    table receives the findings in written batches (lineal.quality.served_alerts)."""
    from fastapi import Depends, FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    from lineal import __version__
    from lineal.interop import mlflow_errors
    from lineal.server import mlflow_routes, permissions, routes
    from lineal.server import objects as object_routes
    from lineal.server import openlineage as openlineage_routes
    from lineal.server import tokens as token_routes
    from lineal.server.audit_trail import AuditWriter

    registry.project_uri(base, "check")  # refuse an unsupported URI before serving
    projects = projects or Projects(base, allow_open=allow_open, default=default_project)
    projects.audit = AuditWriter(projects) if audit else None
    projects.alerts = None if alerts is None else _alerts(alerts, base)
    app = FastAPI(
        title="lineal server",
        version=__version__,
        description="lineal ledgers (one per project) over HTTP: every read, and batches of "
        "records clients signed.",
        openapi_url=f"{API}/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.projects = projects

    def authorized(request: Request) -> None:
        permissions.authorize(projects, request)

    authorized.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request)]
    )

    checked = [Depends(authorized)]  # every route of the API, before its endpoint runs
    # The router matches routes in the order they were included and stops at the first:
    # the ingest endpoint, called once per event, comes first. It checks the token itself,
    # where its events are written (lineal.server.openlineage).
    openlineage_routes.install(app, projects, API)
    app.include_router(
        routes.router(projects, objects or registry.server_objects(base)),
        prefix=API,
        dependencies=checked,
    )
    app.include_router(
        object_routes.router(projects, objects or registry.server_objects(base)),
        prefix=API,
        dependencies=checked,
    )
    app.include_router(token_routes.router(projects), prefix=API, dependencies=checked)
    from lineal.server import mlflow_registry_routes

    mlflow_registry_routes.install(app, projects)  # checks tokens itself, answers as MLflow
    app.include_router(
        mlflow_routes.router(projects, objects or registry.server_objects(base)),
        dependencies=checked,
    )

    @app.exception_handler(LinealError)
    def lineal_error(request: Request, exc: LinealError) -> JSONResponse:
        status = wire_errors.STATUS.get(exc.code, 500)
        if status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc.message)
        headers = {"www-authenticate": "Bearer"} if status == 401 else None
        if mlflow_errors.is_mlflow_path(request.url.path):  # MLflow's clients read its shape
            body = mlflow_errors.error_body(exc)
            return JSONResponse(body, status_code=mlflow_errors.status_of(exc), headers=headers)
        return JSONResponse(_body(exc), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        error = InvalidInput(
            _validation_message(list(exc.errors())),
            hint=f"see {API}/openapi.json or /docs for this endpoint's parameters",
        )
        return JSONResponse(_body(error), status_code=422)

    @app.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if mlflow_errors.is_mlflow_path(request.url.path):
            missing = exc.status_code in (404, 405)
            error = mlflow_errors.MlflowError(
                mlflow_errors.ENDPOINT_NOT_FOUND if missing else mlflow_errors.BAD_REQUEST,
                f"{request.method} {request.url.path}: {exc.detail}",
            )
            return JSONResponse(mlflow_errors.error_body(error), status_code=exc.status_code)
        code = {404: "not_found", 405: "invalid_input"}.get(exc.status_code, "error")
        body = {"error": str(exc.detail), "hint": f"see {API}/openapi.json", "code": code}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Not inside an except block: the exception is passed, or the log shows no traceback.
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        if mlflow_errors.is_mlflow_path(request.url.path):
            failed = LinealError(
                f"internal server error ({type(exc).__name__})",
                hint="the server's log has the details",
            )
            return JSONResponse(mlflow_errors.error_body(failed), status_code=500)
        body = {
            "error": f"internal server error ({type(exc).__name__})",
            "hint": "the server's log has the details",
            "code": "error",
        }
        return JSONResponse(body, status_code=500)

    _outer_layers(app, projects)
    return app


def _outer_layers(app: FastAPI, projects: Projects) -> None:
    """The web UI at ``/`` (for the paths no route answers), the audit trail around every
    request, and the projects closed at shutdown."""
    from lineal.server import ui
    from lineal.server.audit_trail import AuditTrail

    ui.mount(app)
    # Every request, refused ones too, once, after its status is known (see audit_trail).
    if projects.audit is not None:
        app.add_middleware(AuditTrail, writer=projects.audit)
    app.router.on_shutdown.append(projects.close)


#: A worker's garbage collection thresholds (Python's default: 700, 10, 10); see _tune_gc.
GC_THRESHOLDS = (10_000, 50, 100)


def _tune_gc() -> None:
    """Collect garbage less often in a server worker. A request allocates thousands of
    short-lived containers (an event's JSON, its plan and ops), so at Python's default
    thresholds collections took ~30% of the OpenLineage writer's CPU, most of it walking
    objects that live as long as the process. Those made at startup are frozen out of every
    collection, and the young generation is collected every 10,000 allocations."""
    import gc

    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def app_from_env() -> FastAPI:
    """The app for the URI in LINEAL_SERVER_URI (uvicorn's factory in each worker)."""
    app = create_app(
        os.environ[URI_VARIABLE],
        os.environ.get(OBJECTS_VARIABLE),
        allow_open=os.environ.get(OPEN_VARIABLE, "1") != "0",
        default_project=os.environ.get(PROJECT_VARIABLE) or DEFAULT_PROJECT,
        alerts=Path(os.environ[ALERTS_VARIABLE]) if os.environ.get(ALERTS_VARIABLE) else None,
    )
    _tune_gc()  # a worker process's own setting: not create_app's, which others embed
    return app
