"""The team store: the same ledger and projections in PostgreSQL (psycopg 3).

Never lets two writers extend the chain at once: the head is serialised by an advisory lock.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Sequence
from typing import Any

from lineal.errors import MissingExtra, NotFound, StoreUnavailable
from lineal.ledger.keys import Signer
from lineal.model.masking import mask_url, split_password
from lineal.store import credentials
from lineal.store.sql.audit_rows import AUDIT_HEAD
from lineal.store.sql.base import SqlStore
from lineal.store.sql.migrations import POSTGRES_TYPES
from lineal.store.sql.postgres_conn import GuardedConnection
from lineal.store.sql.postgres_sql import PostgresSql
from lineal.store.sql.postgres_sql import pg as _pg
from lineal.store.sql.reads import HEAD

#: The advisory lock key that serialises appends (any constant unique to lineal).
HEAD_LOCK = 0x6C696E65616C  # "lineal"
#: And the one that serialises appends to the audit log (taken after HEAD_LOCK, never before).
AUDIT_LOCK = HEAD_LOCK + 2
#: A transaction of its own that writes a commit record (txid_current() takes a transaction
#: id), so committing it waits for the log to be flushed up to there.
DURABLE = "SELECT txid_current()"


#: The tables an erased payload's bytes (or values derived from them) were in.
_SCRUBBED = ("ledger", "tags", "metric_batches", "run_metrics")


#: libpq's words when the server is up but has no such database (it sends no SQLSTATE then).
_MISSING_DATABASE = re.compile(r'database "(.+?)" does not exist')
_CREATEDB_FLAGS = (("-h", "host"), ("-p", "port"), ("-U", "user"))


def _no_database(uri: str, name: str) -> NotFound:
    """The error for a server that answered without the database: how to create it."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = {k: str(v) for k, v in conninfo_to_dict(uri).items() if v}
    except psycopg.Error:  # libpq took it to connect; should this parse fail, say less
        info = {}
    host, port = info.get("host"), info.get("port")
    where = f"{host}:{port}" if host and port else host or "the local socket"
    flags = [f"{flag} {shlex.quote(info[key])}" for flag, key in _CREATEDB_FLAGS if key in info]
    quoted = name.replace('"', '""')
    return NotFound(
        f"PostgreSQL at {where} has no database {name!r}",
        hint=f"create it: {' '.join(['createdb', *flags, shlex.quote(name)])} "
        f'(or in psql: CREATE DATABASE "{quoted}";), or fix the store URI '
        "(--uri, LINEAL_URI or .lineal/config.toml)",
    )


#: Tables whose statistics matter to the queries' plans (the ledger first: its row count, as
#: the last ANALYZE measured it, says how large the store was then), and the ledger size to
#: start at.
_ANALYZED = (
    "ledger",
    "edges",
    "node_ids",
    "artifacts",
    "versions",
    "runs",
    "params",
    "run_metrics",
    "tags",
    "aliases",
)
_ANALYZE_FROM = 1000
#: The statistics target of that refresh: a sample of 3,000 rows a table (the default, 100,
#: samples 30,000). The refresh is there for the tables' sizes, which any sample gives; at
#: the default it cost a writer a fifth of its time on a 78,000-record history, for lineage
#: walks no faster (bench/lineage.py's 100 upstream queries, 232,000 edges, either way).
#: autovacuum's ANALYZE, or a DBA's, samples at the database's own target.
_ANALYZE_TARGET = 10
#: Taken (without waiting) by the one process that refreshes the statistics at a time.
ANALYZE_LOCK = HEAD_LOCK + 1
#: The ledger size the statistics were last refreshed at, by URI: read from the database
#: once per process, then again only when the ledger seems to have doubled since.
_analyzed_at: dict[str, int] = {}
_LEDGER_TUPLES = (
    "SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = 'ledger'::regclass"
)


class PostgresStore(SqlStore):
    """Store in a PostgreSQL database (``postgresql://user@host:port/dbname``)."""

    types = POSTGRES_TYPES

    def __init__(
        self,
        uri: str,
        signer: Signer | None = None,
        *,
        create: bool = False,
        audited: bool = True,
    ) -> None:
        super().__init__(
            mask_url(uri), signer, audited=audited
        )  # what messages show: never a password
        try:
            import psycopg  # noqa: F401 - here only to name the missing extra
        except ImportError as exc:
            raise MissingExtra("psycopg", "postgres") from exc
        self._connect_uri = uri
        # A URI without a password may have one saved by `lineal init --uri`; else libpq's
        # own PGPASSWORD and ~/.pgpass apply, as for psql.
        self._password = None if split_password(uri)[1] else credentials.password(uri)
        self._conn: Any = self._connect()
        self._sql = PostgresSql(self._conn)
        self._cursors = 0
        self._pipeline: Any = None  # the write transaction's, while one is open
        #: the audit log's head, read with the ledger's at the append's start (audited stores)
        self._audit_head: list[tuple[Any, ...]] | None = None
        self._pipe: Any = None
        if create:
            self.migrate()
        else:
            self._check_schema()

    def _connect(self) -> GuardedConnection:
        # Guarded: a transient failure is StoreUnavailable, and a broken connection is
        # opened again on its next use (lineal.store.sql.postgres_conn).
        return GuardedConnection(self._open, self.uri)

    def _open(self) -> Any:
        import psycopg

        try:
            return psycopg.connect(  # password=None is left out: the URI's, or libpq's own
                self._connect_uri, autocommit=True, connect_timeout=5, password=self._password
            )
        except psycopg.OperationalError as exc:
            missing = _MISSING_DATABASE.search(str(exc))
            if missing is not None:  # the server answered: it is up, the database is not
                raise _no_database(self._connect_uri, missing.group(1)) from exc
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            reason = lines[0] if lines else "no answer"
            raise StoreUnavailable(
                f"cannot reach PostgreSQL at {self.uri}: {reason}",
                hint="start the server, or fix LINEAL_URI / the uri in .lineal/config.toml",
            ) from exc

    def sql(self) -> PostgresSql:
        return self._sql

    def _fresh_connection(self) -> Any:
        # Connected on first use: a forked worker that never touches the store costs the
        # server nothing.
        return _Deferred(self)

    def _connected(self) -> Any:
        """The deferred connection, opened now (in this process)."""
        self._conn = self._sql.conn = self._connect()
        return self._conn

    def _has_table(self, name: str) -> bool:
        row = self._conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()
        return row is not None and row[0] is not None

    def _begin_write(self) -> None:
        self._conn.execute("BEGIN")
        self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (HEAD_LOCK,))

    def _write_beside(self, sql: str, params: Sequence[Any]) -> None:
        # One autocommit statement, without the head lock: a heartbeat neither waits for
        # appends (which hold it through their commit's flush) nor holds them up.
        self._conn.execute(_pg(sql), params or None)

    def _begin_read(self) -> None:
        self._conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def _lock_audit(self) -> None:
        # In an append's pipeline it goes out with the next read (the audit head).
        self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))

    def _audit_head_held(self) -> list[tuple[Any, ...]] | None:
        found, self._audit_head = self._audit_head, None
        if found is None:
            self._lock_audit()
        return found

    def _begin_audit(self) -> None:
        # The audit chain's own lock: a block of read rows never waits for a ledger append.
        self._conn.execute("BEGIN")
        self._lock_audit()

    def _begin_append(self, agent: str) -> tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]]:
        # A write transaction runs in pipeline mode: a statement whose answer nobody reads (an
        # INSERT, an UPDATE, a SAVEPOINT) goes out with the next one that is read, and the
        # commit with the COMMIT, so the head lock is held for a few round trips, not one per
        # statement. Here BEGIN, the lock, the head and the signer's keys are one.
        from lineal.store.sql.project_agent_keys import KEYS

        self._pipeline = self._conn.pipeline()
        self._pipe = self._pipeline.__enter__()
        self._conn.execute("BEGIN")
        # The commit releases the head lock without waiting for its flush to disk (see _end:
        # the append is acknowledged only once it is durable), so the next writer's
        # transaction overlaps this one's flush and concurrent flushes are shared.
        self._conn.execute("SET LOCAL synchronous_commit TO off")
        self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (HEAD_LOCK,))
        head = self._conn.execute(HEAD)
        keys = self._conn.execute(_pg(KEYS), (agent,))
        audit = None
        if self.audited:  # the audit lock (after the ledger's, as always) and its head too
            self._lock_audit()
            audit = self._conn.execute(AUDIT_HEAD)
        found = head.fetchone(), keys.fetchall()
        self._audit_head = None if audit is None else audit.fetchall()
        return found

    def _settle(self, *, failed: bool = False) -> None:
        if self._pipeline is None:
            return
        try:
            self._pipe.sync()
        except Exception:  # already raised to the block being rolled back
            if not failed:
                raise

    def _end(self, *, commit: bool) -> None:
        pipeline, self._pipeline, self._pipe = self._pipeline, None, None
        self._audit_head = None
        if pipeline is None:
            self._conn.execute("COMMIT" if commit else "ROLLBACK")
            return
        import psycopg

        if commit:
            self._conn.execute("COMMIT")
        try:
            pipeline.__exit__(None, None, None)  # sends what is queued; raises its first error
        except (psycopg.Error, StoreUnavailable):
            if commit:  # an INSERT sent with the COMMIT failed: undo all, then say why
                self._rollback_failed()
                raise
        if not commit:
            self._conn.execute("ROLLBACK")
            return
        # Durable before it is acknowledged. The append committed without waiting for the
        # disk, so the head lock was free for the next writer during the flush; a write
        # transaction committed now, as the database's synchronous_commit says, flushes the
        # log up to its own commit record and so past the append's (the log is flushed in
        # order). Anything that read the append before then is lost with it in a crash, never
        # without it: a later record is never durable without every earlier one.
        self._conn.execute(DURABLE)

    def _rollback_failed(self) -> None:
        from psycopg.pq import TransactionStatus

        if self._conn.info.transaction_status != TransactionStatus.IDLE:
            self._conn.execute("ROLLBACK")

    def _stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        # A named (server-side) cursor streams in chunks inside the open transaction.
        self._cursors += 1
        with self._conn.cursor(name=f"lineal_stream_{self._cursors}") as cursor:
            cursor.itersize = 4096
            cursor.execute(_pg(sql), params or None)
            yield from cursor

    def _committed(self, head_seq: int) -> None:
        # The planner needs statistics: on tables it believes empty, a recursive lineage walk
        # hash-joins a full scan of edges at every step (1.3 s instead of 34 ms on a 232k-edge
        # graph), and autovacuum may be off or late. Refresh them whenever the ledger has
        # doubled since the last time (amortised: a few ms per thousand records). When that
        # was is the database's to say, not this process's: the ledger's row count as the
        # last ANALYZE (ours, anyone's, autovacuum's) measured it. A new process or CLI command
        # reads it once; many writers never ANALYZE the same size over again, nor at once.
        if head_seq < _ANALYZE_FROM:
            return
        known = _analyzed_at.get(self._connect_uri)
        if known is not None and head_seq < 2 * known:
            return
        with self._lock:
            row = self._conn.execute(_LEDGER_TUPLES).fetchone()
            _analyzed_at[self._connect_uri] = int(row[0]) if row else 0
            if head_seq < 2 * _analyzed_at[self._connect_uri]:
                return
            self._conn.execute("BEGIN")
            try:
                row = self._conn.execute(
                    "SELECT pg_try_advisory_xact_lock(%s)", (ANALYZE_LOCK,)
                ).fetchone()
                if row and row[0]:  # else another process is at it: its figure will do
                    # Read again under the lock: one that just finished has raised it.
                    row = self._conn.execute(_LEDGER_TUPLES).fetchone()
                    if head_seq >= 2 * (int(row[0]) if row else 0):
                        self._conn.execute(
                            f"SET LOCAL default_statistics_target = {_ANALYZE_TARGET}"
                        )
                        self._conn.execute(f"ANALYZE {', '.join(_ANALYZED)}")
            finally:
                self._conn.execute("COMMIT")
            _analyzed_at[self._connect_uri] = head_seq

    def _scrub(self) -> None:
        # The erased payload's old row version (and its TOAST chunks) lives on as a dead
        # tuple until vacuumed; VACUUM removes it without blocking readers or writers.
        # Only VACUUM FULL (which locks the tables) rewrites them into new files; WAL segments,
        # archives, replicas and backups keep the bytes until they expire (see docs).
        with self._lock:
            self._conn.execute(f"VACUUM {', '.join(_SCRUBBED)}")

    def close(self) -> None:
        self._conn.close()


class _Deferred:
    """A forked child's PostgreSQL connection, opened when first used."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def close(self) -> None:
        self._store._conn = self._store._sql.conn = None  # never opened: nothing to close

    def __getattr__(self, name: str) -> Any:
        conn = self._store._conn
        return getattr(conn if conn is not self else self._store._connected(), name)
