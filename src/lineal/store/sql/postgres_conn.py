"""The PostgreSQL store's connection, guarded: what the driver raises for a transient failure
(a lost connection, a deadlock, a serialisation failure, a cancelled query, the server
shutting down) leaves the store as StoreUnavailable, one line with a hint, never as the
driver's own exception (a traceback in the CLI, a 500 from a server); and a connection found
broken is replaced on its next use, so the store works again once PostgreSQL answers.

Every statement of the store goes through it: ``execute`` and the cursors it returns (in a
pipeline an error surfaces when an answer is read), server-side cursors, and the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from lineal.errors import StoreUnavailable

_HINT = (
    "a transient failure of PostgreSQL (a lost connection, a deadlock, a restart): retry; a "
    "write lands whole or not at all"
)


@contextmanager
def guarded(where: str) -> Iterator[None]:
    """Within: the driver's transient errors become StoreUnavailable naming ``where``."""
    import psycopg

    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = lines[0] if lines else type(exc).__name__
        raise StoreUnavailable(f"PostgreSQL at {where}: {reason}", hint=_HINT) from exc


class GuardedCursor:
    """A cursor whose reads raise StoreUnavailable for a transient failure."""

    __slots__ = ("_cursor", "_where")

    def __init__(self, cursor: Any, where: str) -> None:
        self._cursor = cursor
        self._where = where

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    @property
    def itersize(self) -> int:
        return int(self._cursor.itersize)

    @itersize.setter
    def itersize(self, value: int) -> None:
        self._cursor.itersize = value

    def execute(self, query: str, params: Sequence[Any] | None = None) -> GuardedCursor:
        with guarded(self._where):
            self._cursor.execute(query, params)
        return self

    def executemany(self, query: str, rows: Sequence[Sequence[Any]]) -> None:
        with guarded(self._where):
            self._cursor.executemany(query, rows)

    def fetchone(self) -> Any:
        with guarded(self._where):
            return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        with guarded(self._where):
            return list(self._cursor.fetchall())

    def __iter__(self) -> Iterator[Any]:
        rows = iter(self._cursor)
        while True:
            with guarded(self._where):
                row = next(rows, _END)
            if row is _END:
                return
            yield row

    def __enter__(self) -> GuardedCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        with guarded(self._where):
            self._cursor.close()


_END = object()


class GuardedPipeline:
    """psycopg's pipeline context, its sync and exit guarded."""

    __slots__ = ("_context", "_pipe", "_where")

    def __init__(self, context: Any, where: str) -> None:
        self._context = context
        self._where = where
        self._pipe: Any = None

    def __enter__(self) -> GuardedPipeline:
        with guarded(self._where):
            self._pipe = self._context.__enter__()
        return self

    def sync(self) -> None:
        with guarded(self._where):
            self._pipe.sync()

    def __exit__(self, *exc: Any) -> None:
        with guarded(self._where):
            self._context.__exit__(*exc)


class GuardedConnection:
    """A psycopg connection (autocommit) that is opened again when found broken."""

    def __init__(self, connect: Callable[[], Any], where: str) -> None:
        self._connect = connect
        self._where = where
        self.raw = connect()

    def _live(self) -> Any:
        # Only between statements: a connection lost inside a transaction failed that
        # transaction's statement, which raised; what runs next (its ROLLBACK, the next
        # call) starts afresh on a new connection.
        if self.raw.broken:
            self.raw = self._connect()
        return self.raw

    @property
    def info(self) -> Any:
        return self._live().info

    @property
    def broken(self) -> bool:
        return bool(self.raw.broken)

    def execute(self, query: str, params: Sequence[Any] | None = None) -> GuardedCursor:
        raw = self._live()
        with guarded(self._where):
            return GuardedCursor(raw.execute(query, params), self._where)

    def cursor(self, name: str = "") -> GuardedCursor:
        raw = self._live()
        with guarded(self._where):
            return GuardedCursor(raw.cursor(name=name) if name else raw.cursor(), self._where)

    def pipeline(self) -> GuardedPipeline:
        return GuardedPipeline(self._live().pipeline(), self._where)

    def close(self) -> None:
        self.raw.close()
