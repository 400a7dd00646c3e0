"""The Store protocol's questions about tags, answered in SQL (a part of SqlStore kept apart by
concept): the tags of one node, every node holding a tag as of any seq (so a past moment's tags
are read as they stood then), the runs and values found beside a tag, and the classifications
upstream of a node, which a promotion's record is checked against.

Reads only; the tags projection (project_tags) is written elsewhere.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from lineal.model.classification import TAG, classes
from lineal.store.sql import queries

if TYPE_CHECKING:
    from lineal.store.sql.projections import Sql


def tagged(db: Sql, key: str, as_of: int | None = None) -> list[tuple[str, str, int]]:
    """``(node, value, seq)`` of every node holding tag ``key`` at ``as_of`` (None: now), in
    the order the values were set."""
    where: str = "until_seq IS NULL"
    args: list[object] = [key]
    if as_of is not None:
        where, args = "seq <= ? AND (until_seq IS NULL OR until_seq > ?)", [key, as_of, as_of]
    rows = db.all(
        f"SELECT target, value, seq FROM tags WHERE key = ? AND {where} ORDER BY seq, target",
        args,
    )
    return [(str(node), str(value), int(seq)) for node, value, seq in rows]


#: The nodes upstream of one node (and it), then their classification tags as they stand.
_UPSTREAM_TAGS = (
    "WITH RECURSIVE up(node) AS (SELECT ? UNION SELECT e.parent FROM edges e "
    "JOIN up ON e.child = up.node) "
    "SELECT t.target, t.value FROM tags t JOIN up ON t.target = up.node "
    "WHERE t.key = ? AND t.until_seq IS NULL ORDER BY t.seq, t.target"
)


def classified_upstream(db: Sql, node: str, deny: Iterable[str]) -> list[tuple[str, str]]:
    """``(node, class)`` of each class among ``deny`` that ``node`` or a node upstream of it
    is tagged with, as the projections stand (in a replay: as they stood at that record)."""
    wanted = {name.lower() for name in deny}
    rows = db.all(_UPSTREAM_TAGS, (node, TAG))
    return [
        (str(target), name) for target, value in rows for name in classes(value) if name in wanted
    ]


class SqlTagReads:
    """``tags``, ``tagged``, ``finished_runs_tagged`` and ``tag_values_beside``."""

    if TYPE_CHECKING:  # SqlStore's
        _lock: threading.RLock

        def sql(self) -> Sql: ...

    def tags(self, node: str) -> dict[str, str]:
        with self._lock:
            return queries.tags(self.sql(), node)

    def tagged(self, key: str, as_of: int | None = None) -> list[tuple[str, str, int]]:
        with self._lock:
            return tagged(self.sql(), key, as_of)

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
