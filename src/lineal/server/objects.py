"""The object routes: each project's content-addressed objects, uploaded and downloaded streamed.

``/api/v1/projects/{project}/objects/…``: ``POST missing`` (which of these digests the server
lacks), ``HEAD|GET|PUT sha256/{hex}``. Objects live at ``<objects URL>/<project>/sha256/…``
through lineal.served_objects, the layout every remote has. An upload is hashed as it arrives and
kept under its digest only when whole and matching; nothing else is ever kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from lineal.model.digests import PREFIX
from lineal.served_objects import CHUNK, ServedObjects
from lineal.server.signatures import sign

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fastapi import APIRouter

    from lineal.server.app import Projects

#: The most digests one ``missing`` request may ask about (a client sends more in chunks).
MAX_ASKED = 10_000
WHERE = "/projects/{project}/objects"
_HEX = "^[0-9a-f]{64}$"
_DIGEST = "^sha256:[0-9a-f]{64}$"
_BINARY = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}


def router(projects: Projects, url: str) -> APIRouter:
    """The object routes of the projects in ``projects``, their objects under ``url``."""
    from fastapi import APIRouter

    from lineal.server import routes

    served = ServedObjects(url, projects.store)
    api = APIRouter(responses=routes.error_responses())
    _missing(api, served)
    _reads(api, served)
    _upload(api, served)
    return api


def _hexdigest() -> Any:
    from fastapi import Path

    return Path(pattern=_HEX, description="the object's SHA-256: 64 lower-case hex digits")


def _missing(api: APIRouter, served: ServedObjects) -> None:
    from pydantic import BaseModel, ConfigDict, Field, StringConstraints

    digest = Annotated[str, StringConstraints(pattern=_DIGEST)]

    class Asked(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)

        digests: list[digest] = Field(max_length=MAX_ASKED)

    class Missing(BaseModel):
        missing: list[str]

    def missing(project: str, body: Asked) -> Missing:
        remote = served.remote(project)
        remote.clean_incoming()  # what uploads cut off by a killed server left
        return Missing(missing=remote.missing(body.digests))

    sign(missing, project=str, body=Asked)
    api.add_api_route(
        f"{WHERE}/missing",
        missing,
        methods=["POST"],
        response_model=Missing,
        summary="Which of these objects the server lacks (at most 10,000 asked at a time)",
    )


def _reads(api: APIRouter, served: ServedObjects) -> None:
    from fastapi.responses import FileResponse, Response, StreamingResponse

    def head(project: str, hexdigest: str) -> Response:
        remote, digest = served.require(project, hexdigest)
        return Response(headers={"content-length": str(remote.size(digest))})

    sign(head, project=str, hexdigest=(str, _hexdigest()))
    api.add_api_route(
        f"{WHERE}/sha256/{{hexdigest}}",
        head,
        methods=["HEAD"],
        response_class=Response,
        summary="Whether the server holds an object (its size in Content-Length)",
    )

    def download(project: str, hexdigest: str) -> Response:
        remote, digest = served.require(project, hexdigest)
        path = remote.local_file(digest)
        if path is not None:
            return FileResponse(path, media_type="application/octet-stream")
        size = remote.size(digest)
        stream = remote.open_object(digest)

        def pieces() -> Iterator[bytes]:
            with stream:
                while piece := stream.read(CHUNK):
                    yield piece

        return StreamingResponse(
            pieces(), media_type="application/octet-stream", headers={"content-length": str(size)}
        )

    sign(download, project=str, hexdigest=(str, _hexdigest()))
    api.add_api_route(
        f"{WHERE}/sha256/{{hexdigest}}",
        download,
        methods=["GET"],
        response_class=Response,
        responses={200: {"content": _BINARY}},
        summary="An object's bytes, streamed",
    )


def _upload(api: APIRouter, served: ServedObjects) -> None:
    from fastapi import Request
    from pydantic import BaseModel, Field
    from starlette.concurrency import run_in_threadpool

    class Stored(BaseModel):
        digest: str
        size: int
        stored: bool = Field(description="false: the server held it already")

    async def upload(project: str, hexdigest: str, request: Request) -> Stored:
        remote = await run_in_threadpool(served.remote, project)
        digest = PREFIX + hexdigest
        if await run_in_threadpool(remote.has, digest):  # kept already: read, keep nothing
            async for _ in request.stream():
                pass
            size = await run_in_threadpool(remote.size, digest)
            return Stored(digest=digest, size=size, stored=False)
        with await run_in_threadpool(served.arrival, remote, digest) as arrival:
            pending = bytearray()
            async for piece in request.stream():
                pending += piece
                if len(pending) >= CHUNK:  # the disk is written off the event loop
                    await run_in_threadpool(arrival.write, bytes(pending))
                    pending.clear()
            await run_in_threadpool(arrival.write, bytes(pending))
            size = await run_in_threadpool(arrival.finish)
        return Stored(digest=digest, size=size, stored=True)

    sign(upload, project=str, hexdigest=(str, _hexdigest()), request=Request)
    api.add_api_route(
        f"{WHERE}/sha256/{{hexdigest}}",
        upload,
        methods=["PUT"],
        response_model=Stored,
        summary="Upload an object, streamed; kept only if its bytes hash to its digest",
        openapi_extra={"requestBody": {"required": True, "content": _BINARY}},
    )
