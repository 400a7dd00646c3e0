"""The audit log's own evidence on SQLite and PostgreSQL: a row edited, deleted, or cut off
the tail (with direct SQL, as someone with database access would) is found by `lineal verify`,
which names the row; appends from many connections keep one chain; a refused write leaves a
row; a store opened for a server adds none of its own.

How the tail is anchored: every block of rows is appended with a head (its last seq and hash)
signed by the writer's key. A tail deleted together with its signed heads leaves a shorter,
consistent log: only an earlier export (`lineal audit export`) shows that.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from contract_helpers import Boom, fail_inside

from lineal.client import Lineal
from lineal.errors import NotFound
from lineal.ledger.keys import Signer
from lineal.model.audit import AuditEvent, row_hash
from lineal.model.digests import digest_bytes
from lineal.model.ops import ArtifactRecord, EdgeRecord
from lineal.store.base import Store
from lineal.store.registry import open_store
from lineal.store.sql.base import SqlStore
from lineal.verification import verify


def _event(n: int, agent: str = "carol") -> AuditEvent:
    return AuditEvent(
        time=f"2026-03-0{1 + n % 9}T00:00:00.000000Z",
        agent=agent,
        token_id=f"tok_{n}",
        method="GET",
        endpoint="/api/v1/projects/{project}/show",
        path="/api/v1/projects/p/show",
        refs=(f"model/m{n}@v1",),
        status=200,
    )


@pytest.fixture
def logged(sql_store: SqlStore) -> SqlStore:
    """A store whose audit log holds rows 1..6: the agent's registration (its own write),
    then five blocks of one request each."""
    for n in range(5):
        sql_store.append_audit([_event(n)])
    assert sql_store.audit_rows()[-1].seq == 6
    return sql_store


def _found(store: Store) -> tuple[int | None, str]:
    """What `lineal verify` says of the audit log: the row it names and why."""
    report = verify(Lineal(store))
    assert not report.ok
    body = report.as_dict()["audit"]
    assert body["ok"] is False
    return body["problem"]["seq"], body["problem"]["what"]


def test_an_untouched_log_verifies(logged: SqlStore) -> None:
    report = verify(Lineal(logged))
    assert report.ok, report.as_dict()
    assert report.audit.rows == 6
    assert report.audit.signed_seq == 6


def test_an_edited_row_is_named(logged: SqlStore) -> None:
    logged.sql().execute("UPDATE audit SET agent = 'mallory' WHERE seq = 4")
    seq, what = _found(logged)
    assert seq == 4
    assert "audit row 4 was altered" in what


def test_an_edited_row_whose_chain_was_recomputed_is_named(logged: SqlStore) -> None:
    # An editor without the server's key recomputes every hash from row 3 on: the signed
    # heads still name the old hashes.
    rows = logged.audit_rows()
    prev = rows[1].hash
    for row in rows[2:]:
        event = row.event if row.seq != 3 else AuditEvent(**{**_fields(row.event), "agent": "x"})
        hashed = row_hash(prev, row.seq, event)
        logged.sql().execute(
            "UPDATE audit SET agent = ?, prev = ?, hash = ? WHERE seq = ?",
            (event.agent, prev, hashed, row.seq),
        )
        prev = hashed
    seq, what = _found(logged)
    assert seq == 3
    assert "signed head" in what


def _fields(event: AuditEvent) -> dict[str, object]:
    return {name: getattr(event, name) for name in AuditEvent.__slots__}


def test_a_deleted_row_is_named(logged: SqlStore) -> None:
    logged.sql().execute("DELETE FROM audit WHERE seq = 3")
    seq, what = _found(logged)
    assert seq == 3
    assert "audit row 3 deleted" in what


def test_a_truncated_tail_is_found_by_the_last_signed_head(logged: SqlStore) -> None:
    logged.sql().execute("DELETE FROM audit WHERE seq >= 5")
    seq, what = _found(logged)
    assert seq == 5
    assert "rows 5..6 were deleted (truncated tail)" in what


def test_rows_added_after_the_last_signed_head_are_found(logged: SqlStore) -> None:
    last = logged.audit_rows()[-1]
    event = _event(9, agent="mallory")
    logged.sql().execute(
        "INSERT INTO audit (seq, time, agent, token_id, method, endpoint, path, refs, ops, "
        "outcome, status, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, '[]', '[]', 'ok', 200, ?, ?)",
        (7, event.time, event.agent, event.token_id, event.method, event.endpoint, event.path,
         last.hash, row_hash(last.hash, 7, AuditEvent(**{**_fields(event), "refs": ()}))),
    )  # fmt: skip
    seq, what = _found(logged)
    assert seq == 7
    assert "after the last signed head" in what


def test_an_edited_reference_index_is_found(logged: SqlStore) -> None:
    logged.sql().execute("UPDATE audit_refs SET base = 'model/other' WHERE seq = 4")
    seq, what = _found(logged)
    assert seq == 4
    assert "reference index" in what


def test_many_connections_keep_one_chain(
    logged: SqlStore, reopen: Callable[[Signer], Store], signer: Signer
) -> None:
    stores = [reopen(signer) for _ in range(4)]

    def append(store: Store, n: int) -> None:
        for block in range(8):
            store.append_audit([_event(n * 100 + block), _event(n * 100 + block + 50)])

    threads = [threading.Thread(target=append, args=(s, n)) for n, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    report = logged.verify_audit()
    assert report.ok, report.problem
    assert report.rows == 6 + 4 * 8 * 2
    assert report.heads == 6 + 4 * 8


def test_a_refused_write_leaves_a_row(sql_store: SqlStore) -> None:
    known = ArtifactRecord(kind="dataset", digest=digest_bytes(b"a"), name="a")
    sql_store.append(known)
    ghost = "run/01JD3ZZZZZZZZZZZZZZZZZZZZZ"
    with pytest.raises(NotFound):
        sql_store.append(EdgeRecord(kind="used", parent=f"dataset/a@{known.digest}", child=ghost))
    (row,) = sql_store.audit_rows(ref=ghost)
    assert row.event.outcome == "refused"
    assert row.event.ops == ("edge.record",)
    assert row.event.agent == "alice"
    assert sql_store.verify_audit().ok


def test_a_store_opened_for_a_server_adds_no_row(
    sql_store: SqlStore, store_uri: str, signer: Signer
) -> None:
    before = len(sql_store.audit_rows())
    served = open_store(store_uri, signer, audited=False)
    try:
        served.append(ArtifactRecord(kind="dataset", digest=digest_bytes(b"s"), name="s"))
    finally:
        served.close()
    assert len(sql_store.audit_rows()) == before
    assert sql_store.verify_audit().ok


def test_a_rolled_back_savepoint_is_not_in_the_row(sql_store: SqlStore) -> None:
    kept = ArtifactRecord(kind="dataset", digest=digest_bytes(b"kept"), name="kept")
    undone = ArtifactRecord(kind="model", digest=digest_bytes(b"undone"), name="undone")
    with sql_store.atomic():
        sql_store.append(kept)
        with pytest.raises(Boom):
            fail_inside(sql_store, lambda: sql_store.append(undone))
    row = sql_store.audit_rows()[-1]
    assert row.event.refs == ("dataset/kept", kept.digest)
    assert row.event.ops == ("artifact.record",)
    assert sql_store.audit_rows(ref="model/undone") == []
