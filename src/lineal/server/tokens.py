"""The token routes: who a token is (``GET …/whoami``), and an admin's tokens of a project
(``POST|GET …/tokens``, ``DELETE …/tokens/{id}``), through lineal.access.

A new token's text is in the one answer that makes it and nowhere else: never logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lineal import access
from lineal.errors import PermissionDenied
from lineal.model.grants import ROLES
from lineal.server.signatures import sign

if TYPE_CHECKING:
    from fastapi import APIRouter

    from lineal.server.app import Projects

WHERE = "/projects/{project}"
_ID = "^[0-9a-f]{16}$"


def router(projects: Projects) -> APIRouter:
    from fastapi import APIRouter, Path, Request
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel, ConfigDict, Field

    from lineal.server import routes

    api = APIRouter(responses=routes.error_responses())

    def whoami(project: str, request: Request) -> JSONResponse:
        principal = request.state.principal
        info = getattr(request.state, "token", None)  # checked by permissions.authorize
        body = access.whoami(principal.agent, info, open_project=principal.open)
        return JSONResponse(body)

    sign(whoami, project=str, request=Request)
    api.add_api_route(
        f"{WHERE}/whoami",
        whoami,
        methods=["GET"],
        summary="Who the request's token acts as: agent, role, token id, expiry",
    )

    class Asked(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)

        agent: str = Field(min_length=1, max_length=128, pattern="^[^\\x00]*$")
        role: str = Field(description=f"one of {', '.join(ROLES)}", pattern="^[a-z]+$")
        expires: str | None = Field(
            default=None, max_length=16, description="30d, 12h, 90m, 2w or never"
        )

    def create(project: str, body: Asked, request: Request) -> JSONResponse:
        if request.state.principal.open:  # else anyone reaching the server could claim it
            raise PermissionDenied(
                f"project {project} has no token yet: its first is made on the server machine",
                hint=f"there: lineal token create --uri SERVER_URI --project {project} "
                "--agent YOU --role admin",
            )
        store = projects.store(project)
        made = access.create_token(
            store, body.agent, body.role, body.expires, by=request.state.principal.agent
        )
        return JSONResponse(made.as_dict())

    sign(create, project=str, body=Asked, request=Request)
    api.add_api_route(
        f"{WHERE}/tokens",
        create,
        methods=["POST"],
        summary="Make a token (admin); its text is in this answer only",
    )

    def listed(project: str) -> JSONResponse:
        return JSONResponse(access.list_tokens(projects.store(project)).as_dict())

    sign(listed, project=str)
    api.add_api_route(
        f"{WHERE}/tokens", listed, methods=["GET"], summary="The project's tokens (admin)"
    )

    def revoke(project: str, token_id: str) -> JSONResponse:
        info = access.revoke_token(projects.store(project), token_id)
        return JSONResponse(info.as_dict())

    sign(revoke, project=str, token_id=(str, Path(pattern=_ID)))
    api.add_api_route(
        f"{WHERE}/tokens/{{token_id}}",
        revoke,
        methods=["DELETE"],
        summary="Revoke a token now (admin): every server process refuses it from then on",
    )
    return api
