"""The REST routes: one endpoint per read of the Store protocol, built from lineal.store.wire.

``GET|POST /api/v1/projects/{project}/store/{method}``: arguments as query parameters (or a
JSON body for lists and artifacts), answers in the wire format. Each endpoint decodes its
arguments, calls the one Store method and encodes the answer; nothing else.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Annotated, Any

from lineal.model.entities import MAX_LIMIT
from lineal.server import audit_trail
from lineal.server.signatures import sign
from lineal.store import wire, wire_errors, wire_json

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import APIRouter

    from lineal.server.app import Projects


#: The reads of the audit log: each answers after this worker's queued rows are appended.
AUDIT_READS = frozenset({"audit_rows", "audit_heads", "verify_audit"})
#: Text without NUL (which no database column holds).
_TEXT = "^[^\\x00]*$"


def _annotation(param: wire.Param) -> tuple[Any, dict[str, Any]]:
    """The Python type and the constraints of one wire argument."""
    from pydantic import StringConstraints

    kinds: dict[str, tuple[Any, dict[str, Any]]] = {
        "str": (str, {"pattern": _TEXT}),
        "ref": (
            str,
            {
                "pattern": _TEXT,
                "min_length": 1,
                "description": "a reference: KIND/NAME@vN, run/ULID, sha256:HEX, …",
            },
        ),
        "filter": (
            str,
            {
                "pattern": _TEXT,
                "min_length": 1,
                "description": "filter text, e.g. metrics.acc > 0.9 and tags.x = y",
            },
        ),
        "int": (int, {"ge": 0, "le": MAX_LIMIT}),
        "step": (int, {"ge": -MAX_LIMIT - 1, "le": MAX_LIMIT}),
        "limit": (int, {"ge": 1, "le": MAX_LIMIT}),
        "bool": (bool, {}),
        "strs": (list[Annotated[str, StringConstraints(pattern=_TEXT)]], {"max_length": 100_000}),
        "artifact": (dict[str, Any], {"description": "an artifact as the wire encodes it"}),
    }
    kind, constraints = kinds[param.type]
    return (kind if param.required else kind | None), constraints


@functools.cache
def _error_model() -> Any:
    from pydantic import BaseModel

    class Error(BaseModel):
        error: str
        hint: str | None
        code: str

    return Error


def _get(method: str, projects: Projects) -> Callable[..., Any]:
    from fastapi import Query

    params = [inspect.Parameter("project", inspect.Parameter.KEYWORD_ONLY, annotation=str)]
    for param in wire.READS[method][1]:
        kind, constraints = _annotation(param)
        default = Query(... if param.required else param.default, **constraints)
        params.append(
            inspect.Parameter(
                param.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind
            )
        )

    def endpoint(project: str, **args: Any) -> Any:
        return _answer(projects, project, method, args)

    endpoint.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    endpoint.__name__ = method
    return endpoint


def _post(method: str, projects: Projects) -> Callable[..., Any]:
    from pydantic import ConfigDict, Field, create_model

    fields: dict[str, Any] = {}
    for param in wire.READS[method][1]:
        kind, constraints = _annotation(param)
        default = ... if param.required else param.default
        fields[param.name] = (kind, Field(default, **constraints))
    body_model = create_model(
        f"{method}_arguments", __config__=ConfigDict(extra="forbid", strict=True), **fields
    )

    def endpoint(project: str, body: Any) -> Any:
        args = body.model_dump()
        audit_trail.note_body(args)
        return _answer(projects, project, method, args)

    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("project", inspect.Parameter.KEYWORD_ONLY, annotation=str),
            inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=body_model),
        ]
    )
    endpoint.__name__ = method
    return endpoint


def _answer(projects: Projects, project: str, method: str, args: dict[str, Any]) -> Any:
    from fastapi.responses import Response

    store = projects.store(project)
    if method in AUDIT_READS:
        projects.flush_audit(project)  # this worker's queued rows first
    values = wire.decode_args(method, args)
    found = getattr(store, method)(**values)
    if method in ("records", "commits"):
        found = list(found)
    # JSON text already: a Response spares FastAPI's jsonable_encoder walk over every value,
    # which took longer than the query itself on a big subgraph.
    return Response(wire_json.encode_answer(method, found), media_type="application/json")


def error_responses() -> dict[int | str, dict[str, Any]]:
    """The error answers every route documents, all of one model."""
    error = _error_model()
    responses: dict[int | str, dict[str, Any]] = {
        status: {"model": error, "description": code}
        for code, status in wire_errors.STATUS.items()
        if code != "error"
    }
    responses[422] = {"model": error, "description": "bad parameters"}
    return responses


def router(projects: Projects, objects: str | None = None) -> APIRouter:
    """The store routes, the writes and the services of ``projects`` (whose objects, for the
    services that read a manifest, are under URL ``objects``)."""
    from fastapi import APIRouter

    from lineal.server import services

    api = APIRouter(responses=error_responses())

    @api.get("/health", summary="The server answers")
    def health() -> dict[str, bool]:
        return {"ok": True}

    @api.get("/projects", summary="The projects this server holds")
    def project_names() -> list[str]:
        return projects.names()

    writes(api, projects)
    api.include_router(services.router(projects, objects))  # what the CLI answers, one call each
    for method, (verb, _) in wire.READS.items():
        build = _get if verb == "GET" else _post
        api.add_api_route(
            f"/projects/{{project}}/store/{method}",
            build(method, projects),
            methods=[verb],
            summary=f"Store.{method}",
            operation_id=method,
        )
    return api


#: The most batches one request may carry, and the most bytes.
MAX_BATCHES = 10_000
MAX_BODY = 256 * 1024 * 1024


def _alert(projects: Projects, project: str, lines: list[bytes], receipts: list[Any]) -> None:
    """Send what alerts in the batches just written (lineal.quality.served_alerts), on a worker
    thread the request does not wait for."""
    import asyncio

    from lineal.client import Lineal
    from lineal.quality import served_alerts

    to = projects.alerts
    if to is None:
        return
    picked = [(n, line) for n, line in enumerate(lines) if served_alerts.worth_a_look(line)]
    if not picked:
        return

    def send() -> None:
        batches = [wire.batch_ops(line) for _, line in picked]
        found = [receipts[n] for n, _ in picked]
        served_alerts.send(to, project, lambda: Lineal(projects.store(project)), batches, found)

    asyncio.get_running_loop().run_in_executor(None, send)


def writes(api: APIRouter, projects: Projects) -> None:
    """``POST .../batches`` (batches clients signed, one per line) and the run heartbeats."""
    from fastapi import Request
    from pydantic import BaseModel, ConfigDict, Field

    from lineal.errors import InvalidInput
    from lineal.server import permissions

    async def batches(project: str, request: Request) -> dict[str, Any]:
        body = await request.body()
        if len(body) > MAX_BODY:
            raise InvalidInput(f"request of {len(body)} bytes; at most {MAX_BODY}")
        lines = [line for line in body.split(b"\n") if line.strip()]
        if not lines or len(lines) > MAX_BATCHES:
            raise InvalidInput(
                f"expected 1 to {MAX_BATCHES} batches, one per line; got {len(lines)}",
                hint="send what lineal.store.batches encodes, one batch per line",
            )
        from starlette.concurrency import run_in_threadpool

        principal = request.state.principal
        await run_in_threadpool(permissions.check_batches, principal, lines)
        store = projects.store(project)
        receipts = await run_in_threadpool(wire.submit_all, store, lines)
        _alert(projects, project, lines, receipts)  # after the answer: never slows a write
        for receipt in receipts:  # what the audit row of this request names
            if receipt["ok"]:
                landed = [f"ledger/{receipt['first_seq']}..{receipt['last_seq']}"]
            else:
                landed = []
                audit_trail.note_refused()
            audit_trail.note([receipt["digest"], *landed, *receipt.get("refs", ())])
        return {"receipts": receipts}

    sign(batches, project=str, request=Request)  # annotations FastAPI can resolve
    api.add_api_route(
        "/projects/{project}/batches",
        batches,
        methods=["POST"],
        summary="Append batches of records clients signed (one canonical JSON batch per line)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
    )

    async def trial(project: str, request: Request) -> dict[str, Any]:
        """Body: a JSON line ``{"method": READ, "args": {...}}`` or ``null``, then one batch."""
        import json

        from starlette.concurrency import run_in_threadpool

        body = await request.body()
        if len(body) > MAX_BODY:
            raise InvalidInput(f"request of {len(body)} bytes; at most {MAX_BODY}")
        head, _, batch = body.partition(b"\n")
        try:
            asked = json.loads(head)
            read = None if asked is None else (asked["method"], asked["args"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(
                f"bad trial: {exc}",
                hint='first line: null or {"method": READ, "args": {...}}; then one batch',
            ) from None
        permissions.check_batches(request.state.principal, [batch.strip()])
        store = projects.store(project)
        return await run_in_threadpool(store.trial, batch.strip(), read)

    sign(trial, project=str, request=Request)
    api.add_api_route(
        "/projects/{project}/trial",
        trial,
        methods=["POST"],
        summary="Apply a batch and run one read in a transaction that is always rolled back",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
    )

    class Beat(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)

        run_id: str = Field(pattern="^[0-9A-Z]{26}$")
        host: str = Field(pattern=_TEXT, max_length=255)
        pid: int = Field(ge=0, le=2**31)
        process_start: str | None = Field(default=None, pattern=_TEXT, max_length=64)

    def beat(project: str, body: Beat) -> dict[str, bool]:
        projects.store(project).beat(body.run_id, body.host, body.pid, body.process_start)
        return {"ok": True}

    sign(beat, project=str, body=Beat)
    api.add_api_route(
        "/projects/{project}/beats",
        beat,
        methods=["POST"],
        summary="A run's process is alive (outside the ledger)",
    )

    @api.delete("/projects/{project}/beats/{run_id}", summary="A run's heartbeat ends")
    def forget(project: str, run_id: str) -> dict[str, bool]:
        projects.store(project).forget_beat(run_id)
        return {"ok": True}
