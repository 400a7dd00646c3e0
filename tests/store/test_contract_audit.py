"""The Store contract of the audit log: each write is found once by the references it named,
the filters agree on every backend, and the chain verifies.

On SQLite and PostgreSQL each write transaction adds its own row; through a server the row is
the request's (the server records it). Protocol only: no SQL here.
"""

from __future__ import annotations

import itertools
import uuid

import pytest
from contract_helpers import blob

from lineal.errors import PermissionDenied
from lineal.model.audit import AuditEvent, base_ref
from lineal.model.ops import ArtifactRecord
from lineal.store.base import Store

FUTURE = "2999-01-01T00:00:00.000000Z"


def _served(store: Store) -> bool:
    return store.uri.startswith("http")


def _name() -> str:
    return f"aud-{uuid.uuid4().hex[:10]}"


def test_a_write_is_found_once_by_what_it_named(store: Store) -> None:
    name = _name()
    store.append(ArtifactRecord(kind="dataset", digest=blob(name), name=name))
    rows = store.audit_rows(ref=f"dataset/{name}")
    assert len(rows) == 1, rows
    assert f"dataset/{name}" in rows[0].event.refs
    assert rows[0].event.outcome == "ok"
    # by the digest too, and by nothing it did not name
    assert [r.seq for r in store.audit_rows(ref=blob(name))] == [rows[0].seq]
    assert store.audit_rows(ref=f"dataset/{name}-other") == []


def test_a_version_or_alias_is_found_by_its_name(store: Store) -> None:
    name = _name()
    store.append(ArtifactRecord(kind="model", digest=blob(name), name=name))
    node = f"model/{name}@{blob(name)}"
    assert base_ref(node) == f"model/{name}"
    assert base_ref(f"model/{name}:prod") == f"model/{name}"
    assert len(store.audit_rows(ref=f"model/{name}")) == 1


def test_the_filters(store: Store) -> None:
    for _ in range(3):
        name = _name()
        store.append(ArtifactRecord(kind="dataset", digest=blob(name), name=name))
    every = store.audit_rows()
    seqs = [row.seq for row in every]
    assert seqs == sorted(seqs)
    assert len(seqs) >= 3
    # (through a server, each of these reads adds a row of its own after the ones seen)
    newest = [r.seq for r in store.audit_rows(newest_first=True)]
    assert newest == sorted(newest, reverse=True)
    assert set(seqs) <= set(newest)
    assert [r.seq for r in store.audit_rows(limit=2)] == seqs[:2]
    assert [r.seq for r in store.audit_rows(after=seqs[-2])][:1] == seqs[-1:]
    assert store.audit_rows(agent="nobody-at-all") == []
    assert store.audit_rows(since=FUTURE) == []
    assert len(store.audit_rows(until=FUTURE)) >= len(seqs)
    if not _served(store):  # the store's own writes: its agent's
        assert store.audit_rows(agent="alice") == every
    # each row follows the one before
    assert all(b.prev == a.hash for a, b in itertools.pairwise(every))


def test_the_chain_verifies_and_its_head_is_signed(store: Store) -> None:
    name = _name()
    store.append(ArtifactRecord(kind="dataset", digest=blob(name), name=name))
    report = store.verify_audit()
    assert report.ok, report.problem
    assert report.rows >= 1
    assert report.signed_seq == report.head_seq
    heads = store.audit_heads()
    assert report.signed_seq in {head.seq for head in heads}  # (a server's log grows on)
    assert report.as_dict()["problem"] is None


def test_append_audit(store: Store) -> None:
    event = AuditEvent(
        time="2026-03-01T00:00:00.000000Z",
        agent="carol",
        token_id="tok_1",
        method="GET",
        endpoint="/api/v1/projects/{project}/upstream",
        path="/api/v1/projects/p/upstream",
        refs=("model/x@v1",),
        status=200,
    )
    if _served(store):  # the server records its own requests; a client writes none
        with pytest.raises(PermissionDenied):
            store.append_audit([event])
        return
    rows = store.append_audit([event, event])
    assert [r.event for r in rows] == [event, event]
    assert rows[1].prev == rows[0].hash
    found = store.audit_rows(agent="carol", ref="model/x")
    assert [r.seq for r in found] == [r.seq for r in rows]
    assert store.audit_rows(agent="carol", until="2026-02-28T23:59:59.999999Z") == []
    assert store.verify_audit().ok
