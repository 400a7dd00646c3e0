"""The audit log in SQL: appending blocks of rows with a signed head, reading them back by
agent, reference and time, and checking the chain (SqlStore's audit methods).

Mixed into SqlStore. Only ever INSERTs into the audit tables: no statement here updates or
deletes a row of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lineal.errors import LinealError, PermissionDenied
from lineal.model import canonical
from lineal.model.audit import (
    AUDIT_GENESIS,
    AuditEvent,
    AuditHead,
    AuditReport,
    AuditRow,
    base_ref,
    head_message,
    row_hash,
)

if TYPE_CHECKING:
    from lineal.ledger.keys import Signer
    from lineal.store.sql.projections import Sql

# The audit log (migration 9): every request to a server (reads too) and every write
# transaction of an embedded store, in a hash chain of its own apart from the ledger, so
# reads never grow the lineage history. ``refs`` and ``ops`` are canonical JSON lists;
# audit_refs indexes each row's references (and their KIND/NAME) for `lineal audit --ref`.
# audit_heads: the chain's head as the writer signed it each time it appended a block.
# No code path updates or deletes these rows: a row holds references and metadata, never a
# payload, so a redaction leaves them as they are.
AUDIT = """
CREATE TABLE audit (
    seq {int} PRIMARY KEY,
    time TEXT NOT NULL,
    agent TEXT,
    token_id TEXT,
    method TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    path TEXT NOT NULL,
    refs TEXT NOT NULL,
    ops TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status {int},
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_time ON audit (time);
CREATE INDEX audit_agent ON audit (agent, seq);
CREATE TABLE audit_refs (
    seq {int} NOT NULL,
    ref TEXT NOT NULL,
    base TEXT NOT NULL,
    PRIMARY KEY (seq, ref)
);
CREATE INDEX audit_refs_base ON audit_refs (base, seq);
CREATE INDEX audit_refs_ref ON audit_refs (ref, seq);
CREATE TABLE audit_heads (
    seq {int} PRIMARY KEY,
    hash TEXT NOT NULL,
    time TEXT NOT NULL,
    signer TEXT NOT NULL,
    key_id TEXT NOT NULL,
    sig TEXT NOT NULL
);
"""

_COLUMNS = (
    "seq, time, agent, token_id, method, endpoint, path, refs, ops, outcome, status, prev, hash"
)
_INSERT = f"INSERT INTO audit ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_HEAD_COLUMNS = "seq, hash, time, signer, key_id, sig"
#: Rows read at a time by a check or an export.
PAGE = 5000


def _to_row(row: Sequence[Any]) -> AuditRow:
    return AuditRow(
        seq=int(row[0]),
        event=AuditEvent(
            time=row[1],
            agent=row[2],
            token_id=row[3],
            method=row[4],
            endpoint=row[5],
            path=row[6],
            refs=tuple(canonical.decode(row[7].encode())),
            ops=tuple(canonical.decode(row[8].encode())),
            outcome=row[9],
            status=None if row[10] is None else int(row[10]),
        ),
        prev=row[11],
        hash=row[12],
    )


def _to_head(row: Sequence[Any]) -> AuditHead:
    return AuditHead(
        seq=int(row[0]), hash=row[1], time=row[2], signer=row[3], key_id=row[4], sig=row[5]
    )


#: The audit log's head row (none for an empty log).
AUDIT_HEAD = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"


def write_audit(
    db: Sql,
    signer: Signer,
    events: Sequence[AuditEvent],
    head_rows: Sequence[tuple[Any, ...]] | None = None,
) -> list[AuditRow]:
    """Chain ``events`` after the log's head and sign the new head, inside a transaction
    that holds the audit lock. ``head_rows``: AUDIT_HEAD's answer, read already under that
    lock in this transaction (None: read it now)."""
    found = list(head_rows) if head_rows is not None else db.all(AUDIT_HEAD)
    head = found[0] if found else None
    seq, prev = (int(head[0]), str(head[1])) if head else (0, AUDIT_GENESIS)
    rows: list[AuditRow] = []
    for event in events:
        seq += 1
        hashed = row_hash(prev, seq, event)
        rows.append(AuditRow(seq=seq, event=event, prev=prev, hash=hashed))
        prev = hashed
    if not rows:
        return rows
    db.many(
        _INSERT,
        [
            (r.seq, e.time, e.agent, e.token_id, e.method, e.endpoint, e.path,
             canonical.encode(list(e.refs)).decode(), canonical.encode(list(e.ops)).decode(),
             e.outcome, e.status, r.prev, r.hash)
            for r in rows
            for e in (r.event,)
        ],
    )  # fmt: skip
    refs = [(r.seq, ref, base_ref(ref)) for r in rows for ref in dict.fromkeys(r.event.refs)]
    if refs:
        db.many("INSERT INTO audit_refs (seq, ref, base) VALUES (?, ?, ?)", refs)
    now = canonical.format_time(datetime.now(UTC))
    db.execute(
        f"INSERT INTO audit_heads ({_HEAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
        (seq, prev, now, signer.name, signer.key_id, signer.sign(head_message(seq, prev))),
    )
    return rows


class AuditRows:
    """The Store protocol's audit methods over SQL; hooks into the store's transactions."""

    if TYPE_CHECKING:  # the store this is mixed into provides them
        signer: Signer | None
        uri: str

        audited: bool

        def sql(self) -> Sql: ...
        def _begin_write(self) -> None: ...
        def _begin_read(self) -> None: ...
        def _end(self, *, commit: bool) -> None: ...
        def agents(self) -> list[Any]: ...

        @property
        def _lock(self) -> Any: ...

    def _lock_audit(self) -> None:
        """Inside a write transaction: hold the audit chain's head (SQLite's write lock
        already does)."""

    def _audit_head_held(self) -> list[tuple[Any, ...]] | None:
        """Inside an append: hold the audit chain's head; AUDIT_HEAD's answer if the backend
        read it already (with the ledger's head, in one round trip), else None."""
        self._lock_audit()
        return None

    def _begin_audit(self) -> None:
        """Start a write transaction holding the audit chain's head (not the ledger's)."""
        self._begin_write()
        self._lock_audit()

    def _audit_event(self, txn: Any, outcome: str) -> AuditEvent:
        submit = txn.batch is not None
        return AuditEvent(
            time=canonical.format_time(datetime.now(UTC)),
            agent=txn.author,
            token_id=None,
            method="SUBMIT" if submit else "APPEND",
            endpoint="store.submit" if submit else "store.append",
            path=f"ledger/{txn.start_seq + 1}..{txn.head_seq}" if outcome == "ok" else "ledger",
            refs=tuple(txn.refs),
            ops=tuple(txn.ops),
            outcome=outcome,
        )

    def _audit_refusal(self, txn: Any, exc: BaseException) -> None:
        """A refused write of an embedded store leaves an audit row of its own (its records
        were rolled back); never raises over the refusal."""
        if not self.audited or not isinstance(exc, LinealError) or not txn.ops:
            return
        with contextlib.suppress(Exception):
            self.append_audit([self._audit_event(txn, "refused")])

    def append_audit(self, events: Sequence[AuditEvent]) -> list[AuditRow]:
        """Chain ``events`` as one block and sign its head, in one transaction."""
        if self.signer is None:
            raise PermissionDenied(
                f"no signing key to write to the audit log of {self.uri}",
                hint="open the store with the key that signs its audit heads",
            )
        with self._lock:
            self._begin_audit()
            try:
                rows = write_audit(self.sql(), self.signer, events)
            except BaseException:
                self._end(commit=False)
                raise
            self._end(commit=True)
        return rows

    def audit_rows(
        self,
        *,
        agent: str | None = None,
        ref: str | None = None,
        since: str | None = None,
        until: str | None = None,
        after: int = 0,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[AuditRow]:
        where: list[str] = ["seq > ?"]
        params: list[Any] = [after]
        if agent is not None:
            where.append("agent = ?")
            params.append(agent)
        if since is not None:
            where.append("time >= ?")
            params.append(since)
        if until is not None:
            where.append("time <= ?")
            params.append(until)
        if ref is not None:
            where.append("seq IN (SELECT seq FROM audit_refs WHERE base = ? OR ref = ?)")
            params += [ref, ref]
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT {_COLUMNS} FROM audit WHERE {' AND '.join(where)} ORDER BY seq {order}"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._lock:
            return [_to_row(row) for row in self.sql().all(sql, params)]

    def audit_heads(self, *, after: int = 0, limit: int | None = None) -> list[AuditHead]:
        sql = f"SELECT {_HEAD_COLUMNS} FROM audit_heads WHERE seq > ? ORDER BY seq"
        params: list[Any] = [after]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._lock:
            return [_to_head(row) for row in self.sql().all(sql, params)]

    def verify_audit(self) -> AuditReport:
        """Check the audit chain, its signed heads and its reference index."""
        from lineal.ledger.audit_chain import check_audit

        with self._lock:
            self._begin_read()
            try:
                keys = {a_key_id(a.public_key): (a.name, a.public_key) for a in self.agents()}
                heads = self.audit_heads()
                mismatch: list[int] = []
                report = check_audit(self._paged_rows(mismatch), heads, keys)
            finally:
                self._end(commit=False)
        if report.ok and mismatch:
            return replace(
                report,
                problem_seq=mismatch[0],
                problem=f"the reference index of audit row {mismatch[0]} does not match the "
                "row (audit_refs was altered)",
            )
        return report

    def _paged_rows(self, mismatch: list[int]) -> Iterator[AuditRow]:
        """Every row in seq order, a page at a time, noting rows whose indexed references
        differ from the row's own."""
        db = self.sql()
        after = 0
        while True:
            page = [
                _to_row(row)
                for row in db.all(
                    f"SELECT {_COLUMNS} FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
                    (after, PAGE),
                )
            ]
            if not page:
                return
            indexed: dict[int, set[tuple[str, str]]] = {}
            for seq, ref, base in db.all(
                "SELECT seq, ref, base FROM audit_refs WHERE seq > ? AND seq <= ?",
                (after, page[-1].seq),
            ):
                indexed.setdefault(int(seq), set()).add((ref, base))
            for row in page:
                own = {(ref, base_ref(ref)) for ref in row.event.refs}
                if indexed.pop(row.seq, set()) != own and not mismatch:
                    mismatch.append(row.seq)
            if indexed and not mismatch:
                mismatch.append(min(indexed))
            yield from page
            after = page[-1].seq


def a_key_id(public_key: str) -> str:
    from lineal.ledger.keys import key_id

    return key_id(public_key)
