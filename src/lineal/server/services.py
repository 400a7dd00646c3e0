"""The service endpoints: what the CLI answers, over HTTP, one request per question.

``GET /api/v1/projects/{project}/upstream?ref=…`` and its siblings call the same service the
CLI command calls, on ``Lineal(store)`` for the project's store, and answer that result's one
``as_dict()``: the body is what ``lineal … --json`` prints, except that NaN and infinities
are the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (JSON has no such numbers).
Lineage answers also come as ``as_columns()`` (``?columns=true``, ``--format columns``).
Nothing here reads the store itself.

The server has no workspace: no `lineal.toml` (the policy in force is the one the ledger holds,
from `lineal policy apply`), no object cache (verify reports its objects as not checked; a
file-level diff of two dataset versions reads their manifests from the project's objects, where
`lineal push` put them) and no kept checkpoints.
"""

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

# Imported only by lineal.server.routes.router, when the server is built: FastAPI is there.
# No ``from __future__ import annotations``: FastAPI reads the parameter types below.
from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from lineal.client import Lineal
from lineal.model.entities import MAX_LIMIT
from lineal.store import wire_json

if TYPE_CHECKING:
    from lineal.lineage.graph import Graph
    from lineal.server.app import Projects

#: Text without NUL (which no database column holds), as the store routes take it.
_TEXT = "^[^\\x00]*$"
_REF = "a reference: KIND/NAME[@vN|@sha256:HEX], KIND/NAME:ALIAS, run/ULID, sha256:HEX"
Ref = Annotated[str, Query(min_length=1, pattern=_TEXT, description=_REF)]
Text = Annotated[str | None, Query(pattern=_TEXT)]
Depth = Annotated[
    int | None, Query(ge=0, le=MAX_LIMIT, description="follow at most this many edges")
]
Kinds = Annotated[
    list[str] | None,
    Query(description="show only nodes of these kinds (and the roots); may repeat"),
]
AsOf = Annotated[
    str | None,
    Query(
        pattern=_TEXT,
        description="as the store stood then: a ledger seq, an ISO-8601 time or a date",
    ),
]
Columns = Annotated[
    bool,
    Query(
        description="nodes and edges as lists of values per field, edges naming nodes by "
        "position (`--format columns`): compact for a big answer"
    ),
]
Format = Annotated[
    Literal["json", "columns", "dot", "mermaid", "tree"],
    Query(
        description="json (default), columns (as columns=true), or as text/plain: dot "
        "(Graphviz), mermaid, tree (`lineal upstream --format …`)"
    ),
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="at most this many")]
Where = Annotated[
    str | None,
    Query(pattern=_TEXT, description="a run filter, e.g. metrics.acc > 0.9 and uses(…)"),
]
Points = Annotated[
    int | None, Query(ge=1, le=MAX_LIMIT, description="at most N points a key, extremes kept")
]
Shown = Annotated[
    list[str] | None, Query(description="inputs, outputs, params or metrics; may repeat")
]
Named = Annotated[str, Path(min_length=1, pattern=_TEXT, description="NAME, NAME@vN or NAME:ALIAS")]
Obj = dict[str, Any]
Objs = list[dict[str, Any]]


def _finite(value: Any) -> Any:
    """``value`` with each NaN or infinity spelled as JSON tools read it."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def encode(body: Any, *, floats: bool = True) -> bytes:
    """A result's ``as_dict()`` as strict JSON (non-finite numbers as words); ``floats=False``
    when it holds no float, as a lineage Graph's does (orjson may then write it: see
    lineal.store.wire_json)."""
    try:
        return wire_json.dumps(body, floats=floats)
    except ValueError:  # a NaN somewhere: walk once more, spelling it
        return wire_json.dumps(_finite(body))


def _answer(body: Any, *, floats: bool = True) -> Response:
    # JSON-shaped already: a Response spares FastAPI's jsonable_encoder walk.
    return Response(encode(body, floats=floats), media_type="application/json")


def _graph(found: "Graph", columns: bool, fmt: str = "json") -> Response:
    if fmt in ("dot", "mermaid", "tree"):  # the text `lineal upstream --format …` prints
        if fmt == "tree":
            text = "\n".join(found.to_tree()) + "\n"
        else:
            text = found.to_dot() if fmt == "dot" else found.to_mermaid()
        return Response(text, media_type="text/plain; charset=utf-8")
    # A lineage answer holds no float (text, integers, None): its JSON comes from its columns.
    columns = columns or fmt == "columns"
    return Response(found.to_json(columns=columns), media_type="application/json")


#: The lineage endpoints' answers: JSON (or ``format=dot|mermaid|tree``: text).
_LINEAGE_TEXT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {"schema": {"type": "string"}}}}
}


def router(projects: "Projects", objects: str | None = None) -> APIRouter:
    """The service endpoints, under ``/projects/{project}/``; a file-level diff of two dataset
    versions reads their manifests from the projects' objects under URL ``objects``."""
    from lineal.served_objects import ServedObjects

    api = APIRouter()
    served = None if objects is None else ServedObjects(objects, projects.store)

    def repo(project: str) -> Lineal:
        return Lineal(projects.store(project))

    def get(path: str, summary: str, returns: Any, **more: Any) -> Callable[[Any], Any]:
        return api.get(
            f"/projects/{{project}}/{path}",
            summary=summary,
            response_model=returns,
            **more,
        )

    @get("show", "An artifact or run in full (`lineal show --json`)", Obj)
    def show(project: str, ref: Ref) -> Any:
        from lineal.quality.show import show

        return _answer(show(repo(project), ref))

    @get("artifacts", "Named artifacts: latest version, versions, aliases (`lineal ls`)", Objs)
    def artifacts(project: str, kind: Text = None) -> Any:
        from lineal.registry.listing import named_artifacts

        return _answer([one.as_dict() for one in named_artifacts(repo(project), kind)])

    from lineal.server.catalog_services import catalog_routes
    from lineal.server.quality_services import quality_routes
    from lineal.server.report_services import report_routes
    from lineal.server.run_services import run_routes

    for routes in (run_routes, catalog_routes, quality_routes, report_routes):
        routes(get, repo)

    @get("query", "A cross-run question (`lineal query --json`)", Obj)
    def query(
        project: str,
        where: Annotated[str, Query(min_length=1, pattern=_TEXT, description="a run filter")],
        show: Shown = None,
        limit: Limit = 50,
    ) -> Any:
        from lineal.tracking.query import query

        return _answer(query(repo(project), where, show=show or (), limit=limit).as_dict())

    @get("upstream", "Where REF came from (`lineal upstream --json`)", Obj, responses=_LINEAGE_TEXT)
    def upstream(
        project: str,
        ref: Ref,
        depth: Depth = None,
        kind: Kinds = None,
        as_of: AsOf = None,
        columns: Columns = False,
        format: Format = "json",
    ) -> Any:
        from lineal.lineage.queries import upstream

        found = upstream(repo(project), ref, depth=depth, kinds=kind, as_of=as_of)
        return _graph(found, columns, format)

    @get(
        "downstream", "What REF fed into (`lineal downstream --json`)", Obj, responses=_LINEAGE_TEXT
    )
    def downstream(
        project: str,
        ref: Ref,
        depth: Depth = None,
        kind: Kinds = None,
        as_of: AsOf = None,
        columns: Columns = False,
        format: Format = "json",
    ) -> Any:
        from lineal.lineage.queries import downstream

        found = downstream(repo(project), ref, depth=depth, kinds=kind, as_of=as_of)
        return _graph(found, columns, format)

    @get(
        "path",
        "Every node on a path from A down to B (`lineal path --json`)",
        Obj,
        responses=_LINEAGE_TEXT,
    )
    def path(
        project: str,
        a: Ref,
        b: Ref,
        as_of: AsOf = None,
        columns: Columns = False,
        format: Format = "json",
    ) -> Any:
        from lineal.lineage.queries import path

        return _graph(path(repo(project), a, b, as_of=as_of), columns, format)

    @get("diff", "What differs upstream of two runs or models (`lineal diff --json`)", Obj)
    def diff(project: str, a: Ref, b: Ref) -> Any:
        from lineal.errors import InvalidInput
        from lineal.lineage import diff

        opened = repo(project)
        if diff.is_file_diff(opened, a, b):
            reader = projects.manifests(project)
            if reader is None and served is not None:
                reader = served.manifests(project)
            if reader is None:
                raise InvalidInput(
                    f"{a} and {b} are dataset versions: their file-level diff needs their "
                    "manifests, and this server keeps no objects",
                    hint=f"run `lineal diff {a} {b}` where the versions are pulled",
                )
            from lineal.datasets import diff_versions

            old, new, changes = diff_versions(opened, a, b, reader)
            return _answer({"a": old.ref, "b": new.ref, **changes.as_dict()})
        return _answer(diff.diff(opened, a, b).as_dict())

    @get("models/{ref}", "A model's versions, evaluations, upstream (`lineal model show`)", Obj)
    def model(project: str, ref: Named) -> Any:
        from lineal.registry.show import show

        return _answer(show(repo(project), ref))

    @get("models/{name}/history", "Alias holders and promotions (`lineal model history`)", Obj)
    def history(project: str, name: Named, as_of: AsOf = None) -> Any:
        from lineal.registry.promote import history

        return _answer(history(repo(project), name, as_of=as_of))

    @get("models/{ref}/check", "A version's policy checks (`lineal policy check --json`)", Objs)
    def check(project: str, ref: Named, alias: Text = None) -> Any:
        from lineal.registry.promote import check_version

        return _answer(check_version(repo(project), ref, alias))

    @get("aliases", "Aliases held now and what each names (`lineal alias list`)", Objs)
    def aliases(
        project: str,
        target: Annotated[str | None, Query(pattern=_TEXT, description="KIND/NAME or KIND")] = None,
    ) -> Any:
        from lineal.registry.aliases import list_aliases

        return _answer([one.as_dict() for one in list_aliases(repo(project), target)])

    @get("log", "Ledger records, newest first (`lineal log --json`)", Objs)
    def log(project: str, limit: Limit = 50, op: Text = None) -> Any:
        return _answer(list(repo(project).log(limit=limit, op=op)))

    @get("verify", "Check the ledger and its projections (`lineal verify --json`)", Obj)
    def verify(project: str) -> Any:
        from lineal.verification import verify

        return _answer(verify(repo(project)).as_dict())

    @get("checkpoint", "A Merkle tree head over the ledger, signed by the server", Obj)
    def checkpoint(project: str) -> Any:
        return _answer(repo(project).checkpoint())

    audit_routes(api, projects)
    return api


Since = Annotated[
    str | None,
    Query(pattern=_TEXT, description="from then on: an ISO date or time, or an age: 30d, 12h"),
]
Until = Annotated[
    str | None, Query(pattern=_TEXT, description="up to then: an ISO date or time, or an age")
]


def audit_routes(api: APIRouter, projects: "Projects") -> None:
    """``/projects/{project}/audit`` (and ``/audit``: the server's own log, of requests under
    no project), each with its export as JSON lines."""
    from fastapi.responses import StreamingResponse

    from lineal import audit

    class JsonLines(StreamingResponse):
        media_type = "application/x-ndjson"

    def log_of(project: str | None) -> Any:
        if project is None:  # every log: a request to an unknown project ends up here
            projects.flush_audit()
            return projects.server_log()
        projects.flush_audit(project)  # this worker's queued rows first
        return projects.store(project)

    def read(
        project: str | None,
        agent: Text,
        ref: Text,
        since: Since,
        until: Until,
        limit: Limit,
    ) -> Any:
        found = audit.read(
            log_of(project), agent=agent, ref=ref, since=since, until=until, limit=limit
        )
        return _answer(found.as_dict())

    def export(project: str | None) -> Any:
        lines = audit.export_lines(log_of(project))
        return JsonLines(lines)

    summary = "Who read or changed what, when (`lineal audit --json`)"

    @api.get("/projects/{project}/audit", summary=summary, response_model=Obj)
    def project_audit(
        project: str,
        agent: Text = None,
        ref: Text = None,
        since: Since = None,
        until: Until = None,
        limit: Limit = 100,
    ) -> Any:
        return read(project, agent, ref, since, until, limit)

    export_summary = "The whole audit log as JSON lines (`lineal audit export`)"

    @api.get("/projects/{project}/audit/export", summary=export_summary, response_class=JsonLines)
    def project_export(project: str) -> Any:
        return export(project)

    @api.get("/audit", summary=summary + ": requests under no project", response_model=Obj)
    def server_audit(
        agent: Text = None,
        ref: Text = None,
        since: Since = None,
        until: Until = None,
        limit: Limit = 100,
    ) -> Any:
        return read(None, agent, ref, since, until, limit)

    @api.get(
        "/audit/export",
        summary=export_summary + ": requests under no project",
        response_class=JsonLines,
    )
    def server_export() -> Any:
        return export(None)
