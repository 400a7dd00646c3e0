"""OpenLineage's endpoint, Marquez-compatible: ``POST /api/v1/lineage`` (the server's default
project) and ``POST /api/v1/projects/{project}/lineage``, one event each, 201 with what was
recorded; ``…/lineage/batch`` takes a JSON array or JSON Lines and answers per event.

An event is validated in the request (400 naming the JSON path and the rule), then recorded
by the project's GroupWriter (lineal.interop.openlineage_group): concurrent requests share a
transaction, and each answers once the transaction holding its events has committed. The
server signs what it records; the token's agent that sent each event is kept with it.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lineal.errors import InvalidInput
from lineal.server import permissions

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI, Request
    from fastapi.responses import JSONResponse

    from lineal.interop.openlineage_group import GroupWriter
    from lineal.server.app import Projects
    from lineal.server.audit_trail import Scope
    from lineal.store.base import Store

#: A body past this many bytes is refused (a batch: split it).
MAX_BODY = 64 * 1024 * 1024
_HINT = "send one OpenLineage event as a JSON object (the batch endpoint takes an array)"


class Writers:
    """One GroupWriter per project of this worker, made on first use, each with a store
    connection of its own: its transactions never hold up the requests' reads (token
    checks, the audit trail), which go through the project's shared store."""

    def __init__(self, projects: Projects) -> None:
        self.projects = projects
        self._writers: dict[str, GroupWriter] = {}
        self._lock = threading.Lock()

    def of(self, project: str) -> GroupWriter:
        with self._lock:
            writer = self._writers.get(project)
            if writer is None:
                from lineal.client import Lineal
                from lineal.interop.openlineage_group import GroupWriter
                from lineal.interop.openlineage_validate import validator
                from lineal.store import registry

                self.projects.store(project)  # NotFound for a project that does not exist
                store = registry.open_project(self.projects.base, project, self.projects.signer)
                writer = self._writers[project] = GroupWriter(Lineal(store), validator())
            return writer

    def close(self) -> None:
        with self._lock:
            for writer in self._writers.values():
                writer.close()
                writer.repo.close()
            self._writers.clear()


def _parse(body: bytes, *, batch: bool) -> list[Any]:
    import orjson

    if len(body) > MAX_BODY:
        raise InvalidInput(
            f"the body is {len(body):,} bytes, more than {MAX_BODY:,}", hint="send smaller batches"
        )
    text = body.lstrip()
    try:
        if not batch or text.startswith(b"["):
            found = orjson.loads(body)
        else:  # JSON Lines
            found = [orjson.loads(line) for line in body.splitlines() if line.strip()]
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not JSON: {exc}", hint=_HINT) from None
    if not batch:
        if not isinstance(found, Mapping):
            raise InvalidInput("the body is not a JSON object (one event)", hint=_HINT)
        return [found]
    if not isinstance(found, list):
        found = [found]
    return found


def _gunzip(body: bytes) -> bytes:
    import gzip
    import zlib

    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
            return stream.read(MAX_BODY + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise InvalidInput(f"the gzip body does not decompress: {exc}", hint=_HINT) from None


def _checked(
    body: bytes, batch: bool
) -> tuple[int, list[tuple[Mapping[str, Any], str]], dict[int, str]]:
    """How many events the body holds, those that pass the spec (with their kind) and the
    error of each that does not (by index). One event: its error is raised."""
    from lineal.interop.openlineage_validate import validator

    events = _parse(body, batch=batch)
    check = validator()
    valid: list[tuple[Mapping[str, Any], str]] = []
    refused: dict[int, str] = {}
    for index, event in enumerate(events):
        try:
            valid.append((event, check.check(event)))
        except InvalidInput as exc:
            if not batch:
                raise
            refused[index] = exc.message
    return len(events), valid, refused


async def _record(
    writers: Writers, projects: Projects, request: Request, *, batch: bool
) -> tuple[dict[str, Any], bool]:
    from starlette.concurrency import run_in_threadpool

    from lineal.interop.openlineage_ingest import IngestResult
    from lineal.interop.openlineage_validate import validator

    # The token's check: what needs no database now; the rest where the events are
    # written, once for the group of requests the writer takes together.
    pending = permissions.deferred(projects, request)

    def admit(store: Store, asked: dict[Any, Any]) -> str | None:
        return permissions.admit(projects, pending, lambda _: store, asked).agent

    body = await request.body()
    try:
        if request.headers.get("content-encoding", "").lower() == "gzip":  # the client's option
            body = _gunzip(body)
        if batch:  # many events: parsed and checked beside the event loop, not in it
            count, valid, refused = await run_in_threadpool(_checked, body, batch)
        else:
            count, valid, refused = _checked(body, batch)
    except InvalidInput:  # a caller that may not write learns nothing of its body
        await run_in_threadpool(permissions.admit, projects, pending, projects.store)
        raise
    project = pending.project
    if valid:
        result = await asyncio.wrap_future(writers.of(project).submit(valid, None, admit))
    else:  # nothing to record: no transaction
        await run_in_threadpool(permissions.admit, projects, pending, projects.store)
        result = IngestResult(validation="full" if validator().full else "basic")
    answer = result.as_dict()
    if not batch:
        outcome = result.outcomes[0]
        if outcome["status"] == "invalid":
            raise InvalidInput(outcome["error"], hint=_HINT)
        return answer, True
    kept = iter(result.outcomes)
    outcomes = []
    for index in range(count):
        if index in refused:
            outcomes.append({"index": index, "status": "invalid", "error": refused[index]})
        else:
            outcomes.append({**next(kept), "index": index})
    answer["failed"] = sum(1 for one in outcomes if one["status"] == "invalid")
    answer["results"] = outcomes
    return answer, answer["failed"] == 0


_ONE = "Record one OpenLineage event (RunEvent, DatasetEvent or JobEvent)"
_ONE_MORE = (
    "Marquez-compatible: 201 with what was recorded; 400 names the JSON path and the spec's "
    "rule an invalid event breaks."
)
_MANY = "Record OpenLineage events: a JSON array or JSON Lines"
_MANY_MORE = (
    "201 when every event was recorded (or seen before), 207 when some were refused; "
    "``results`` says what each became."
)


def install(app: FastAPI, projects: Projects, prefix: str) -> None:
    """Serve the ingest routes under ``prefix`` ahead of every other route, each a plain
    Starlette route (no dependency solving: called once per event, and it checks its
    token itself, see _record), and document them in the OpenAPI schema as FastAPI routes."""
    from starlette.routing import Match, Route

    api, endpoints = router(projects)
    app.include_router(api, prefix=prefix)  # the schema's routes, behind the lean ones

    class Lean(Route):
        def matches(self, scope: Scope) -> tuple[Match, Scope]:
            match, child = super().matches(scope)
            if match is not Match.NONE:
                child["route"] = self  # its path template: the audit trail's endpoint
            return match, child

    lean = [Lean(prefix + path, endpoint, methods=["POST"]) for path, endpoint in endpoints]
    app.router.routes[:0] = lean


def router(projects: Projects) -> tuple[APIRouter, list[tuple[str, Any]]]:
    """The routes' FastAPI router, and each route's path and endpoint."""
    from fastapi import APIRouter, Request
    from fastapi.responses import JSONResponse

    from lineal.server.routes import error_responses

    writers = Writers(projects)
    api = APIRouter(tags=["openlineage"], responses=error_responses())
    api.on_shutdown.append(writers.close)

    async def one(request: Request) -> JSONResponse:
        body, _ = await _record(writers, projects, request, batch=False)
        return JSONResponse(body, status_code=201)

    async def many(request: Request) -> JSONResponse:
        body, ok = await _record(writers, projects, request, batch=True)
        return JSONResponse(body, status_code=201 if ok else 207)

    # The same under a named project: its ``project`` declared, so the schema has it.
    async def one_in(request: Request, project: str) -> JSONResponse:
        return await one(request)

    async def many_in(request: Request, project: str) -> JSONResponse:
        return await many(request)

    # The module defers its annotations: FastAPI must see the Request class itself.
    for endpoint in (one, many):
        endpoint.__annotations__ = {"request": Request, "return": JSONResponse}
    for named in (one_in, many_in):
        named.__annotations__ = {"request": Request, "project": str, "return": JSONResponse}
    partly: dict[int | str, dict[str, Any]] = {
        207: {"description": "Some events were refused: `results` says which and why"}
    }
    routes: list[tuple[str, Any, Any]] = [("", one, many), ("/projects/{project}", one_in, many_in)]
    endpoints: list[tuple[str, Any]] = []
    for prefix, single, batch in routes:
        endpoints += [(f"{prefix}/lineage", one), (f"{prefix}/lineage/batch", many)]
        api.add_api_route(
            f"{prefix}/lineage",
            single,
            methods=["POST"],
            status_code=201,
            summary=_ONE,
            description=_ONE_MORE,
        )
        api.add_api_route(
            f"{prefix}/lineage/batch",
            batch,
            methods=["POST"],
            status_code=201,
            summary=_MANY,
            description=_MANY_MORE,
            responses=partly,
        )
    return api, endpoints
