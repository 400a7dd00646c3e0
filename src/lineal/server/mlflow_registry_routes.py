"""MLflow's model registry and logged-model REST endpoints on the server, under
``/api/2.0/mlflow/…`` (the default project) and, for project P,
``/api/v1/projects/P/mlflow/api/2.0/mlflow/…``.

Thin: each endpoint reads MLflow's request (query or JSON body), calls one service of
lineal.interop.mlflow_registry* on the project's ``Lineal`` and answers MLflow's JSON; every
refusal, the token check's too, is MLflow's ``{"error_code", "message"}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

# Imported only by lineal.server.app.create_app, when the server is built: FastAPI is there,
# and it reads the endpoints' annotations (Request) from this module's names.
from fastapi import Request
from fastapi.responses import Response

from lineal.client import Lineal
from lineal.interop import mlflow_registry as models
from lineal.interop import mlflow_registry_aliases as aliases
from lineal.interop import mlflow_registry_logged as logged
from lineal.interop import mlflow_registry_versions as versions
from lineal.interop.mlflow_errors import MlflowError
from lineal.server import permissions

if TYPE_CHECKING:
    from fastapi import FastAPI

    from lineal.server.app import Projects

Args = dict[str, Any]
Handler = Callable[[Lineal, Args, "str | None"], Any]
#: Query parameters MLflow's client repeats for a list.
_LISTS = frozenset({"order_by", "stages", "experiment_ids"})


def _mv(found: versions.ModelVersion) -> Args:
    return {"model_version": found.as_dict()}


def _rm(found: models.RegisteredModel) -> Args:
    return {"registered_model": found.as_dict()}


def _lm(found: logged.LoggedModel) -> Args:
    return {"model": found.as_dict()}


#: (method, path under the MLflow prefix) -> what it does; the roles are in
#: lineal.server.permissions.MLFLOW_REGISTRY_ROUTES.
HANDLERS: dict[tuple[str, str], Handler] = {
    ("POST", "/registered-models/create"): lambda r, a, _: _rm(models.create(r, a)),
    ("GET", "/registered-models/get"): lambda r, a, _: _rm(models.get(r, a.get("name"))),
    ("POST", "/registered-models/rename"): lambda r, a, _: _rm(
        models.rename(r, a.get("name"), a.get("new_name"))
    ),
    ("PATCH", "/registered-models/update"): lambda r, a, _: _rm(
        models.update(r, a.get("name"), a.get("description"))
    ),
    ("DELETE", "/registered-models/delete"): lambda r, a, _: models.delete(r, a.get("name")),
    ("GET", "/registered-models/search"): lambda r, a, _: models.search_models(r, a),
    ("POST", "/registered-models/set-tag"): lambda r, a, _: models.set_tag(
        r, a.get("name"), a.get("key"), a.get("value")
    ),
    ("DELETE", "/registered-models/delete-tag"): lambda r, a, _: models.delete_tag(
        r, a.get("name"), a.get("key")
    ),
    ("POST", "/registered-models/alias"): lambda r, a, _: aliases.set_alias(
        r, a.get("name"), a.get("alias"), a.get("version")
    ),
    ("DELETE", "/registered-models/alias"): lambda r, a, _: aliases.delete_alias(
        r, a.get("name"), a.get("alias")
    ),
    ("GET", "/registered-models/alias"): lambda r, a, _: _mv(
        aliases.by_alias(r, a.get("name"), a.get("alias"))
    ),
    ("POST", "/registered-models/get-latest-versions"): lambda r, a, _: {
        "model_versions": [v.as_dict() for v in aliases.latest(r, a.get("name"), a.get("stages"))]
    },
    ("GET", "/registered-models/get-latest-versions"): lambda r, a, _: {
        "model_versions": [v.as_dict() for v in aliases.latest(r, a.get("name"), a.get("stages"))]
    },
    ("POST", "/model-versions/create"): lambda r, a, user: _mv(versions.create(r, a, user=user)),
    ("GET", "/model-versions/get"): lambda r, a, _: _mv(
        versions.get(r, a.get("name"), a.get("version"))
    ),
    ("PATCH", "/model-versions/update"): lambda r, a, _: _mv(
        versions.update(r, a.get("name"), a.get("version"), a.get("description"))
    ),
    ("POST", "/model-versions/transition-stage"): lambda r, a, _: _mv(
        aliases.transition(
            r, a.get("name"), a.get("version"), a.get("stage"), a.get("archive_existing_versions")
        )
    ),
    ("DELETE", "/model-versions/delete"): lambda r, a, _: versions.delete(
        r, a.get("name"), a.get("version")
    ),
    ("GET", "/model-versions/search"): lambda r, a, _: versions.search(r, a),
    ("GET", "/model-versions/get-download-uri"): lambda r, a, _: versions.download_uri(
        r, a.get("name"), a.get("version")
    ),
    ("POST", "/model-versions/set-tag"): lambda r, a, _: versions.set_tag(
        r, a.get("name"), a.get("version"), a.get("key"), a.get("value")
    ),
    ("DELETE", "/model-versions/delete-tag"): lambda r, a, _: versions.delete_tag(
        r, a.get("name"), a.get("version"), a.get("key")
    ),
    ("POST", "/logged-models"): lambda r, a, user: _lm(logged.create(r, a, user=user)),
    ("GET", "/logged-models/{model_id}"): lambda r, a, _: _lm(logged.get(r, a["model_id"])),
    ("PATCH", "/logged-models/{model_id}"): lambda r, a, _: _lm(
        logged.finalize(r, a["model_id"], a.get("status"))
    ),
    ("DELETE", "/logged-models/{model_id}"): lambda r, a, _: logged.delete(r, a["model_id"]),
    ("POST", "/logged-models/search"): lambda r, a, _: logged.search_models(r, a),
    ("PATCH", "/logged-models/{model_id}/tags"): lambda r, a, _: logged.set_tags(
        r, a["model_id"], a.get("tags")
    ),
    ("DELETE", "/logged-models/{model_id}/tags/{tag_key}"): lambda r, a, _: logged.delete_tag(
        r, a["model_id"], a["tag_key"]
    ),
    ("POST", "/logged-models/{model_id}/params"): lambda r, a, _: logged.log_params(
        r, a["model_id"], a.get("params")
    ),
}


async def _arguments(request: Request) -> Args:
    """MLflow's request: the query of a GET, else the JSON body; with the path's fields."""
    if request.method == "GET":
        query = request.query_params
        found: Args = {key: query.getlist(key) if key in _LISTS else query[key] for key in query}
    else:
        raw = await request.body()
        try:
            found = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise MlflowError("MALFORMED_REQUEST", "the request body is not JSON") from None
        if not isinstance(found, dict):
            raise MlflowError("MALFORMED_REQUEST", "the request body must be a JSON object")
    return found | {k: v for k, v in request.path_params.items() if k != "project"}


def _endpoint(projects: Projects, handler: Handler) -> Callable[..., Any]:
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool

    def call(project: str, args: Args, user: str | None) -> Any:
        # A lineal error answers in MLflow's shape: the app's handler, on MLflow's paths.
        answer = handler(Lineal(projects.store(project)), args, user)
        return {} if answer is None else answer

    async def endpoint(request: Request) -> Response:
        args = await _arguments(request)
        project = permissions.project_of(projects, request)
        user = getattr(request.state.principal, "agent", None)
        return JSONResponse(await run_in_threadpool(call, project, args, user))

    return endpoint


def install(app: FastAPI, projects: Projects) -> None:
    """Serve the endpoints under both prefixes; their refusals in MLflow's shape."""
    from fastapi import APIRouter, Depends

    def authorized(request: Request) -> None:
        permissions.authorize(projects, request)

    api = APIRouter(tags=["MLflow model registry"])
    for method, path, _ in permissions.MLFLOW_REGISTRY_ROUTES:
        endpoint = _endpoint(projects, HANDLERS[(method, path)])
        for prefix in permissions.MLFLOW_PREFIXES:
            api.add_api_route(
                prefix + path,
                endpoint,
                methods=[method],
                summary=f"MLflow {method} {path}",
                # MLflow's REST API, as MLflow documents it (its protos): lineal's OpenAPI
                # schema describes lineal's own API, which schemathesis holds to it.
                include_in_schema=False,
                dependencies=[Depends(authorized)],
            )
    app.include_router(api)
