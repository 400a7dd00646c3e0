# mypy: disable-error-code="no-any-return"
"""HttpStore: the Store protocol answered by a `lineal server` project over HTTP.

``http(s)://HOST:PORT/projects/NAME`` is the project NAME of that server; each read is one
request to ``/api/v1/projects/NAME/store/METHOD`` (see lineal.store.wire); writes are signed
batches through a durable local spool (lineal.store.http_writes). httpx is imported only here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from lineal.errors import (
    InvalidInput,
    MissingExtra,
    PermissionDenied,
    StoreUnavailable,
    Unauthenticated,
)
from lineal.store import wire, wire_errors, wire_json
from lineal.store.http_access import HttpAccess
from lineal.store.http_writes import SpooledWrites

if TYPE_CHECKING:
    from lineal.ledger.chain import Commit, Record
    from lineal.ledger.keys import Signer
    from lineal.model.entities import Agent, Artifact, Edge, Run
    from lineal.model.filters import Expr
    from lineal.model.refs import Ref
    from lineal.model.series import Series
    from lineal.store.base import Answer, Closure, Columns, Receipt, RunMatches, VerifyReport

_URI = re.compile(
    r"(?P<base>https?://[^/?#]+)(?P<prefix>/[^?#]*?)?/projects/(?P<project>[^/?#]+)/?"
)
#: Seconds to wait for a connection and for an answer (verify on a big ledger takes a while).
TIMEOUT = (10.0, 600.0)


def parse_uri(uri: str) -> tuple[str, str]:
    """``(API base URL, project)`` of ``http(s)://HOST[:PORT][/PREFIX]/projects/NAME``."""
    match = _URI.fullmatch(uri)
    if match is None:
        raise InvalidInput(
            f"bad server URI {uri!r}: expected http(s)://HOST:PORT/projects/NAME",
            hint="e.g. LINEAL_URI=http://127.0.0.1:8470/projects/vision",
        )
    prefix = match["prefix"] or ""
    return f"{match['base']}{prefix}/api/v1/projects/{match['project']}", match["project"]


def store_url(uri: str) -> str:
    """The URL a server project's token is saved under: ``http(s)://HOST:PORT/projects/NAME``
    whether written so or as its API address (``…/api/v1/projects/NAME``)."""
    api, _ = parse_uri(uri.replace("/api/v1/projects/", "/projects/"))
    return api.replace("/api/v1/projects/", "/projects/")


def auth_headers(uri: str, token: str | None = None) -> dict[str, str]:
    """The Authorization header for the server project at ``uri``: ``token``, else
    $LINEAL_TOKEN, else the one `lineal login` saved (none: the project must be open)."""
    from lineal.store import credentials

    token = token or credentials.token(store_url(uri))
    return {"authorization": f"Bearer {token}"} if token else {}


class HttpStore(HttpAccess, SpooledWrites):
    """A project on a lineal server: reads over HTTP, writes through the spool."""

    def __init__(self, uri: str, signer: Signer | None = None, *, create: bool = False) -> None:
        try:
            import httpx
        except ImportError as exc:
            raise MissingExtra("httpx", "server") from exc
        self.uri = uri
        self.signer = signer
        self.unsigned: tuple[str, str] | None = None
        self._base, self.project = parse_uri(uri)
        if create:
            raise PermissionDenied(
                f"cannot create a store through a lineal server ({uri})",
                hint=f"on the server: `lineal server project create {self.project}`",
            )
        connect, read = TIMEOUT
        self._client = httpx.Client(
            timeout=httpx.Timeout(read, connect=connect), headers=auth_headers(uri)
        )
        self._init_writes()
        try:  # fails now, clearly, if the server or the project is not there
            self.schema_version()
        except Unauthenticated:
            pass  # there, but asks for a token: each call says so (and `lineal login` sends one)
        except StoreUnavailable:
            if signer is None:  # a reader needs the server; a writer spools meanwhile
                self._client.close()
                raise
        except BaseException:
            self._client.close()
            raise

    # -- the one request ----------------------------------------------------------------
    def _call(self, method: str, **args: Any) -> Any:
        import httpx

        verb, _ = wire.READS[method]
        body = wire.encode_args(method, args)
        pending = self._block_ops() if method != "verify" else []
        if pending and self.signer is not None:  # inside an open block: its writes are seen
            tried = self._trial(pending, self.signer, (method, body))
            if tried is not None:
                return wire.decode_result(method, tried["result"])
        self._read_your_writes()
        url = f"{self._base}/store/{method}"
        try:
            if verb == "GET":
                answer = self._client.get(url, params=body)
            else:
                answer = self._client.post(url, json=body)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        if answer.status_code >= 400:
            self._fail(answer)
        return wire_json.decode_answer(method, answer.content)

    def _post(
        self, path: str, *, method: str = "POST", token: str | None = None, **kwargs: Any
    ) -> Any:
        """One request to ``{project}{path}`` (with ``token`` instead of the store's own, if
        given); its JSON answer, or the error it says."""
        import httpx

        headers = {"content-type": "application/octet-stream"} if "content" in kwargs else {}
        if token is not None:
            headers.update(auth_headers(self.uri, token))
        try:
            answer = self._client.request(method, self._base + path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        if answer.status_code >= 400:
            self._fail(answer)
        return answer.json()

    def _unreachable(self, exc: Exception) -> StoreUnavailable:
        spooled = ""
        if self._spool is not None or self._adopted:
            batches, size = self.spooled()
            spooled = f"; {batches} batches ({size} bytes) are spooled and will be sent then"
        return StoreUnavailable(
            f"cannot reach the lineal server at {self._base}: {exc}{spooled}",
            hint="start it (`lineal server`), or fix LINEAL_URI / the uri in "
            ".lineal/config.toml; `lineal sync --status` shows what is spooled",
        )

    def submit(self, body: bytes) -> Receipt:
        """Send one signed batch now and wait for the server's receipt (no spool)."""
        from lineal.store.base import Receipt

        (answer,) = self._post("/batches", content=body)["receipts"]
        if not answer["ok"]:
            raise wire_errors.to_error(answer)
        return Receipt(
            batch=answer["batch"],
            first_seq=answer["first_seq"],
            last_seq=answer["last_seq"],
            duplicate=answer["duplicate"],
            refs=tuple(answer.get("refs", ())),
        )

    def trial(self, body: bytes, read: tuple[str, dict[str, Any]] | None = None) -> dict[str, Any]:
        """The server's trial of a signed batch and a read after it (see Store.trial)."""
        import json

        asked = None if read is None else {"method": read[0], "args": read[1]}
        return self._post("/trial", content=json.dumps(asked).encode() + b"\n" + body)

    def _fail(self, answer: Any) -> NoReturn:
        try:
            body = answer.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "code" not in body:
            raise StoreUnavailable(
                f"the lineal server at {self._base} answered HTTP {answer.status_code} "
                "without a lineal error",
                hint="is this URL a lineal server? check LINEAL_URI",
            )
        raise wire_errors.to_error(body)

    # -- the ledger -----------------------------------------------------------------------
    def head(self) -> tuple[int, str]:
        return self._call("head")

    def records(
        self,
        *,
        after: int = 0,
        limit: int | None = None,
        op: str | None = None,
        newest_first: bool = False,
    ) -> Iterator[Record]:
        found = self._call("records", after=after, limit=limit, op=op, newest_first=newest_first)
        return iter(found)

    def commits(self) -> Iterator[Commit]:
        return iter(self._call("commits"))

    def leaf_hashes(self, size: int | None = None) -> list[bytes]:
        return self._call("leaf_hashes", size=size)

    def agents(self) -> list[Agent]:
        return self._call("agents")

    def verify(self) -> VerifyReport:
        return self._call("verify")

    def schema_version(self) -> int:
        return self._call("schema_version")

    def close(self) -> None:
        try:
            self._close_writes()
        finally:
            self._client.close()

    # -- artifacts and references -------------------------------------------------------
    def resolve(self, ref: Ref) -> Artifact | Run:
        return self._call("resolve", ref=ref)

    def edges(self, node: str) -> list[Edge]:
        return self._call("edges", node=node)

    def run_details(self, run_id: str) -> dict[str, Any]:
        return self._call("run_details", run_id=run_id)

    def artifact_details(self, artifact: Artifact) -> dict[str, Any]:
        return self._call("artifact_details", artifact=artifact)

    def get_run(self, run_id: str) -> Run:
        return self._call("get_run", run_id=run_id)

    def unnamed(self, digest: str) -> Artifact | None:
        return self._call("unnamed", digest=digest)

    def holders(self, digest: str) -> list[Artifact]:
        return self._call("holders", digest=digest)

    def version_of(self, kind: str, name: str, digest: str) -> int | None:
        return self._call("version_of", kind=kind, name=name, digest=digest)

    def tags(self, node: str) -> dict[str, str]:
        return self._call("tags", node=node)

    def labels(self, nodes: Iterable[str]) -> dict[str, tuple[str, str]]:
        return self._call("labels", nodes=nodes)

    def presence(
        self, nodes: Iterable[str], edges_of: Iterable[str] = ()
    ) -> tuple[dict[str, str], list[Edge]]:
        return self._call("presence", nodes=nodes, edges_of=edges_of)

    def names(self, kind: str) -> list[str]:
        return self._call("names", kind=kind)

    def versions(self, kind: str, name: str) -> list[tuple[int, str, int]]:
        return self._call("versions", kind=kind, name=name)

    def artifacts(self, kind: str | None = None) -> list[Artifact]:
        return self._call("artifacts", kind=kind)

    def latest_versions(self, kind: str | None = None) -> list[tuple[str, str, int, str, int]]:
        return self._call("latest_versions", kind=kind)

    # -- aliases and the registry -------------------------------------------------------
    def held_aliases(
        self, kind: str | None = None, name: str | None = None
    ) -> list[tuple[str, str, str, int, int]]:
        return self._call("held_aliases", kind=kind, name=name)

    def alias_holders(
        self, kind: str, name: str | None, as_of: int | None = None
    ) -> list[tuple[str, str, str, int]]:
        return self._call("alias_holders", kind=kind, name=name, as_of=as_of)

    def promotions(self, name: str, as_of: int | None = None) -> list[dict[str, Any]]:
        return self._call("promotions", name=name, as_of=as_of)

    def approvals(self, name: str, digest: str, alias: str) -> list[tuple[str, str, int]]:
        return self._call("approvals", name=name, digest=digest, alias=alias)

    def role_holders(self, as_of: int | None = None) -> list[tuple[str, str, str | None, int]]:
        return self._call("role_holders", as_of=as_of)

    def policy_record(self, as_of: int | None = None) -> dict[str, Any] | None:
        return self._call("policy_record", as_of=as_of)

    # -- lineage ------------------------------------------------------------------------
    def seq_at_time(self, when: str) -> int:
        return self._call("seq_at_time", when=when)

    def resolve_at(
        self, ref: Ref, as_of: int | None = None, *, every_version: bool = False
    ) -> list[str]:
        return self._call("resolve_at", ref=ref, as_of=as_of, every_version=every_version)

    def agent_at(self, name: str, as_of: int | None = None) -> str:
        return self._call("agent_at", name=name, as_of=as_of)

    def subgraph(
        self,
        roots: Sequence[str],
        *,
        upstream: bool,
        depth: int | None = None,
        as_of: int | None = None,
    ) -> Answer:
        return self._call("subgraph", roots=roots, upstream=upstream, depth=depth, as_of=as_of)

    def path_subgraph(
        self, sources: Sequence[str], target: str, as_of: int | None = None
    ) -> Columns:
        return self._call("path_subgraph", sources=sources, target=target, as_of=as_of)

    def closure(
        self, root: str, *, upstream: bool, depth: int | None = None, as_of: int | None = None
    ) -> Closure:
        return self._call("closure", root=root, upstream=upstream, depth=depth, as_of=as_of)

    # -- runs ---------------------------------------------------------------------------
    def search_runs(
        self, expr: Expr | None, *, limit: int | None = None, with_meta: bool = True
    ) -> RunMatches:
        return self._call("search_runs", expr=expr, limit=limit, with_meta=with_meta)

    def runs_page(
        self,
        expr: Expr | None,
        *,
        sort: str | None = None,
        offset: int = 0,
        limit: int | None = None,
        with_meta: bool = True,
    ) -> tuple[list[Run], int]:
        return self._call(
            "runs_page", expr=expr, sort=sort, offset=offset, limit=limit, with_meta=with_meta
        )

    def timeline_events(self, events: Sequence[str], limit: int) -> list[dict[str, Any]]:
        return self._call("timeline_events", events=list(events), limit=limit)

    def run_keys(self) -> dict[str, list[str]]:
        return self._call("run_keys")

    def metric_series(
        self,
        run_id: str,
        key: str | None = None,
        *,
        max_points: int | None = None,
        from_step: int | None = None,
        to_step: int | None = None,
    ) -> dict[str, Series]:
        return self._call(
            "metric_series",
            run_id=run_id,
            key=key,
            max_points=max_points,
            from_step=from_step,
            to_step=to_step,
        )

    def crashed_runs(self) -> list[str]:
        return self._call("crashed_runs")

    def finished_runs_tagged(self, key: str, value: str, *, without: str) -> list[str]:
        return self._call("finished_runs_tagged", key=key, value=value, without=without)

    def tag_values_beside(self, key: str, *, where_key: str, where_value: str) -> list[str]:
        return self._call(
            "tag_values_beside", key=key, where_key=where_key, where_value=where_value
        )

    def tagged(self, key: str, as_of: int | None = None) -> list[tuple[str, str, int]]:
        return self._call("tagged", key=key, as_of=as_of)

    # -- redaction ----------------------------------------------------------------------
    def redactions(self, subject: str | None = None) -> list[dict[str, Any]]:
        return self._call("redactions", subject=subject)

    def erasable(self, subjects: Sequence[str]) -> list[tuple[int, str, str]]:
        return self._call("erasable", subjects=list(subjects))
