"""The Store contract, the ledger side: seqs, hashes and signed commits, transactions and
savepoints, refused writes, reopening, other writers, verify.

Runs on every backend of the ``store`` fixture (tests/conftest.py) through the Store protocol
alone; the store starts with alice's ``agent.register`` as its first own record,
``origin.seq(1)`` (a server's project holds the server's own records ahead of it).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from contract_cases import CASES, Case
from contract_helpers import Boom, assert_healthy, blob, fail_inside, resolve, state

import lineal
from lineal.client import Lineal
from lineal.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from lineal.ledger.chain import (
    GENESIS,
    batch_digest,
    batch_message,
    commit_message,
    record_hash,
)
from lineal.ledger.keys import Signer, verify_signature
from lineal.model import canonical
from lineal.model.digests import digest_bytes
from lineal.model.ops import AgentRegister, ArtifactRecord, EdgeRecord, Op, TagSet
from lineal.store.base import Store
from lineal.store.registry import open_store
from store_origin import Origin


def test_the_store_is_a_store(store: Store) -> None:
    """Every backend satisfies the runtime-checkable protocol, as lineal.Store exports it."""
    assert isinstance(store, lineal.Store)
    assert isinstance(store, Store)
    assert not isinstance(object(), Store)


# -- appending: seqs, hashes, commits --------------------------------------------------------
def test_append_gives_consecutive_seqs_and_chained_hashes(store: Store, origin: Origin) -> None:
    *ahead, first = list(store.records(limit=origin.seq(1)))
    assert first.seq == origin.seq(1)
    assert first.op == "agent.register"
    assert first.hash == record_hash(
        ahead[-1].hash if ahead else GENESIS,
        first.seq,
        first.time,
        first.author,
        first.op,
        first.payload_digest,
    )

    ops: list[Op] = [
        ArtifactRecord(kind="dataset", digest=blob("a"), name="ds"),
        ArtifactRecord(kind="dataset", digest=blob("b"), name="ds"),
        EdgeRecord(kind="derived_from", parent=blob("a"), child=blob("b")),
    ]
    written = store.append(ops)
    assert [r.seq for r in written] == origin.seqs(2, 3, 4)
    prev = first.hash
    for record, op in zip(written, ops, strict=True):
        assert record.author == "alice"
        assert record.op == op.OP
        assert record.payload == canonical.encode(op.payload())
        assert record.payload_digest == digest_bytes(record.payload)
        assert record.hash == record_hash(
            prev, record.seq, record.time, record.author, record.op, record.payload_digest
        )
        prev = record.hash
    assert list(store.records(after=origin.seq(1))) == written
    assert store.head() == (origin.seq(4), written[-1].hash)

    more = store.append(TagSet(target=blob("a"), key="stage", value="raw"))
    assert [r.seq for r in more] == [origin.seq(5)]
    assert more[0].hash == record_hash(
        prev, origin.seq(5), more[0].time, "alice", "tag.set", more[0].payload_digest
    )
    assert [r.seq for r in store.records(newest_first=True, limit=2)] == origin.seqs(5, 4)
    assert [r.seq for r in store.records(op="artifact.record")] == origin.seqs(2, 3)
    assert store.leaf_hashes() == [bytes.fromhex(r.hash) for r in store.records()]
    assert store.leaf_hashes(origin.seq(2)) == [
        bytes.fromhex(r.hash) for r in [*ahead, first, written[0]]
    ]
    assert_healthy(store)


def test_one_signed_commit_per_transaction(store: Store, signer: Signer, origin: Origin) -> None:
    store.append(ArtifactRecord(kind="file", digest=blob("a")))
    store.append(
        [
            ArtifactRecord(kind="file", digest=blob("b")),
            ArtifactRecord(kind="file", digest=blob("c")),
            ArtifactRecord(kind="file", digest=blob("d")),
        ]
    )
    assert store.append([]) == []  # nothing appended: nothing to sign

    assert origin.commit_seqs(store) == origin.seqs(1, 2, 5)
    ahead, commits = (
        list(store.commits())[: origin.commits],
        list(store.commits())[origin.commits :],
    )
    records = {r.seq: r for r in store.records()}
    keys = {a.name: a.public_key for a in store.agents()}
    previous = ahead[-1].last_seq if ahead else 0
    for commit in commits:
        assert commit.author == "alice"
        assert commit.key_id == signer.key_id
        assert commit.last_hash == records[commit.last_seq].hash
        # each commit names the one before it: a deleted commit breaks the next signature
        message = commit_message(commit.last_seq, commit.last_hash, previous)
        if commit.batch is None:  # alice signed where her records landed in the chain
            assert verify_signature(signer.public_key, message, commit.sig)
        else:  # a server's project: alice signed her batch, the server where it landed
            mine = [records[seq] for seq in range(previous + 1, commit.last_seq + 1)]
            digest = batch_digest("alice", commit.batch, [(r.op, r.payload_digest) for r in mine])
            assert verify_signature(signer.public_key, batch_message(digest), commit.sig)
            assert commit.server is not None
            assert commit.server_sig is not None
            assert verify_signature(keys[commit.server], message, commit.server_sig)
        previous = commit.last_seq
    report = store.verify()
    assert report.ok
    assert report.commits == origin.commits + 3


def test_atomic_groups_appends_into_one_commit(store: Store, origin: Origin) -> None:
    lin = Lineal(store)
    with lin.atomic():
        raw = lin.record_artifact("dataset", data=b"raw", name="coco")
        clean = lin.record_artifact("dataset", data=b"clean", name="coco")
        lin.link("derived_from", raw, clean)
        run = lin.start_run("train", params={"lr": 0.01})
        lin.link("used", clean, run)
        lin.log_metrics(run, {"loss": 0.5}, step=1)
        lin.finish_run(run)
    assert origin.commit_seqs(store) == origin.seqs(1, 8)
    assert store.head()[0] == origin.seq(8)
    with store.atomic():
        pass  # an empty transaction signs nothing
    assert origin.commit_seqs(store) == origin.seqs(1, 8)
    assert_healthy(store)


def test_nested_atomic_rolls_back_only_the_inner_block(store: Store, origin: Origin) -> None:
    lin = Lineal(store)
    with store.atomic():
        kept = lin.record_artifact("dataset", data=b"kept", name="ds")

        def dropped() -> None:
            lin.record_artifact("dataset", data=b"dropped", name="ds")
            lin.set_tag(kept, "stage", "gone")

        with pytest.raises(Boom):
            fail_inside(store, dropped)
        after = lin.record_artifact("dataset", data=b"after", name="ds")
        with store.atomic():  # a nested block that succeeds is kept
            lin.set_tag(after, "stage", "ok")

    assert [r.seq for r in store.records(after=origin.before)] == origin.seqs(1, 2, 3, 4)
    assert origin.commit_seqs(store) == origin.seqs(1, 4)
    assert kept.seq == origin.seq(2)
    assert after.seq == origin.seq(3)
    assert after.version == 2  # the rolled-back v2 left no trace in the numbering
    assert resolve(store, "dataset/ds").digest == digest_bytes(b"after")  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        resolve(store, f"{digest_bytes(b'dropped')[:20]}")
    assert store.tags(kept.node) == {}
    assert store.tags(after.node) == {"stage": "ok"}
    assert_healthy(store)


def test_deeply_nested_atomic_keeps_outer_levels(store: Store, origin: Origin) -> None:
    with store.atomic():
        store.append(ArtifactRecord(kind="file", digest=blob("1")))
        with store.atomic():
            store.append(ArtifactRecord(kind="file", digest=blob("2")))
            with pytest.raises(Boom):
                fail_inside(
                    store, lambda: store.append(ArtifactRecord(kind="file", digest=blob("3")))
                )
            store.append(ArtifactRecord(kind="file", digest=blob("4")))
    written = store.records(after=origin.seq(1))
    payloads = [canonical.decode(r.payload)["digest"] for r in written]  # type: ignore[arg-type]
    assert payloads == [blob("1"), blob("2"), blob("4")]
    assert origin.commit_seqs(store) == origin.seqs(1, 4)
    assert_healthy(store)


def test_exception_in_outer_block_leaves_nothing(store: Store, origin: Origin) -> None:
    lin = Lineal(store)
    lin.record_artifact("dataset", data=b"before", name="ds")
    before = state(store)

    def everything() -> None:
        art = lin.record_artifact("dataset", data=b"new", name="ds")
        run = lin.start_run("train", params={"epochs": 3})
        lin.link("used", art, run)
        lin.log_metrics(run, {"acc": 0.9}, step=0)
        lin.set_tag(art, "stage", "x")
        with store.atomic():
            lin.set_alias("dataset/ds@v2", "prod")

    with pytest.raises(Boom):
        fail_inside(store, everything)
    assert state(store) == before
    assert store.head()[0] == origin.seq(2)
    # the store is still writable and the chain continues from where it was
    written = store.append(ArtifactRecord(kind="file", digest=blob("z")))
    assert [r.seq for r in written] == [origin.seq(3)]
    assert_healthy(store)


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_refused_write_changes_nothing(store: Store, case: Case) -> None:
    lin = Lineal(store)
    ops, error = case(lin)
    before = state(store)
    head = store.head()

    # alone, and as the last op of a batch whose first op is valid: all or nothing
    with pytest.raises(error):
        store.append(ops)
    assert state(store) == before
    with pytest.raises(error):
        store.append([TagSet(target="agent/alice", key="note", value="valid"), *ops])
    assert state(store) == before
    assert store.head() == head
    assert_healthy(store)


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_refused_write_inside_a_transaction_keeps_the_rest(store: Store, case: Case) -> None:
    """Inside a transaction that already holds writes, a refused append is caught there: the
    transaction's other writes still commit."""
    lin = Lineal(store)
    ops, error = case(lin)
    head = store.head()
    with store.atomic():
        kept = lin.set_tag("agent/alice", "note", "kept")
        with pytest.raises(error):
            store.append(ops)
    assert kept.seq == head[0] + 1
    assert store.head()[0] == kept.seq
    assert next(store.records(newest_first=True)) == kept
    assert list(store.commits())[-1].last_seq == kept.seq
    assert store.tags("agent/alice")["note"] == "kept"
    assert_healthy(store)


def test_refused_redact_after_pending_writes_in_one_transaction(
    store: Store, origin: Origin
) -> None:
    """A redaction flushes the pending records; its refusal must not lose them."""
    lin = Lineal(store)
    art = lin.record_artifact("dataset", data=b"a")
    with store.atomic():
        first = lin.set_tag(art, "stage", "one")
        second = lin.set_tag(art, "owner", "alice")
        with pytest.raises(InvalidInput):
            lin.redact(origin.seq(2), "not allowed")  # an artifact.record
        with pytest.raises(Boom):  # the redaction flushes, then its block rolls back
            fail_inside(store, lambda: lin.redact(first.seq, "inside a block that fails"))
        third = lin.set_tag(art, "stage", "two")
    after = origin.seq(2)
    assert [r.seq for r in store.records(after=after)] == [first.seq, second.seq, third.seq]
    assert [r.seq for r in store.records(after=after)] == origin.seqs(3, 4, 5)
    assert all(r.payload is not None for r in store.records())
    assert list(store.commits())[-1].last_seq == origin.seq(5)
    assert store.tags(art.digest) == {"owner": "alice", "stage": "two"}
    assert_healthy(store)


def test_writing_without_a_signer_is_refused(store: Store, store_uri: str) -> None:
    reader = open_store(store_uri)
    try:
        before = state(store)
        with pytest.raises(PermissionDenied):
            reader.append(ArtifactRecord(kind="file", digest=blob("a")))
        with pytest.raises(PermissionDenied), reader.atomic():
            pass
        with pytest.raises(PermissionDenied):
            Lineal(reader).set_tag("agent/alice", "k", "v")
        assert state(store) == before
        # reading needs no key
        assert reader.head() == store.head()
        assert reader.verify().ok
    finally:
        reader.close()


# -- schema, reopening, other writers, verify ------------------------------------------------
def test_schema_version_and_reopen(
    store: Store,
    store_uri: str,
    signer: Signer,
    origin: Origin,
    reopen: Callable[[Signer], Store],
) -> None:
    version = store.schema_version()
    assert version >= 1  # the SQL backends' exact number: test_sql_projections.py
    Lineal(store).record_artifact("dataset", data=b"a", name="ds")

    reader = open_store(store_uri)
    try:
        assert reader.schema_version() == version
        assert reader.head() == store.head()
        assert list(reader.records()) == list(store.records())
        assert resolve(reader, "dataset/ds").version == 1  # type: ignore[union-attr]
        assert [a.name for a in reader.agents()] == [*origin.agents, "alice"]
    finally:
        reader.close()

    # opening it again as it was made (migrating again, where the client makes the store) is
    # a no-op that keeps the data
    again = reopen(signer)
    try:
        assert again.schema_version() == version
        prev_seq, prev_hash = again.head()
        assert prev_seq == origin.seq(2)
        written = again.append(TagSet(target="agent/alice", key="k", value="v"))[0]
        assert written.seq == origin.seq(3)
        assert written.hash == record_hash(
            prev_hash, written.seq, written.time, "alice", "tag.set", written.payload_digest
        )
    finally:
        again.close()
    assert store.head()[0] == origin.seq(3)  # the first handle sees the other's write
    assert_healthy(store)


def test_two_handles_extend_one_chain(
    store: Store, store_uri: str, signer: Signer, origin: Origin
) -> None:
    other = open_store(store_uri, signer)
    try:
        for n in range(3):
            store.append(ArtifactRecord(kind="file", digest=blob(f"mine{n}")))
            other.append(ArtifactRecord(kind="file", digest=blob(f"theirs{n}")))
        assert [r.seq for r in other.records()] == list(range(1, origin.seq(8)))
        assert origin.commit_seqs(other) == origin.seqs(*range(1, 8))
    finally:
        other.close()
    assert_healthy(store)


def test_second_agent_registers_and_writes(store: Store, store_uri: str, origin: Origin) -> None:
    bob = Signer.generate("bob")
    as_bob = open_store(store_uri, bob)
    try:
        as_bob.append(AgentRegister(name="bob", public_key=bob.public_key))
        Lineal(as_bob).set_tag("agent/bob", "team", "infra")
        # bob cannot add a key to alice's name
        with pytest.raises(Conflict):
            as_bob.append(AgentRegister(name="alice", public_key=bob.public_key))
    finally:
        as_bob.close()
    Lineal(store).set_tag("agent/bob", "reviewed", "yes")
    assert [a.name for a in store.agents()] == [*origin.agents, "alice", "bob"]
    authors = [c.author for c in store.commits()][origin.commits :]
    assert authors == ["alice", "bob", "bob", "alice"]
    report = store.verify()
    assert report.ok, report.problem
    assert report.agents == len(origin.agents) + 2


def test_verify_counts_on_a_healthy_store(store: Store, origin: Origin) -> None:
    report = store.verify()
    assert report.ok
    counts = (report.records, report.commits, report.agents, report.redacted)
    assert counts == (origin.seq(1), origin.commits + 1, len(origin.agents) + 1, 0)
    empty = report.projection_rows
    assert empty >= 1  # alice is projected (the SQL backends' exact rows: test_sql_projections)

    lin = Lineal(store)
    with lin.atomic():
        a = lin.record_artifact("dataset", data=b"a", name="ds")
        b = lin.record_artifact("dataset", data=b"b", name="ds")
        lin.link("derived_from", a, b)
    run = lin.start_run("train", params={"lr": 0.1, "bs": 32})
    lin.log_metrics(run, {"loss": 1.0, "acc": 0.5}, step=0)
    lin.set_tag(run, "gpu", "a100")
    lin.set_alias("dataset/ds@v2", "prod")
    secret = lin.set_tag(run, "secret", "x")
    lin.redact(secret.seq, "erase")

    report = store.verify()
    assert report.ok, report.problem
    assert report.records == store.head()[0] == origin.seq(10)
    assert report.commits == len(list(store.commits())) == origin.commits + 8
    assert report.agents == len(origin.agents) + 1
    assert report.redacted == 1
    assert report.head == store.head()[1]
    # every fact written adds projected rows; the erased tag's are gone again
    assert report.projection_rows > empty
    assert store.tags(run.ref) == {"gpu": "a100"}
    assert report.as_dict()["ok"] is True
    assert report.as_dict()["problem"] is None
