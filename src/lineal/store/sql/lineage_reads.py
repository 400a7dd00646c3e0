"""The Store protocol's lineage reads in SQL: references as of a seq, walks answered from the
lineage index (lineal.store.sql.adjacency), and verify's check of that index. Mixed into
SqlReads; each method a thin call into the query modules under the store's lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lineal.store import liveness

if TYPE_CHECKING:
    import threading

    from lineal.model.refs import Ref
    from lineal.store.base import Answer, Closure, Columns, VerifyReport
    from lineal.store.sql.adjacency import Adjacency
    from lineal.store.sql.projections import Sql


class LineageReads:
    """Lineage reads over ``self.sql()``."""

    _lock: threading.RLock
    _lineage_index: Adjacency | None = None

    if TYPE_CHECKING:  # the store this is mixed into provides it

        def sql(self) -> Sql: ...

    # -- lineage ------------------------------------------------------------------------
    def seq_at_time(self, when: str) -> int:
        from lineal.store.sql import lineage_queries

        with self._lock:
            return lineage_queries.seq_at_time(self.sql(), when)

    def resolve_at(
        self, ref: Ref, as_of: int | None = None, *, every_version: bool = False
    ) -> list[str]:
        from lineal.store.sql import lineage_queries

        with self._lock:
            return lineage_queries.resolve_at(self.sql(), ref, as_of, every_version=every_version)

    def agent_at(self, name: str, as_of: int | None = None) -> str:
        from lineal.store.sql import lineage_queries

        with self._lock:
            return lineage_queries.agent_at(self.sql(), name, as_of)

    def subgraph(
        self,
        roots: Sequence[str],
        *,
        upstream: bool,
        depth: int | None = None,
        as_of: int | None = None,
    ) -> Answer:
        return self.subgraph_columns(roots, upstream=upstream, depth=depth, as_of=as_of).answer()

    def subgraph_columns(
        self,
        roots: Sequence[str],
        *,
        upstream: bool,
        depth: int | None = None,
        as_of: int | None = None,
    ) -> Columns:
        """``subgraph``'s answer in columns, from the lineage index."""
        from lineal.store.sql import index_queries

        with self._lock:
            return index_queries.index_subgraph(
                self.sql(), self.lineage_index(), roots, upstream=upstream, depth=depth, as_of=as_of
            )[0]

    def path_subgraph(
        self, sources: Sequence[str], target: str, as_of: int | None = None
    ) -> Columns:
        from lineal.store.sql import index_queries

        with self._lock:
            return index_queries.index_path(
                self.sql(), self.lineage_index(), sources, target, as_of
            )

    def lineage_index(self) -> Adjacency:
        """This store's lineage index (lineal.store.sql.adjacency), made on first use; on
        SQLite kept in a file beside the database. Callers hold the store's lock and refresh
        it before use."""
        index = self._lineage_index
        if index is None:
            from pathlib import Path

            from lineal.store.sql.adjacency import SUFFIX, Adjacency

            path = getattr(self, "path", None)
            on_disk = isinstance(path, str) and path not in ("", ":memory:")
            index = Adjacency(Path(f"{path}{SUFFIX}") if on_disk else None)
            self._lineage_index = index
        return index

    def closure(
        self, root: str, *, upstream: bool, depth: int | None = None, as_of: int | None = None
    ) -> Closure:
        from lineal.model.entities import check_agent_name
        from lineal.model.refs import parse

        if root.startswith("agent/"):
            roots = [self.agent_at(check_agent_name(root[len("agent/") :]), as_of)]
        else:
            roots = self.resolve_at(parse(root), as_of, every_version=not upstream)
        from lineal.store.sql import index_queries, run_queries

        # The running runs' heartbeats go with the description of the answer's nodes: one
        # round trip, whether or not the answer holds a running run.
        also = [(run_queries.RUNNING_BEATS, ())] if as_of is None else []
        with self._lock:
            answer, beats = index_queries.index_subgraph(
                self.sql(), self.lineage_index(), roots, upstream=upstream, depth=depth,
                as_of=as_of, also=also,
            )  # fmt: skip
        running = as_of is None and "running" in answer.status
        return roots, answer, liveness.crashed(run_queries.beats(beats[0])) if running else []

    def _check_lineage_index(self, report: VerifyReport) -> VerifyReport:
        from dataclasses import replace

        from lineal.ledger.verify import Problem
        from lineal.store.sql import adjacency_check

        found = adjacency_check.check(self.sql(), self.lineage_index())
        return report if found is None else replace(report, problem=Problem(*found))
