"""The REST routes: one endpoint per read of the Store protocol, built from lineal.store.wire.

``GET|POST /api/v1/projects/{project}/store/{method}``: arguments as query parameters (or a
JSON body for lists and artifacts), answers in the wire format. Each endpoint decodes its
arguments, calls the one Store method and encodes the answer; nothing else.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Annotated, Any

from lineal.model.entities import MAX_LIMIT
from lineal.store import wire

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import APIRouter

    from lineal.server.app import Projects


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
        "limit": (int, {"ge": 1, "le": MAX_LIMIT}),
        "bool": (bool, {}),
        "strs": (list[Annotated[str, StringConstraints(pattern=_TEXT)]], {"max_length": 100_000}),
        "artifact": (dict[str, Any], {"description": "an artifact as the wire encodes it"}),
    }
    kind, constraints = kinds[param.type]
    return (kind if param.required else kind | None), constraints


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
        return _answer(projects, project, method, body.model_dump())

    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("project", inspect.Parameter.KEYWORD_ONLY, annotation=str),
            inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=body_model),
        ]
    )
    endpoint.__name__ = method
    return endpoint


def _answer(projects: Projects, project: str, method: str, args: dict[str, Any]) -> Any:
    store = projects.store(project)
    values = wire.decode_args(method, args)
    found = getattr(store, method)(**values)
    if method in ("records", "commits"):
        found = list(found)
    return wire.encode_result(method, found)


def router(projects: Projects) -> APIRouter:
    from fastapi import APIRouter

    error = _error_model()
    responses: dict[int | str, dict[str, Any]] = {
        status: {"model": error, "description": code}
        for code, status in wire.STATUS.items()
        if code != "error"
    }
    responses[422] = {"model": error, "description": "bad parameters"}
    api = APIRouter(responses=responses)

    @api.get("/health", summary="The server answers")
    def health() -> dict[str, bool]:
        return {"ok": True}

    @api.get("/projects", summary="The projects this server holds")
    def project_names() -> list[str]:
        return projects.names()

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
