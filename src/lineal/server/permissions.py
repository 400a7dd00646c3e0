"""Who may call what: the one table of the role each route needs, and the check every request
passes before its endpoint runs (a FastAPI dependency on every router; the OpenLineage
ingest routes finish theirs where their events are written, see ``deferred`` and ``admit``).

A project with no token at all is open (anyone acts as today); once it has one, every request
to it needs a token of that project (``Authorization: Bearer …``), active, whose role holds the
route's. Fails closed: a route missing from the table is refused (and fails the test suite).
Never logs, stores or echoes a token's secret.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from lineal.errors import LinealError, PermissionDenied, Unauthenticated
from lineal.model import tokens
from lineal.model.grants import ADMIN, CONTRIBUTOR, VIEWER
from lineal.server import mlflow_routes
from lineal.store import wire

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import Request

    from lineal.model.tokens import TokenInfo
    from lineal.server.app import Projects


class TokenStore(Protocol):
    """The two questions a request's check asks of its project's store."""

    def has_tokens(self) -> bool: ...
    def authenticate(self, token: str) -> TokenInfo: ...


API = "/api/v1"
P = f"{API}/projects/{{project}}"
#: Anyone, with or without a token (nothing of a project's own).
PUBLIC = "public"
#: The server's own audit log (requests under no project): served only while every project is
#: open (a single machine's server); once one has tokens, read on the server machine.
SERVER_LOG = "server log"
#: Route prefixes that name no project and act on the server's default one
#: (`lineal server --project NAME`): OpenLineage's Marquez-style endpoint and MLflow's REST API.
DEFAULT_PROJECT_ROUTES = (f"{API}/lineage", "/api/2.0/")
#: Marks the routes whose body carries batches: the role is at least the table's, raised to
#: the highest any op in the batch needs (lineal.model.tokens.op_role).
BATCH = "+ops"

#: MLflow's REST API: on the server's default project, and on the project a path names
#: (``MLFLOW_TRACKING_URI=http://HOST:PORT/api/v1/projects/P/mlflow``).
MLFLOW_PREFIXES = ("/api/2.0/mlflow", f"{P}/mlflow/api/2.0/mlflow")
#: MLflow's model registry and logged models (lineal.server.mlflow_registry_routes), under
#: each of MLFLOW_PREFIXES: reads viewer, writes contributor. An alias or stage move that
#: the project's promotion policy protects is refused by the service, whatever the role.
MLFLOW_REGISTRY_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("POST", "/registered-models/create", CONTRIBUTOR),
    ("GET", "/registered-models/get", VIEWER),
    ("POST", "/registered-models/rename", CONTRIBUTOR),
    ("PATCH", "/registered-models/update", CONTRIBUTOR),
    ("DELETE", "/registered-models/delete", CONTRIBUTOR),
    ("GET", "/registered-models/search", VIEWER),
    ("POST", "/registered-models/set-tag", CONTRIBUTOR),
    ("DELETE", "/registered-models/delete-tag", CONTRIBUTOR),
    ("POST", "/registered-models/alias", CONTRIBUTOR),
    ("DELETE", "/registered-models/alias", CONTRIBUTOR),
    ("GET", "/registered-models/alias", VIEWER),
    ("POST", "/registered-models/get-latest-versions", VIEWER),
    ("GET", "/registered-models/get-latest-versions", VIEWER),
    ("POST", "/model-versions/create", CONTRIBUTOR),
    ("GET", "/model-versions/get", VIEWER),
    ("PATCH", "/model-versions/update", CONTRIBUTOR),
    ("POST", "/model-versions/transition-stage", CONTRIBUTOR),
    ("DELETE", "/model-versions/delete", CONTRIBUTOR),
    ("GET", "/model-versions/search", VIEWER),
    ("GET", "/model-versions/get-download-uri", VIEWER),
    ("POST", "/model-versions/set-tag", CONTRIBUTOR),
    ("DELETE", "/model-versions/delete-tag", CONTRIBUTOR),
    ("POST", "/logged-models", CONTRIBUTOR),
    ("POST", "/logged-models/search", VIEWER),
    ("GET", "/logged-models/{model_id}", VIEWER),
    ("PATCH", "/logged-models/{model_id}", CONTRIBUTOR),
    ("DELETE", "/logged-models/{model_id}", CONTRIBUTOR),
    ("PATCH", "/logged-models/{model_id}/tags", CONTRIBUTOR),
    ("DELETE", "/logged-models/{model_id}/tags/{tag_key}", CONTRIBUTOR),
    ("POST", "/logged-models/{model_id}/params", CONTRIBUTOR),
)

#: (method, route path) -> the role it needs (viewer < contributor < approver < admin), or
#: PUBLIC. The project list is public: names are not a project's data, and a client needs
#: them before it holds any project's token.
ROUTES: dict[tuple[str, str], str] = {
    ("GET", f"{API}/health"): PUBLIC,
    ("GET", f"{API}/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", f"{API}/projects"): PUBLIC,
    # Every read of the Store protocol (lineal.store.wire.READS): reads only, by construction.
    **{(verb, f"{P}/store/{method}"): VIEWER for method, (verb, _) in wire.READS.items()},
    # The services the CLI answers (lineal.server.services): reads.
    **{
        ("GET", f"{P}/{path}"): VIEWER
        for path in (
            "show",
            "artifacts",
            "runs",
            "runs/columns",
            "metrics",
            "series",
            "timeline",
            "query",
            "upstream",
            "downstream",
            "path",
            "diff",
            "models/{ref}",
            "models/{name}/history",
            "models/{ref}/check",
            "models/{ref}/approvals",
            "policy",
            "policy/check",
            "schema",
            "schema/diff",
            "scene",
            "scene/diff",
            "dataset/stats",
            "classified",
            "drift",
            "drift/recorded",
            "health",
            "stale",
            "report",
            "aliases",
            "log",
            "verify",
            "checkpoint",
        )
    },
    # Writes: signed batches (and their trial), run heartbeats, object uploads.
    ("POST", f"{P}/batches"): CONTRIBUTOR + BATCH,
    ("POST", f"{P}/trial"): CONTRIBUTOR + BATCH,
    ("POST", f"{P}/beats"): CONTRIBUTOR,
    ("DELETE", f"{P}/beats/{{run_id}}"): CONTRIBUTOR,
    ("POST", f"{P}/objects/missing"): VIEWER,
    ("HEAD", f"{P}/objects/sha256/{{hexdigest}}"): VIEWER,
    ("GET", f"{P}/objects/sha256/{{hexdigest}}"): VIEWER,
    ("PUT", f"{P}/objects/sha256/{{hexdigest}}"): CONTRIBUTOR,
    # The audit log: its rows and signed heads are who did what (admin); whether its chain
    # holds (counts and the first bad seq, no row's content) is a reader's question, as
    # `lineal verify` asks it.
    ("GET", f"{P}/store/audit_rows"): ADMIN,
    ("GET", f"{P}/store/audit_heads"): ADMIN,
    ("GET", f"{P}/audit"): ADMIN,
    ("GET", f"{P}/audit/export"): ADMIN,
    ("GET", f"{API}/audit"): SERVER_LOG,
    ("GET", f"{API}/audit/export"): SERVER_LOG,
    # Tokens: who am I (any valid token), and managing them (admin).
    ("GET", f"{P}/whoami"): VIEWER,
    ("GET", f"{P}/tokens"): ADMIN,
    ("POST", f"{P}/tokens"): ADMIN,
    ("DELETE", f"{P}/tokens/{{token_id}}"): ADMIN,
    **{
        (method, prefix + path): role
        for prefix in MLFLOW_PREFIXES
        for method, path, role in MLFLOW_REGISTRY_ROUTES
    },
    # MLflow's tracking REST API, on the default project and under a named one
    # (lineal.server.mlflow_routes): its reads a viewer's, its writes a contributor's.
    **{
        route: VIEWER if reads else CONTRIBUTOR
        for route, reads in mlflow_routes.route_paths().items()
    },
    # OpenLineage events (lineal.server.openlineage): the server records them.
    ("POST", f"{API}/lineage"): CONTRIBUTOR,
    ("POST", f"{API}/lineage/batch"): CONTRIBUTOR,
    ("POST", f"{P}/lineage"): CONTRIBUTOR,
    ("POST", f"{P}/lineage/batch"): CONTRIBUTOR,
}
_LOGIN = "run `lineal login URL` with a token an admin of the project made (or set LINEAL_TOKEN)"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as (``request.state.principal``): the token's agent, public id and
    role; all None for an anonymous request (``open``: to an open project). Never the secret."""

    agent: str | None = None
    token_id: str | None = None
    role: str | None = None
    open: bool = False


ANONYMOUS = Principal()


def needed(method: str, path: str) -> str | None:
    """The table's entry for a route (a HEAD asks what its GET needs), or None."""
    rule = ROUTES.get((method, path))
    if rule is None and method == "HEAD":
        rule = ROUTES.get(("GET", path))
    return rule


def route_path(request: Request) -> str:
    """The path template of the route a request matched, with the API prefix (every router
    of the app is included under it; FastAPI may hand over the route without the prefix)."""
    path = str(getattr(request.scope.get("route"), "path", request.url.path))
    return path if path.startswith("/api/") else API + path


def project_of(projects: Projects, request: Request) -> str:
    """The project a request is for: its path's, else the server's default project (for the
    routes that name none, such as `POST /api/v1/lineage` and `/api/2.0/mlflow/…`)."""
    return str(request.path_params.get("project") or projects.default)


def authorize(projects: Projects, request: Request) -> Principal:
    """Refuse the request (401/403) unless its token may call its route; who it acts as."""
    return admit(projects, deferred(projects, request), projects.store)


@dataclass(frozen=True, slots=True)
class Deferred:
    """What a request's check still needs of its project's database: the header read, the
    token (None: none sent) whose role must hold ``role``, or whether the project is open.
    ``principal`` is who it acts as when no check is left (a public route)."""

    request: Request
    project: str
    role: str
    token: str | None
    principal: Principal | None = None


def deferred(projects: Projects, request: Request) -> Deferred:
    """The checks of a request that need no database (the route's entry in the table, the
    header's form), refusing it (401/403) at once when one fails; what is left to ask the
    database: :func:`admit` asks it (the ingest routes ask it where their events are
    written, once for a whole group of requests)."""
    request.state.principal = ANONYMOUS
    path = route_path(request)
    rule = needed(request.method, path)
    if rule is None:
        raise PermissionDenied(
            f"no permission is declared for {request.method} {path}",
            hint="add the route to lineal.server.permissions.ROUTES",
        )
    if rule == PUBLIC:
        return Deferred(request, "", rule, None, ANONYMOUS)
    if rule == SERVER_LOG:
        if projects.allow_open and all(projects.is_open(name) for name in projects.names()):
            return Deferred(request, "", rule, None, ANONYMOUS)
        raise PermissionDenied(
            "the server's own audit log is not served once a project has tokens",
            hint="read it on the server machine: LINEAL_URI=SERVER_LOG_URI lineal audit "
            "(FOLDER/_server.db beside SQLite projects, database DB__server beside PostgreSQL)",
        )
    project = project_of(projects, request)
    header = request.headers.get("authorization")
    if header is None:
        return Deferred(request, project, rule.removesuffix(BATCH), None)
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("expected the header Authorization: Bearer TOKEN", hint=_LOGIN)
    request.state.principal = Principal(token_id=tokens.public_id(token))
    return Deferred(request, project, rule.removesuffix(BATCH), token)


def admit(
    projects: Projects,
    pending: Deferred,
    store_of: Callable[[str], TokenStore],
    asked: dict[str | None, Any] | None = None,
) -> Principal:
    """Finish :func:`deferred`'s check with the project's database (``store_of(project)``
    answers ``has_tokens`` and ``authenticate``): who the request acts as, else 401/403.
    ``asked``: the answers already read for other requests of the same group (by token;
    None for whether the project has any), each read once."""
    if pending.principal is not None:
        return pending.principal
    request, project, role, token = pending.request, pending.project, pending.role, pending.token
    asked = {} if asked is None else asked
    if token is None:
        if project in projects.closed:
            is_open = False
        else:
            if None not in asked:
                asked[None] = projects.note_tokens(project, store_of(project).has_tokens())
            is_open = not asked[None]
        if not is_open:
            raise Unauthenticated(f"project {project} needs a token", hint=_LOGIN)
        if not projects.allow_open:
            raise Unauthenticated(
                f"project {project} has no token yet, and this server serves no open project",
                hint=f"on the server machine: lineal token create --uri SERVER_URI --project "
                f"{project} --agent YOU --role admin",
            )
        request.state.principal = anyone = Principal(open=True)
        return anyone
    if token not in asked:
        try:
            asked[token] = store_of(project).authenticate(token)
        except LinealError as exc:
            asked[token] = exc
    info = asked[token]
    if isinstance(info, LinealError):
        raise copy.copy(info)  # each request raises its own
    principal = Principal(agent=info.agent, token_id=info.id, role=info.role)
    request.state.principal, request.state.token = principal, info
    if not tokens.at_least(info.role, role):
        raise PermissionDenied(
            f"{request.method} {route_path(request)} needs role {role}; token {info.id} of "
            f"{info.agent} has role {info.role}",
            hint=f"ask an admin of project {project} for a token with role {role}",
        )
    return principal


def check_batches(principal: Principal, lines: list[bytes]) -> None:
    """Refuse (403) batches the request's token may not send: one signed by another agent
    than the token's, or holding an op that needs a role above the token's. Anonymous on an
    open project: no check (the ledger's own checks still apply)."""
    if principal.open:
        return
    for line in lines:
        found = wire.batch_ops(line)
        if found is None:
            continue  # not a batch: submit refuses it, appending nothing
        agent, records = found
        if agent != principal.agent:
            raise PermissionDenied(
                f"a batch signed as {agent} was sent with token {principal.token_id} of "
                f"{principal.agent}; a token writes only as its own agent",
                hint=f"sign with {principal.agent}'s key, or log in with a token of {agent}",
            )
        needs = [(op, tokens.op_role(op, payload, agent)) for op, payload in records]
        role = tokens.highest([need for _, need in needs])
        if not tokens.at_least(principal.role, role):
            ops = sorted({op for op, need in needs if need == role})
            raise PermissionDenied(
                f"{', '.join(ops)} needs role {role}; token {principal.token_id} of "
                f"{principal.agent} has role {principal.role}",
                hint=f"ask an admin of the project for a token with role {role}",
            )
