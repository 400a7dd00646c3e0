"""The server's app factory: FastAPI with the routes, and every error as one JSON body.

Every failure answers ``{"error", "hint", "code"}`` with the status lineal.store.wire_errors.STATUS
gives the code: bad input is a 4xx, never a 500. Opens stores only through
lineal.store.registry and reads them only through the Store protocol.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any

from lineal.errors import InvalidInput, LinealError
from lineal.store import registry, wire, wire_errors

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    from lineal.server.audit_trail import AuditWriter
    from lineal.store.base import Store

#: Where `lineal server` tells the worker processes which store URI to serve.
URI_VARIABLE = "LINEAL_SERVER_URI"
#: And where their objects are kept (see lineal.store.projects.objects_url).
OBJECTS_VARIABLE = "LINEAL_SERVER_OBJECTS"
API = "/api/v1"
log = logging.getLogger("lineal.server")


class Projects:
    """The projects under one base URI, each store opened once and shared by the threads."""

    def __init__(self, base: str) -> None:
        self.base = base
        self._open: dict[str, Store] = {}
        self._lock = threading.Lock()
        self.signer = registry.server_signer(base)
        self._server_log: Store | None = None
        #: this worker's audit queue (lineal.server.audit_trail), set by create_app
        self.audit: AuditWriter | None = None

    def store(self, name: str) -> Store:
        with self._lock:
            store = self._open.get(name)
            if store is None:
                store = registry.open_project(self.base, name, self.signer)
                self._open[name] = store
            return store

    def server_log(self) -> Store:
        """The store of the server's own audit log (requests under no project)."""
        with self._lock:
            if self._server_log is None:
                self._server_log = registry.open_server_log(self.base, self.signer)
            return self._server_log

    def names(self) -> list[str]:
        return registry.list_projects(self.base)

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
    return wire.error_body(exc)


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


def create_app(base: str, objects: str | None = None) -> FastAPI:
    """The app serving the projects under store URI ``base`` (see lineal.store.projects), their
    objects under ``objects`` (default: lineal.store.registry.server_objects)."""
    from fastapi import FastAPI
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    from lineal import __version__
    from lineal.server import objects as object_routes
    from lineal.server import routes
    from lineal.server.audit_trail import AuditTrail, AuditWriter

    registry.project_uri(base, "check")  # refuse an unsupported URI before serving
    projects = Projects(base)
    projects.audit = AuditWriter(projects)
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
    app.include_router(routes.router(projects), prefix=API)
    app.include_router(
        object_routes.router(projects, objects or registry.server_objects(base)), prefix=API
    )

    @app.exception_handler(LinealError)
    def lineal_error(request: Request, exc: LinealError) -> JSONResponse:
        status = wire_errors.STATUS.get(exc.code, 500)
        if status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc.message)
        return JSONResponse(_body(exc), status_code=status)

    @app.exception_handler(RequestValidationError)
    def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        error = InvalidInput(
            _validation_message(list(exc.errors())),
            hint=f"see {API}/openapi.json or /docs for this endpoint's parameters",
        )
        return JSONResponse(_body(error), status_code=422)

    @app.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "invalid_input"}.get(exc.status_code, "error")
        body = {"error": str(exc.detail), "hint": f"see {API}/openapi.json", "code": code}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        body = {
            "error": f"internal server error ({type(exc).__name__})",
            "hint": "the server's log has the details",
            "code": "error",
        }
        return JSONResponse(body, status_code=500)

    # Every request, refused ones too, once, after its status is known (see audit_trail).
    app.add_middleware(AuditTrail, writer=projects.audit)
    app.router.on_shutdown.append(projects.close)
    return app


def app_from_env() -> FastAPI:
    """The app for the URI in LINEAL_SERVER_URI (uvicorn's factory in each worker)."""
    return create_app(os.environ[URI_VARIABLE], os.environ.get(OBJECTS_VARIABLE))
