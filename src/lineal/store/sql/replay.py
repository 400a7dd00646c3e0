"""Verification of a whole store: the ledger chain, then projections rebuilt and compared.

Reads only; the rebuild happens in a scratch in-memory database, never in the store.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from lineal.errors import LinealError, PermissionDenied
from lineal.ledger.verify import Problem, verify_chain
from lineal.model import canonical
from lineal.model.ops import op_from_payload
from lineal.store.base import VerifyReport
from lineal.store.sql import grants, projections
from lineal.store.sql.migrations import ALL_PROJECTIONS, PROJECTION_TABLES, SQLITE_TYPES
from lineal.store.sql.reads import COMMIT_COLUMNS, commit_of

Stream = Callable[..., Iterator[tuple[Any, ...]]]


def _redacted(stream: Stream) -> set[int]:
    seqs: set[int] = set()
    for (payload,) in stream("SELECT payload FROM ledger WHERE op = 'redact' ORDER BY seq"):
        try:
            seqs.add(int(canonical.decode(bytes(payload))["seq"]))
        except (LinealError, TypeError, KeyError, ValueError):
            continue  # a damaged redact record is reported by the chain walk
    return seqs


def check_ledger(db: projections.Sql, stream: Stream) -> VerifyReport:
    """Walk the chain, then replay it into scratch tables and compare with the stored ones."""
    redacted = _redacted(stream)
    commits = (
        commit_of(row) for row in stream(f"SELECT {COMMIT_COLUMNS} FROM commits ORDER BY last_seq")
    )
    rows = stream(
        "SELECT seq, time, author, op, payload_digest, hash, payload FROM ledger ORDER BY seq"
    )
    problem, stats = verify_chain(rows, commits, redacted)
    report = {
        "records": stats.records,
        "commits": stats.commits,
        "agents": len(stats.agents),
        "redacted": stats.redacted,
        "head": stats.head,
    }
    if problem is None:
        problem, counted = _check_projections(stream, redacted)
        report["projection_rows"] = counted
    return VerifyReport(problem, **report)  # type: ignore[arg-type]


def scratch_projections() -> tuple[sqlite3.Connection, projections.Sql]:
    """An empty in-memory database holding only the projection tables."""
    from lineal.store.sql.sqlite import SqliteSql

    conn = sqlite3.connect(":memory:", isolation_level=None)
    for statement in ALL_PROJECTIONS.format(**SQLITE_TYPES).split(";"):
        if statement.strip():
            conn.execute(statement)
    return conn, SqliteSql(conn)


def rebuild_projections(db: projections.Sql, page: int = 20_000) -> int:
    """Project every record of the ledger into empty projection tables, in seq order, as
    verify's replay does (a migration that changes what the projections hold); return how
    many records were applied."""
    applied, after = 0, 0
    while rows := db.all(
        "SELECT seq, author, op, payload FROM ledger WHERE seq > ? ORDER BY seq LIMIT ?",
        (after, page),
    ):
        after = rows[-1][0]
        items = [
            (seq, author, op_from_payload(name, canonical.decode(bytes(payload))))
            for seq, author, name, payload in rows
            if payload is not None
        ]
        projections.apply_all(db, items, replay=True)
        applied += len(items)
    return applied


def _check_projections(stream: Stream, redacted: set[int]) -> tuple[Problem | None, int]:
    conn, scratch = scratch_projections()
    conn.execute("BEGIN")
    refused: list[tuple[int, str]] = []
    for seq, author, name, payload in stream(
        "SELECT seq, author, op, payload FROM ledger ORDER BY seq"
    ):
        if payload is None:
            continue
        try:
            op = op_from_payload(name, canonical.decode(bytes(payload)))
        except LinealError as exc:
            return Problem(seq, f"record cannot be replayed: {exc}"), 0
        try:  # as the append would have judged it, with the roles and policy of then
            grants.check(scratch, seq, author, op)
        except PermissionDenied as exc:
            refused.append((seq, exc.message))
            continue  # it counts for nothing: a forged grant gives no role to later records
        try:
            projections.apply(scratch, seq, author, op, replay=True)
        except LinealError as exc:
            return Problem(seq, f"record cannot be replayed: {exc}"), 0
    if refused:
        conn.close()
        named = "; ".join(message for _, message in refused)
        return Problem(refused[0][0], f"{len(refused)} record(s) the store must refuse: {named}"), 0
    first: Problem | None = None
    counted = 0
    for table, columns in PROJECTION_TABLES.items():
        query = f"SELECT {', '.join(columns)} FROM {table} ORDER BY seq"
        stored = stream(query)
        expected = iter(conn.execute(query))
        where, rows = _first_difference(stored, expected, columns.index("seq"))
        counted += rows
        if where is not None and (first is None or where < first.seq):
            first = Problem(where, f"projection table {table!r} differs from the ledger's replay")
    conn.close()
    return first, counted


def _groups(rows: Iterator[Sequence[Any]], at: int) -> Iterator[tuple[Any, list[str]]]:
    # Rows of one seq come from one record; compare them as a set, since SQL gives no order
    # within a seq that SQLite and PostgreSQL would agree on.
    for seq, group in itertools.groupby(rows, key=lambda row: row[at]):
        yield seq, sorted(repr(tuple(row)) for row in group)


def _first_difference(
    stored: Iterator[Sequence[Any]], expected: Iterator[Sequence[Any]], at: int
) -> tuple[int | None, int]:
    counted = 0
    left, right = _groups(stored, at), _groups(expected, at)
    a, b = next(left, None), next(right, None)
    while a is not None or b is not None:
        if a is None or b is None or a[0] != b[0]:
            seqs = [g[0] for g in (a, b) if g is not None]
            try:
                return int(min(seqs)), counted
            except (TypeError, ValueError):
                return int(b[0] if b is not None else 0), counted
        if a[1] != b[1]:
            return int(a[0]), counted
        counted += len(a[1])
        a, b = next(left, None), next(right, None)
    return None, counted
