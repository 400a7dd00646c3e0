"""Run heartbeats, outside the ledger: a run's process says it is alive, so a crash is told
from a stale beat (lineal.store.liveness reads them). A part of SqlStore, kept apart by
concept."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lineal.store.sql import projections


class SqlHeartbeats:
    """``beat`` and ``forget_beat`` of the Store protocol, over SqlStore's transactions."""

    if TYPE_CHECKING:  # SqlStore's
        _lock: threading.RLock
        _depth: int

        def sql(self) -> projections.Sql: ...

        def _begin_write(self) -> None: ...

        def _end(self, *, commit: bool) -> None: ...

    def beat(self, run_id: str, host: str, pid: int, process_start: str | None) -> None:
        """Note that ``run_id``'s process is alive now (a crash is told from a stale beat)."""
        self._liveness(
            "INSERT INTO heartbeats (run_id, host, pid, process_start, beat) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET beat = excluded.beat",
            (run_id, host, pid, process_start, datetime.now(UTC).timestamp()),
        )

    def forget_beat(self, run_id: str) -> None:
        self._liveness("DELETE FROM heartbeats WHERE run_id = ?", (run_id,))

    def _liveness(self, sql: str, params: Sequence[Any]) -> None:
        with self._lock:
            if self._depth:  # inside a write transaction: ride along with it
                self.sql().execute(sql, params)
                return
            self._write_beside(sql, params)

    def _write_beside(self, sql: str, params: Sequence[Any]) -> None:
        """Write one row outside the ledger in a transaction of its own (a backend hook: one
        that can, writes it without waiting for the chain head, which it does not touch)."""
        self._begin_write()
        try:
            self.sql().execute(sql, params)
        except BaseException:
            self._end(commit=False)
            raise
        self._end(commit=True)
