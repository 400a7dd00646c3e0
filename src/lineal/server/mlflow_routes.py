"""MLflow's tracking REST API on the server: training code with ``MLFLOW_TRACKING_URI`` pointed
at lineal records into lineal, unchanged.

``/api/2.0/mlflow/…`` acts on the server's default project (`lineal server --project`), and
``/api/v1/projects/{project}/mlflow/api/2.0/mlflow/…`` on a named one (tracking URI
``http://HOST:PORT/api/v1/projects/P/mlflow``); artifacts travel through
``…/api/2.0/mlflow-artifacts/artifacts/…`` into the project's object store. Each endpoint
calls one service of lineal.interop.mlflow_api*; failures answer MLflow's ``{"error_code",
"message"}`` (lineal.interop.mlflow_errors). Writes are appended by the server, signed with its
agent; the MLflow user is kept in the run's meta and tags.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from lineal.client import Lineal
from lineal.errors import LinealError
from lineal.interop import mlflow_api as experiments
from lineal.interop import mlflow_api_artifacts as artifacts
from lineal.interop import mlflow_api_logging as logging_
from lineal.interop import mlflow_api_runs as runs
from lineal.interop import mlflow_api_search as search
from lineal.interop import mlflow_errors
from lineal.model.digests import PREFIX
from lineal.served_objects import CHUNK, ServedObjects
from lineal.server.signatures import sign

if TYPE_CHECKING:
    from fastapi import APIRouter, Request
    from fastapi.responses import Response

    from lineal.server.app import Projects

#: Where each project's MLflow surface is: the default project's, and a named one's.
ROOTS = ("", "/api/v1/projects/{project}/mlflow")
TRACKING = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
Handler = Callable[[Lineal, Mapping[str, Any], str | None], Any]


def _user_of(call: Callable[[Lineal, Mapping[str, Any]], Any]) -> Handler:
    return lambda repo, body, user: call(repo, body)


#: (method, path under /api/2.0/mlflow) -> the service answering it.
ENDPOINTS: dict[tuple[str, str], Handler] = {
    ("POST", "experiments/create"): _user_of(experiments.create_experiment),
    ("GET", "experiments/get"): _user_of(experiments.get_experiment),
    ("GET", "experiments/get-by-name"): _user_of(experiments.get_experiment_by_name),
    ("POST", "experiments/search"): _user_of(experiments.search_experiments),
    ("GET", "experiments/search"): _user_of(experiments.search_experiments),
    ("POST", "experiments/update"): _user_of(experiments.rename_experiment),
    ("POST", "experiments/delete"): lambda r, b, u: experiments.set_stage(r, b, "deleted"),
    ("POST", "experiments/restore"): lambda r, b, u: experiments.set_stage(r, b, "active"),
    ("POST", "experiments/set-experiment-tag"): _user_of(experiments.set_experiment_tag),
    ("POST", "experiments/delete-experiment-tag"): lambda r, b, u: experiments.set_experiment_tag(
        r, b, delete=True
    ),
    ("POST", "runs/create"): lambda r, b, u: runs.create_run(r, b, user=u),
    ("GET", "runs/get"): _user_of(runs.get_run),
    ("POST", "runs/update"): _user_of(runs.update_run),
    ("POST", "runs/delete"): lambda r, b, u: runs.set_run_stage(r, b, "deleted"),
    ("POST", "runs/restore"): lambda r, b, u: runs.set_run_stage(r, b, "active"),
    ("POST", "runs/search"): _user_of(search.search_runs),
    ("POST", "runs/log-metric"): _user_of(logging_.log_metric),
    ("POST", "runs/log-batch"): _user_of(logging_.log_batch),
    ("POST", "runs/log-parameter"): _user_of(runs.log_param),
    ("POST", "runs/set-tag"): _user_of(runs.set_tag),
    ("POST", "runs/delete-tag"): lambda r, b, u: runs.set_tag(r, b, delete=True),
    ("POST", "runs/log-inputs"): _user_of(logging_.log_inputs),
    ("GET", "metrics/get-history"): _user_of(logging_.metric_history),
}
#: The routes that only read (a viewer's); every other one writes (a contributor's).
READS = frozenset(
    path for (method, path) in ENDPOINTS if method == "GET" or path.endswith("/search")
) | {"metrics/get-history-bulk-interval"}


def route_paths() -> dict[tuple[str, str], bool]:
    """Every route of this module as (method, path template) -> whether it only reads (for
    lineal.server.permissions.ROUTES)."""
    found: dict[tuple[str, str], bool] = {}
    for root in ROOTS:
        for method, path in ENDPOINTS:
            found[(method, f"{root}{TRACKING}/{path}")] = path in READS
        found[("GET", f"{root}{TRACKING}/metrics/get-history-bulk-interval")] = True
        found[("GET", f"{root}{ARTIFACTS}")] = True
        found[("GET", f"{root}{ARTIFACTS}/{{artifact_path:path}}")] = True
        found[("PUT", f"{root}{ARTIFACTS}/{{artifact_path:path}}")] = False
    return found


def _error(exc: LinealError) -> Response:
    from fastapi.responses import JSONResponse

    return JSONResponse(mlflow_errors.error_body(exc), status_code=mlflow_errors.status_of(exc))


def _user(request: Request) -> str | None:
    principal = getattr(request.state, "principal", None)
    return getattr(principal, "agent", None)


def router(projects: Projects, objects_url: str) -> APIRouter:
    """The MLflow routes of the projects in ``projects``, their artifacts under ``objects_url``."""
    from fastapi import APIRouter

    # MLflow documents this API (its REST reference): not in lineal's own OpenAPI schema.
    api = APIRouter(include_in_schema=False)
    served = ServedObjects(objects_url, projects.store)
    for root in ROOTS:
        for (method, path), handler in ENDPOINTS.items():
            _tracking(api, projects, f"{root}{TRACKING}/{path}", method, handler)
        _bulk(api, projects, f"{root}{TRACKING}/metrics/get-history-bulk-interval")
        _artifacts(api, projects, served, f"{root}{ARTIFACTS}")
    return api


def _project(projects: Projects, project: str | None) -> str:
    return project or projects.default


def _tracking(api: APIRouter, projects: Projects, path: str, method: str, handler: Handler) -> None:
    from fastapi import Request
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool

    async def endpoint(request: Request) -> Response:
        try:
            if method == "GET":
                body: Any = dict(request.query_params)
            else:
                raw = await request.body()
                body = _json(raw)
            repo = Lineal(projects.store(_project(projects, request.path_params.get("project"))))
            answer = await run_in_threadpool(handler, repo, body, _user(request))
        except LinealError as exc:
            return _error(exc)
        return JSONResponse(answer)

    sign(endpoint, request=Request)
    name = path.rsplit(TRACKING, 1)[1]
    api.add_api_route(
        path,
        endpoint,
        methods=[method],
        summary=f"MLflow {name}",
        response_class=JSONResponse,
        operation_id=_operation(method, path),
    )


def _operation(method: str, path: str) -> str:
    return "mlflow_" + "".join(c if c.isalnum() else "_" for c in f"{method}_{path}")


def _json(raw: bytes) -> dict[str, Any]:
    import json

    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise mlflow_errors.MlflowError(
            "MALFORMED_REQUEST", "the request body is not JSON"
        ) from None
    if not isinstance(body, dict):
        raise mlflow_errors.MlflowError("MALFORMED_REQUEST", "the request body is not an object")
    return body


def _bulk(api: APIRouter, projects: Projects, path: str) -> None:
    from fastapi import Request
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool

    async def bulk(request: Request) -> Response:
        query: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            query.setdefault(key, []).append(value)
        try:
            repo = Lineal(projects.store(_project(projects, request.path_params.get("project"))))
            answer = await run_in_threadpool(logging_.metric_history_bulk, repo, query)
        except LinealError as exc:
            return _error(exc)
        return JSONResponse(answer)

    sign(bulk, request=Request)
    api.add_api_route(
        path,
        bulk,
        methods=["GET"],
        summary="MLflow metric history of many runs",
        operation_id=_operation("GET", path),
    )


def _artifacts(api: APIRouter, projects: Projects, served: ServedObjects, path: str) -> None:
    from fastapi import Request
    from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
    from starlette.concurrency import run_in_threadpool

    def repo_of(request: Request) -> tuple[str, Lineal]:
        project = _project(projects, request.path_params.get("project"))
        return project, Lineal(projects.store(project))

    async def listing(request: Request) -> Response:
        try:
            _, repo = repo_of(request)
            where = request.query_params.get("path") or ""
            answer = await run_in_threadpool(artifacts.listing, repo, where)
        except LinealError as exc:
            return _error(exc)
        return JSONResponse(answer)

    async def download(request: Request, artifact_path: str) -> Response:
        try:
            project, repo = repo_of(request)
            found = await run_in_threadpool(artifacts.find, repo, artifact_path)
            remote, digest = await run_in_threadpool(
                served.require, project, found.digest.removeprefix(PREFIX)
            )
        except LinealError as exc:
            return _error(exc)
        local = remote.local_file(digest)
        if local is not None:
            return FileResponse(local, media_type="application/octet-stream")
        stream = remote.open_object(digest)

        def pieces() -> Any:
            with stream:
                while piece := stream.read(CHUNK):
                    yield piece

        return StreamingResponse(pieces(), media_type="application/octet-stream")

    async def upload(request: Request, artifact_path: str) -> Response:
        try:
            project, repo = repo_of(request)
            # A bad path or a run that takes no artifacts is refused before the bytes are read.
            await run_in_threadpool(artifacts.check_upload, repo, artifact_path)
            with tempfile.SpooledTemporaryFile(max_size=CHUNK) as spool:
                hasher, size, pending = hashlib.sha256(), 0, bytearray()
                async for piece in request.stream():
                    hasher.update(piece)
                    size += len(piece)
                    pending += piece
                    if len(pending) >= CHUNK:  # the disk is written off the event loop
                        await run_in_threadpool(spool.write, bytes(pending))
                        pending.clear()
                await run_in_threadpool(spool.write, bytes(pending))
                digest = PREFIX + hasher.hexdigest()
                spool.seek(0)
                await run_in_threadpool(_keep, served, project, digest, spool)
            await run_in_threadpool(artifacts.record, repo, artifact_path, digest, size)
        except LinealError as exc:
            return _error(exc)
        return JSONResponse({})

    sign(listing, request=Request)
    sign(download, request=Request, artifact_path=str)
    sign(upload, request=Request, artifact_path=str)
    each = f"{path}/{{artifact_path:path}}"
    api.add_api_route(
        path,
        listing,
        methods=["GET"],
        summary="MLflow: list a run's artifacts",
        operation_id=_operation("GET", path),
    )
    api.add_api_route(
        each,
        download,
        methods=["GET"],
        summary="MLflow: download an artifact",
        operation_id=_operation("GET", each),
    )
    api.add_api_route(
        each,
        upload,
        methods=["PUT"],
        summary="MLflow: upload an artifact",
        operation_id=_operation("PUT", each),
    )


def _keep(served: ServedObjects, project: str, digest: str, spool: Any) -> None:
    """Keep the bytes in ``spool`` as object ``digest`` of ``project`` (if not kept already)."""
    remote = served.remote(project)
    if remote.has(digest):
        return
    with served.arrival(remote, digest) as arrival:
        while piece := spool.read(CHUNK):
            arrival.write(piece)
        arrival.finish()
