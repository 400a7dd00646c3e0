"""The embedded store: one SQLite file (WAL), safe for many writing processes at once.

Never lets "database is locked" reach a caller while the lock can still be won.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from lineal.errors import IntegrityError, InvalidInput, StoreUnavailable
from lineal.store.sql.base import SqlStore
from lineal.store.sql.migrations import SQLITE_TYPES

if TYPE_CHECKING:
    from lineal.ledger.keys import Signer

#: How long a writer waits for the write lock before giving up (seconds).
LOCK_TIMEOUT = 300.0


#: SQLite's result codes for a damaged file (SQLITE_CORRUPT) and one that is no database at
#: all (SQLITE_NOTADB): no retry helps, only a good copy.
_DAMAGED = (11, 26)


def is_damaged(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says the database file is damaged or is no database."""
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in _DAMAGED


def damaged(exc: sqlite3.Error, path: str | None) -> IntegrityError:
    """The error a damaged database file gets: what it is, and how to recover."""
    return IntegrityError(
        f"{path or 'the SQLite store'} is damaged: {exc}",
        hint="restore it from a backup, or from a copy another machine holds (sqlite3's "
        "`.recover` may save what is left), then run `lineal verify`",
    )


def _reraise(exc: sqlite3.DatabaseError, conn: sqlite3.Connection) -> NoReturn:
    """Raise ``exc`` again, or the damaged-store error it means."""
    if not is_damaged(exc):
        raise exc
    try:
        row = conn.execute("PRAGMA database_list").fetchone()  # reads no page of the file
    except sqlite3.Error:
        row = None
    raise damaged(exc, str(row[2]) if row and row[2] else None) from exc


class SqliteSql:
    """projections.Sql over a sqlite3 connection; a damaged file says so, with the fix."""

    __slots__ = ("conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            return self.conn.execute(sql, params).rowcount
        except sqlite3.DatabaseError as exc:
            _reraise(exc, self.conn)

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        try:
            row: tuple[Any, ...] | None = self.conn.execute(sql, params).fetchone()
        except sqlite3.DatabaseError as exc:
            _reraise(exc, self.conn)
        return row

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            _reraise(exc, self.conn)

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.DatabaseError as exc:
            _reraise(exc, self.conn)

    def any_of(
        self, sql: str, values: Sequence[Any], params: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        # In chunks: SQLite caps a statement's placeholders.
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            rows += self.all(sql.format(", ".join("?" * len(chunk))), (*params, *chunk))
        return rows

    def any_of_each(
        self, queries: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[list[tuple[Any, ...]]]:
        return [
            self.any_of(sql, values) if "IN ({})" in sql else self.all(sql, values)
            for sql, values in queries
        ]


# A tampered byte can leave invalid UTF-8 behind; keep reading so verify can name the seq.
# (A partial of the C method: no Python frame per text value, which bulk reads feel.)
_lenient_text = functools.partial(bytes.decode, encoding="utf-8", errors="surrogateescape")


def connect(
    path: str, *, timeout: float = LOCK_TIMEOUT, existing: bool = False
) -> sqlite3.Connection:
    """A connection in autocommit mode (we issue BEGIN ourselves), WAL, with a busy timeout;
    ``existing``: fail rather than create the file when it is not there."""
    target = f"file:{urllib.parse.quote(path)}?mode=rw" if existing else path
    conn = sqlite3.connect(
        target, timeout=timeout, isolation_level=None, check_same_thread=False, uri=existing
    )
    # Plain str decoding (C speed, which bulk reads feel); the readers that must survive a
    # tampered byte (verify, the ledger walks) switch to _lenient_text while they run.
    conn.text_factory = str
    conn.execute("PRAGMA journal_mode = WAL")
    # NORMAL in WAL mode: a process crash (even SIGKILL) never loses a committed transaction;
    # only a power cut can lose the last few, and never corrupts the file.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA cache_size = -65536")  # 64 MiB: index pages of large batches stay hot
    # Checkpoint the WAL every ~80 MB instead of ~4 MB: each checkpoint fsyncs, and with
    # digest-keyed indexes a batch dirties many pages, so frequent checkpoints halve throughput.
    conn.execute("PRAGMA wal_autocheckpoint = 20000")
    return conn


class SqliteStore(SqlStore):
    """Store in one SQLite database file (default ``.lineal/lineal.db``)."""

    types = SQLITE_TYPES

    def __init__(
        self,
        uri: str,
        signer: Signer | None = None,
        *,
        create: bool = False,
        audited: bool = True,
    ) -> None:
        super().__init__(uri, signer, audited=audited)
        self.path = path_from_uri(uri)
        if not create and not Path(self.path).exists():
            from lineal.errors import NotFound

            raise NotFound(f"no lineal store at {self.path}", hint="run `lineal init` first")
        try:
            self._conn = connect(self.path)
        except sqlite3.Error as exc:
            if is_damaged(exc):
                raise damaged(exc, self.path) from exc
            raise StoreUnavailable(
                f"cannot open SQLite store {self.path}: {exc}",
                hint="check the path and its permissions",
            ) from exc
        self._sql = SqliteSql(self._conn)
        try:
            if create:
                self.migrate()
            else:
                self._check_schema()
        except BaseException:
            self._conn.close()  # a damaged file: no connection left open behind the error
            raise

    def sql(self) -> SqliteSql:
        return self._sql

    def _fresh_connection(self) -> sqlite3.Connection:
        return connect(self.path, existing=True)  # never a new empty file where it was

    def _has_table(self, name: str) -> bool:
        row = self._sql.one(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        )
        return row is not None

    def _begin_write(self) -> None:
        # BEGIN IMMEDIATE takes the write lock up front, so a transaction never fails half way
        # with SQLITE_BUSY. sqlite's own busy handler waits `timeout`; we retry on top of it so
        # that bursts of many writers never surface "database is locked".
        deadline = time.monotonic() + LOCK_TIMEOUT
        delay = 0.001
        while True:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    _reraise(exc, self._conn)
                if time.monotonic() > deadline:
                    raise StoreUnavailable(
                        f"{self.path} stayed locked by another writer for {LOCK_TIMEOUT:.0f} s",
                        hint="find the process holding it (fuser) or retry later",
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
            except sqlite3.DatabaseError as exc:
                _reraise(exc, self._conn)
            else:
                return

    def _begin_read(self) -> None:
        self._sql.execute("BEGIN")

    def _scrub(self) -> None:
        # An UPDATE leaves the old bytes in freed space of the page, in freed overflow pages
        # and in the WAL (zeroed only where this SQLite was built with SECURE_DELETE). VACUUM
        # writes every live page afresh and drops the rest; the checkpoint then copies it into
        # the file and truncates the WAL, waiting (busy timeout) for readers of older
        # snapshots. Measured: without either, an erased tag's value stays in the file.
        self._conn.execute("VACUUM")
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _end(self, *, commit: bool) -> None:
        if self._conn.in_transaction:
            self._sql.execute("COMMIT" if commit else "ROLLBACK")

    def _stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        cursor = self._conn.cursor()
        cursor.arraysize = 4096
        try:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany():
                yield from rows
        except sqlite3.DatabaseError as exc:
            _reraise(exc, self._conn)

    def close(self) -> None:
        self._conn.close()

    @contextlib.contextmanager
    def lenient(self) -> Iterator[None]:
        """Read invalid UTF-8 (a tampered byte) as surrogate escapes instead of failing."""
        with self._lock:
            self._conn.text_factory = _lenient_text
            try:
                yield
            finally:
                self._conn.text_factory = str


def path_from_uri(uri: str) -> str:
    """``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` to a file path."""
    if not uri.startswith("sqlite:///"):
        raise InvalidInput(
            f"bad SQLite URI {uri!r}: expected sqlite:///PATH",
            hint="e.g. sqlite:///.lineal/lineal.db or sqlite:////abs/path/lineal.db",
        )
    path = uri[len("sqlite:///") :]
    if not path:
        raise InvalidInput(f"bad SQLite URI {uri!r}: no file path")
    return path
