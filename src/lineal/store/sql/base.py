"""What the SQL stores share: transactions, appends, reads, reference resolution, verify.

Backends add only connecting, locking the chain head and their SQL dialect; never anything
that changes what a record means.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lineal.errors import InvalidInput, NotFound, PermissionDenied
from lineal.ledger.chain import GENESIS, Record, commit_message, record_hash
from lineal.model import canonical
from lineal.model.digests import digest_bytes
from lineal.store import forks
from lineal.store.sql.audit_rows import AuditRows, write_audit
from lineal.store.sql.heartbeats import SqlHeartbeats
from lineal.store.sql.migrations import MIGRATIONS, REPLAYED, statements
from lineal.store.sql.reads import HEAD, RECORD_COLUMNS, SqlReads
from lineal.store.sql.submit import Submits
from lineal.store.sql.tag_reads import SqlTagReads
from lineal.store.sql.tokens import SqlTokens

# Ops, projections and the replay load with the first write or verify: a read-only command
# (`lineal status`) needs none of them.
if TYPE_CHECKING:
    from lineal.ledger.keys import Signer
    from lineal.model.ops import Op
    from lineal.store.batches import Batch
    from lineal.store.sql import projections


class _Txn:
    """The state of the open write transaction: the chain head and its records.

    ``pending`` holds every record of the transaction; the first ``flushed`` of them are
    already INSERTed. Keeping flushed rows lets a savepoint rollback, which also undoes their
    INSERT, put them back in line to be written again.
    """

    __slots__ = (
        "author", "batch", "flushed", "head_hash", "head_seq", "key", "keys", "ops", "pending",
        "refs", "scrub", "signer", "start_seq",
    )  # fmt: skip

    def __init__(
        self, head_seq: int, head_hash: str, signer: Signer, keys: list[tuple[Any, ...]]
    ) -> None:
        self.start_seq = head_seq
        self.head_seq = head_seq
        self.head_hash = head_hash
        self.pending: list[tuple[Any, ...]] = []
        self.flushed = 0
        self.signer = signer
        # Whose records these are and the key that vouches for them: the store's own signer,
        # or the client of a batch this store appends as a server (see SqlStore.submit).
        self.author, self.key = signer.name, signer.public_key
        self.batch: Batch | None = None
        #: whether a record erased a payload: its bytes are scrubbed from the files on commit
        self.scrub = False
        #: the signer's keys as the transaction began, until a record may change them
        self.keys: list[tuple[Any, ...]] | None = keys
        #: what the audit row of this transaction names: refs (an ordered set) and op names
        self.refs: dict[str, None] = {}
        self.ops: dict[str, None] = {}


class SqlStore(SqlReads, SqlTagReads, Submits, SqlTokens, AuditRows, SqlHeartbeats):
    """A Store over a DB-API connection; subclasses supply the connection and dialect."""

    uri: str
    types: dict[str, str]
    #: ``(message, hint)`` for a write without a signing key, from whoever knows why (workspace)
    unsigned: tuple[str, str] | None = None

    def __init__(self, uri: str, signer: Signer | None = None, *, audited: bool = True) -> None:
        self.uri = uri
        self.signer = signer
        #: whether each write transaction adds its own audit row (not on a server, whose
        #: request's row covers its writes)
        self.audited = audited
        self._lock = threading.RLock()
        self._txn: _Txn | None = None
        self._depth = 0
        forks.track(self)

    # -- backend hooks -------------------------------------------------------------------
    def sql(self) -> projections.Sql:
        """The connection as a projections.Sql (``?`` placeholders)."""
        raise NotImplementedError

    def _begin_write(self) -> None:
        """Start a write transaction holding the chain-head lock."""
        raise NotImplementedError

    def _begin_read(self) -> None:
        """Start a read-only transaction with one consistent snapshot."""
        raise NotImplementedError

    def _end(self, *, commit: bool) -> None:
        raise NotImplementedError

    def _begin_append(self, agent: str) -> tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]]:
        """Start a write transaction as _begin_write does; return the chain head's row and
        ``agent``'s keys (project_agent_keys.KEYS), which the commit is checked against."""
        from lineal.store.sql.project_agent_keys import KEYS

        self._begin_write()
        db = self.sql()
        return db.one(HEAD), db.all(KEYS, (agent,))

    def _settle(self, *, failed: bool = False) -> None:
        """Have every statement sent so far run, raising the first error (unless ``failed``:
        it was raised, and the transaction goes on from a savepoint)."""

    def _stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Rows of a query without holding them all in memory."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _fresh_connection(self) -> Any:
        """A connection of this process's own (after a fork); a backend that cannot open one
        leaves a stand-in that says so on first use."""
        return forks.Unusable(f"{type(self).__name__} cannot reconnect after a fork")

    def _swap(self, conn: Any) -> Any:
        """Use ``conn`` from now on; return the connection it replaces (left open)."""
        backend: Any = self  # every backend keeps _conn and a projections.Sql over it, _sql
        replaced, backend._conn = backend._conn, conn
        backend._sql = type(backend._sql)(conn)
        return replaced

    def after_fork(self) -> None:
        """In a forked child (see lineal.store.forks): a connection of this process's own."""
        self._lock = threading.RLock()  # another thread of the parent may have held it
        self._txn, self._depth = None, 0  # the parent's transaction stays the parent's
        try:
            fresh = self._fresh_connection()
        except Exception as exc:  # said on first use, where it can be caught
            fresh = forks.Unusable(f"cannot reopen {self.uri} in this forked process: {exc}")
        forks.keep(self._swap(fresh))

    def _committed(self, head_seq: int) -> None:
        """Called after each write transaction commits, with the new head (a backend hook)."""

    def _scrub(self) -> None:
        """Called after a transaction that erased payloads commits: make the erased bytes
        unreadable in the database's own files (free pages, the write-ahead log), as far as
        the backend can (a backend hook; see docs/architecture.md, Redaction)."""

    def lenient(self) -> AbstractContextManager[None]:
        """Within: text that is not valid UTF-8 is read, not refused (for tamper checks)."""
        return nullcontext()

    # -- schema --------------------------------------------------------------------------
    def _has_table(self, name: str) -> bool:
        raise NotImplementedError

    def migrate(self) -> int:
        """Apply every migration this store has not seen; return the schema version."""
        with self._lock:
            db = self.sql()
            if not self._has_table("schema_version"):
                db.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                    "description TEXT NOT NULL, applied TEXT NOT NULL)"
                )
            if self.schema_version() >= MIGRATIONS[-1][0]:
                return self.schema_version()
            # One transaction for every pending migration, and the replay (if one of them
            # emptied the projections) after the last: the projection code is today's, so
            # it writes the tables as the last migration leaves them.
            self._begin_write()
            try:
                current = self.schema_version()  # another process may have migrated meanwhile
                pending = [m for m in MIGRATIONS if m[0] > current]
                for version, description, script in pending:
                    for statement in statements(script, self.types):
                        db.execute(statement)
                    db.execute(
                        "INSERT INTO schema_version (version, description, applied) "
                        "VALUES (?, ?, ?)",
                        (version, description, canonical.format_time(datetime.now(UTC))),
                    )
                if any(version in REPLAYED for version, _, _ in pending):
                    from lineal.store.sql.replay import rebuild_projections

                    rebuild_projections(db)
            except BaseException:
                self._end(commit=False)
                raise
            self._end(commit=True)
            return self.schema_version()

    def schema_version(self) -> int:
        if not self._has_table("schema_version"):
            return 0
        row = self.sql().one("SELECT MAX(version) FROM schema_version")
        return int(row[0]) if row and row[0] is not None else 0

    def _check_schema(self) -> None:
        version = self.schema_version()
        latest = MIGRATIONS[-1][0]
        if version == 0:
            raise NotFound(f"no lineal store at {self.uri}", hint="run `lineal init` to create one")
        if version > latest:
            raise InvalidInput(
                f"store {self.uri} has schema version {version}; this lineal knows {latest}",
                hint="upgrade lineal: pip install -U lineal",
            )
        if version < latest:
            self.migrate()

    # -- writing -------------------------------------------------------------------------
    @contextmanager
    def atomic(self) -> Iterator[None]:
        with self._lock:
            outer = self._depth == 0
            db = self.sql()
            if outer:
                if self.signer is None:
                    message, hint = self.unsigned or (
                        f"no signing key to write to {self.uri}",
                        "run `lineal init` (or `lineal init --uri URI`) to create one",
                    )
                    raise PermissionDenied(message, hint=hint)
                try:
                    row, keys = self._begin_append(self.signer.name)
                except BaseException:
                    self._end(commit=False)
                    raise
                seq, last = (int(row[0]), str(row[1])) if row else (0, GENESIS)
                self._txn = _Txn(seq, last, self.signer, keys)
            txn = self._txn
            assert txn is not None  # noqa: S101 - set above or by the outer level
            saved = (txn.head_seq, txn.head_hash, len(txn.pending), txn.flushed)
            named = (len(txn.refs), len(txn.ops))  # what the audit row names, in order
            savepoint = f"lineal_{self._depth}"
            if not outer:
                db.execute(f"SAVEPOINT {savepoint}")
            self._depth += 1
            try:
                yield
                if outer:
                    self._finish(txn)
            except BaseException as exc:
                if outer:
                    self._end(commit=False)
                    self._audit_refusal(txn, exc)
                else:
                    self._settle(failed=True)
                    db.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                    db.execute(f"RELEASE SAVEPOINT {savepoint}")
                    txn.head_seq, txn.head_hash = saved[0], saved[1]
                    del txn.pending[saved[2] :]
                    txn.flushed = saved[3]  # inserts made since the savepoint are undone
                    txn.refs = dict.fromkeys(list(txn.refs)[: named[0]])
                    txn.ops = dict.fromkeys(list(txn.ops)[: named[1]])
                raise
            finally:
                self._depth -= 1
                if outer:
                    self._txn = None
            if outer:
                self._end(commit=True)
                self._after_commit(txn)
            else:
                # Not settled here: what the block sent and nothing read back yet runs with the
                # next read or the commit, whose error (if any) fails the outer block, all of it
                # rolled back. Settling each block cost a round trip with the chain head held.
                db.execute(f"RELEASE SAVEPOINT {savepoint}")

    def _after_commit(self, txn: _Txn) -> None:
        self._committed(txn.head_seq)
        if txn.scrub:
            self._scrub()

    def _flush(self, txn: _Txn) -> None:
        if txn.flushed < len(txn.pending):
            self.sql().many(
                f"INSERT INTO ledger ({RECORD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                txn.pending[txn.flushed :],
            )
            txn.flushed = len(txn.pending)

    def _finish(self, txn: _Txn) -> None:
        from lineal.store.sql.project_agent_keys import check_signing_key

        self._flush(txn)
        if txn.head_seq == txn.start_seq:
            return  # nothing appended, nothing to sign
        if self.audited:  # the transaction's own audit row, committed with it
            held = self._audit_head_held()
            write_audit(self.sql(), txn.signer, [self._audit_event(txn, "ok")], held)
        signer = txn.signer
        # Whoever signs must hold the key as of the end of what it signs (a rotated-away or
        # revoked key signs nothing after its end): the client of a batch, and this store.
        keys = txn.keys  # read with the head, in the same round trip, when still current
        if txn.author == signer.name:
            check_signing_key(self.sql(), txn.author, txn.key, txn.head_seq, keys)
        else:
            check_signing_key(self.sql(), txn.author, txn.key, txn.head_seq)
        if txn.batch is not None:
            check_signing_key(self.sql(), signer.name, signer.public_key, txn.head_seq, keys)
        # A transaction starts at the ledger's head, the previous commit's end.
        chained = signer.sign(commit_message(txn.head_seq, txn.head_hash, txn.start_seq))
        if txn.batch is None:
            self.sql().execute(
                "INSERT INTO commits (last_seq, last_hash, author, key_id, sig) "
                "VALUES (?, ?, ?, ?, ?)",
                (txn.head_seq, txn.head_hash, signer.name, signer.key_id, chained),
            )
            return
        batch = txn.batch  # the client's signature, and this store's as the server's
        self.sql().execute(
            "INSERT INTO commits (last_seq, last_hash, author, key_id, sig, batch, server, "
            "server_key_id, server_sig) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (txn.head_seq, txn.head_hash, batch.agent, batch.key_id, batch.sig, batch.id,
             signer.name, signer.key_id, chained),
        )  # fmt: skip

    def append(self, ops: Op | Iterable[Op]) -> list[Record]:
        from lineal.model.ops import Op

        batch = [ops] if isinstance(ops, Op) else list(ops)
        for op in batch:
            if not isinstance(op, Op):
                raise InvalidInput(f"not an op: {op!r}", hint="build ops from lineal.model.ops")
        with self.atomic():
            return self._append_encoded([(op, op.encode()) for op in batch])

    def _append_encoded(self, batch: Sequence[tuple[Op, bytes]]) -> list[Record]:
        """Append ops with their canonical payloads inside the open transaction."""
        from lineal.model.audit import op_refs
        from lineal.store.sql import projections

        written: list[Record] = []
        now = canonical.format_time(datetime.now(UTC))
        txn = self._txn
        assert txn is not None  # noqa: S101 - atomic() opened it
        db = self.sql()
        author = txn.author
        items: list[tuple[int, str, Op]] = []
        op_refs((op for op, _ in batch), txn.refs)
        for op, payload in batch:
            txn.ops[op.OP] = None
            if op.OP == "redact":
                txn.scrub = True
            elif op.OP.startswith("agent."):
                txn.keys = None  # a key registered, rotated or revoked: read them again
            digest = digest_bytes(payload)
            seq = txn.head_seq + 1
            hashed = record_hash(txn.head_hash, seq, now, author, op.OP, digest)
            txn.pending.append((seq, now, author, op.OP, digest, hashed, payload))
            txn.head_seq, txn.head_hash = seq, hashed
            items.append((seq, author, op))
            written.append(
                Record(
                    seq=seq,
                    time=now,
                    author=author,
                    op=op.OP,
                    payload_digest=digest,
                    hash=hashed,
                    payload=payload,
                )
            )
        # Ledger rows first (a redaction edits its target's row), then the projections;
        # any refusal rolls both back with the transaction.
        self._flush(txn)
        projections.apply_all(db, items, signing_key=txn.key)
        return written

    def sync(self, timeout: float | None = None) -> dict[str, Any]:
        """Nothing to send: a SQL store writes where it stands."""
        return {
            "uri": self.uri,
            "pending_batches": 0,
            "pending_bytes": 0,
            "rejected": [],
            "error": None,
        }
