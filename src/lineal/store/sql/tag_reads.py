"""The Store protocol's questions about tags, answered in SQL: the tags of one node, every node
holding a tag, and the runs and values found beside a tag. A part of SqlStore (mixed into
it beside SqlReads), kept apart by concept."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from lineal.store.sql import queries

if TYPE_CHECKING:
    from lineal.store.sql.projections import Sql


class SqlTagReads:
    """``tags``, ``tagged``, ``finished_runs_tagged`` and ``tag_values_beside``."""

    if TYPE_CHECKING:  # SqlStore's
        _lock: threading.RLock

        def sql(self) -> Sql: ...

    def tags(self, node: str) -> dict[str, str]:
        with self._lock:
            return queries.tags(self.sql(), node)

    def tagged(self, key: str) -> dict[str, str]:
        with self._lock:
            return queries.tagged(self.sql(), key)

    def finished_runs_tagged(self, key: str, value: str, *, without: str) -> list[str]:
        from lineal.store.sql import run_queries

        with self._lock:
            return run_queries.finished_runs_tagged(self.sql(), key, value, without=without)

    def tag_values_beside(self, key: str, *, where_key: str, where_value: str) -> list[str]:
        from lineal.store.sql import run_queries

        with self._lock:
            return run_queries.tag_values_beside(
                self.sql(), key, where_key=where_key, where_value=where_value
            )
