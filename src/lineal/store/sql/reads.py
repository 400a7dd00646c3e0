"""The Store protocol's questions, answered in SQL: one method per question, each a thin call
into the query modules under a lock (a store is shared by the threads of one process).

Mixed into SqlStore; the query modules take a projections.Sql and never know about stores.
Lineage, run and search queries load on first use (a `lineal status` needs none of them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from lineal.ledger.chain import GENESIS, Commit, Record, record_hash
from lineal.model.entities import Agent
from lineal.store import liveness
from lineal.store.sql import catalog, grants, queries
from lineal.store.sql.lineage_reads import LineageReads

if TYPE_CHECKING:
    import threading

    from lineal.model.entities import Artifact, Edge, Run
    from lineal.model.filters import Expr
    from lineal.model.refs import Ref
    from lineal.model.series import Series
    from lineal.store.base import RunMatches, VerifyReport
    from lineal.store.sql.projections import Sql


#: The chain head: the last record's seq and hash.
HEAD = "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1"
#: The ledger's columns, in Record's field order.
RECORD_COLUMNS = "seq, time, author, op, payload_digest, hash, payload"
COMMIT_COLUMNS = (
    "last_seq, last_hash, author, key_id, sig, batch, server, server_key_id, server_sig"
)


def commit_of(row: Sequence[Any]) -> Commit:
    s, h, a, k, g, batch, server, server_key_id, server_sig = row
    return Commit(
        last_seq=s,
        last_hash=h,
        author=a,
        key_id=k,
        sig=g,
        batch=batch,
        server=server,
        server_key_id=server_key_id,
        server_sig=server_sig,
    )


class SqlReads(LineageReads):
    """Reads of the Store protocol over ``self.sql()`` (the lineage ones: LineageReads)."""

    _lock: threading.RLock

    if TYPE_CHECKING:  # the store this is mixed into provides them

        def sql(self) -> Sql: ...
        def lenient(self) -> AbstractContextManager[None]: ...
        def _begin_read(self) -> None: ...
        def _end(self, *, commit: bool) -> None: ...
        def _stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]: ...

    # -- artifacts and references -------------------------------------------------------
    def resolve(self, ref: Ref) -> Artifact | Run:
        with self._lock:
            return queries.resolve(self.sql(), ref)

    def get_run(self, run_id: str) -> Run:
        with self._lock:
            return queries.get_run(self.sql(), run_id)

    def unnamed(self, digest: str) -> Artifact | None:
        with self._lock:
            return queries.unnamed(self.sql(), digest)

    def holders(self, digest: str) -> list[Artifact]:
        with self._lock:
            return queries.holders(self.sql(), digest)

    def version_of(self, kind: str, name: str, digest: str) -> int | None:
        with self._lock:
            return queries.version_of(self.sql(), kind, name, digest)

    def edges(self, node: str) -> list[Edge]:
        with self._lock:
            return queries.edges(self.sql(), node)

    def labels(self, nodes: Iterable[str]) -> dict[str, tuple[str, str]]:
        with self._lock:
            return queries.labels(self.sql(), nodes)

    def presence(
        self, nodes: Iterable[str], edges_of: Iterable[str] = ()
    ) -> tuple[dict[str, str], list[Edge]]:
        with self._lock:
            return queries.presence(self.sql(), nodes, edges_of)

    def run_details(self, run_id: str) -> dict[str, Any]:
        with self._lock:
            return queries.run_details(self.sql(), run_id)

    def artifact_details(self, artifact: Artifact) -> dict[str, Any]:
        with self._lock:
            return queries.artifact_details(self.sql(), artifact)

    def names(self, kind: str) -> list[str]:
        with self._lock:
            return queries.names(self.sql(), kind)

    def versions(self, kind: str, name: str) -> list[tuple[int, str, int]]:
        with self._lock:
            return queries.versions_with_seq(self.sql(), kind, name)

    def artifacts(self, kind: str | None = None) -> list[Artifact]:
        with self._lock:
            return queries.artifacts_of_kind(self.sql(), kind)

    def latest_versions(self, kind: str | None = None) -> list[tuple[str, str, int, str, int]]:
        with self._lock:
            return catalog.latest_versions(self.sql(), kind)

    # -- aliases and the registry -------------------------------------------------------
    def held_aliases(
        self, kind: str | None = None, name: str | None = None
    ) -> list[tuple[str, str, str, int, int]]:
        with self._lock:
            return catalog.held_aliases(self.sql(), kind, name)

    def alias_holders(
        self, kind: str, name: str | None, as_of: int | None = None
    ) -> list[tuple[str, str, str, int]]:
        with self._lock:
            return queries.alias_holders(self.sql(), kind, name, as_of)

    def promotions(self, name: str, as_of: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return queries.promotions(self.sql(), name, as_of)

    def approvals(self, name: str, digest: str, alias: str) -> list[tuple[str, str, int]]:
        with self._lock:
            return queries.approvals(self.sql(), name, digest, alias)

    def role_holders(self, as_of: int | None = None) -> list[tuple[str, str, str | None, int]]:
        with self._lock:
            return grants.role_holders(self.sql(), as_of)

    def policy_record(self, as_of: int | None = None) -> dict[str, Any] | None:
        with self._lock:
            return grants.policy_record(self.sql(), as_of)

    # -- runs ---------------------------------------------------------------------------
    def search_runs(
        self, expr: Expr | None, *, limit: int | None = None, with_meta: bool = True
    ) -> RunMatches:
        from lineal.store.sql import search

        with self._lock:
            return search.search_runs(
                self.sql(), expr, crashed=self.crashed_runs(), limit=limit, with_meta=with_meta
            )

    def runs_page(
        self,
        expr: Expr | None,
        *,
        sort: str | None = None,
        offset: int = 0,
        limit: int | None = None,
        with_meta: bool = True,
    ) -> tuple[list[Run], int]:
        from lineal.errors import InvalidInput
        from lineal.model.entities import check_limit
        from lineal.model.run_order import parse_order
        from lineal.store.sql import run_page

        order = parse_order(sort)
        limit = check_limit(limit)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InvalidInput(f"bad offset {offset!r}: expected 0 or more", hint="e.g. 100")
        with self._lock:
            return run_page.runs_page(
                self.sql(),
                expr,
                order,
                crashed=self.crashed_runs(),
                offset=offset,
                limit=limit,
                with_meta=with_meta,
            )

    def timeline_events(self, events: Sequence[str], limit: int) -> list[dict[str, Any]]:
        from lineal.errors import InvalidInput
        from lineal.model.entities import check_limit
        from lineal.store.sql import timeline

        unknown = [one for one in events if one not in timeline.EVENTS]
        if unknown or check_limit(limit) is None:
            raise InvalidInput(
                f"unknown timeline event {unknown[0]!r}" if unknown else "a timeline needs a limit",
                hint=f"events: {', '.join(timeline.EVENTS)}",
            )
        with self._lock:
            return timeline.timeline_events(self.sql(), events, limit)

    def run_keys(self) -> dict[str, list[str]]:
        from lineal.store.sql import run_page

        with self._lock:
            return run_page.run_keys(self.sql())

    def metric_series(
        self,
        run_id: str,
        key: str | None = None,
        *,
        max_points: int | None = None,
        from_step: int | None = None,
        to_step: int | None = None,
    ) -> dict[str, Series]:
        from lineal.store.sql import run_queries

        with self._lock:
            return run_queries.metric_series(
                self.sql(),
                run_id,
                key,
                from_step=from_step,
                to_step=to_step,
                max_points=max_points,
            )

    def crashed_runs(self) -> list[str]:
        from lineal.store.sql import run_queries

        with self._lock:
            return liveness.crashed(run_queries.running_beats(self.sql()))

    def redactions(self, subject: str | None = None) -> list[dict[str, Any]]:
        from lineal.store.sql import redaction_queries

        with self._lock:
            return redaction_queries.redactions(self.sql(), subject)

    def erasable(self, subjects: Sequence[str]) -> list[tuple[int, str, str]]:
        from lineal.store.sql import redaction_queries

        with self._lock:
            return redaction_queries.erasable(self.sql(), subjects)

    # -- reading -------------------------------------------------------------------------
    def head(self) -> tuple[int, str]:
        with self._lock:
            row = self.sql().one(HEAD)
            return (int(row[0]), str(row[1])) if row else (0, GENESIS)

    def records(
        self,
        *,
        after: int = 0,
        limit: int | None = None,
        op: str | None = None,
        newest_first: bool = False,
    ) -> Iterator[Record]:
        where, params = ["seq > ?"], [after]
        if op is not None:
            where.append("op = ?")
            params.append(op)  # type: ignore[arg-type]
        order = "DESC" if newest_first else "ASC"
        sql = (
            f"SELECT {RECORD_COLUMNS} FROM ledger WHERE {' AND '.join(where)} ORDER BY seq {order}"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock, self.lenient():
            rows = self.sql().all(sql, params)
        for seq, time, author, name, digest, hashed, payload in rows:
            yield Record(
                seq=seq,
                time=time,
                author=author,
                op=name,
                payload_digest=digest,
                hash=hashed,
                payload=None if payload is None else bytes(payload),
            )

    def commits(self) -> Iterator[Commit]:
        with self._lock, self.lenient():
            rows = self.sql().all(f"SELECT {COMMIT_COLUMNS} FROM commits ORDER BY last_seq")
        yield from (commit_of(row) for row in rows)

    def leaf_hashes(self, size: int | None = None) -> list[bytes]:
        # Recomputed from the record fields, not read from the stored ``hash`` column: a
        # checkpoint must notice a record edited in place without its hash being redone.
        sql = "SELECT seq, time, author, op, payload_digest FROM ledger ORDER BY seq"
        if size is not None:
            sql += f" LIMIT {int(size)}"
        with self._lock, self.lenient():
            rows = self.sql().all(sql)
        leaves, prev = [], GENESIS
        for seq, time, author, op, payload_digest in rows:
            prev = record_hash(prev, seq, time, author, op, payload_digest)
            leaves.append(bytes.fromhex(prev))
        return leaves

    def agents(self) -> list[Agent]:
        with self._lock:
            rows = self.sql().all(
                "SELECT name, public_key, seq, until_seq, ended, reason FROM agents "
                "ORDER BY seq, name"
            )
        return [
            Agent(name=n, public_key=k, seq=s, until_seq=u, ended=e, reason=r)
            for n, k, s, u, e, r in rows
        ]

    # -- verify --------------------------------------------------------------------------
    def verify(self) -> VerifyReport:
        from lineal.store.sql.replay import check_ledger

        with self._lock, self.lenient():
            self._begin_read()
            try:
                report = check_ledger(self.sql(), self._stream)
                if report.ok:  # the edges table is the ledger's: the index must equal it
                    report = self._check_lineage_index(report)
                return report
            finally:
                self._end(commit=False)
