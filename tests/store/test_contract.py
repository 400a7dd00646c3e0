"""The Store contract: what every backend must do, run against SQLite and PostgreSQL alike.

Every test takes the ``store`` (or ``store_uri``) fixture, which is parametrized over both
backends; the store starts with alice's ``agent.register`` as record 1.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from ulid import ULID

from lineal.client import Lineal
from lineal.errors import Conflict, InvalidInput, LinealError, NotFound, PermissionDenied
from lineal.ledger.chain import GENESIS, commit_message, record_hash
from lineal.ledger.keys import Signer, verify_signature
from lineal.model import canonical
from lineal.model.digests import digest_bytes
from lineal.model.entities import Artifact, Run
from lineal.model.ops import (
    AgentRegister,
    AliasSet,
    ArtifactRecord,
    EdgeRecord,
    MetricsBatch,
    Op,
    Redact,
    RunFinish,
    RunParams,
    RunStart,
    TagSet,
)
from lineal.model.refs import parse
from lineal.model.series import Series
from lineal.store.registry import open_store
from lineal.store.sql import queries
from lineal.store.sql.base import SqlStore
from lineal.store.sql.migrations import PROJECTION_TABLES, SCHEMA_VERSION

T0 = "2026-01-01T00:00:00.000000Z"
T1 = "2026-01-01T00:00:01.000000Z"

LEDGER_TABLES: dict[str, tuple[str, ...]] = {
    "ledger": ("seq", "time", "author", "op", "payload_digest", "hash", "payload"),
    "commits": ("last_seq", "last_hash", "author", "key_id", "sig"),
}


# -- helpers ---------------------------------------------------------------------------------
def blob(label: str) -> str:
    """A distinct, stable artifact digest per label."""
    return digest_bytes(label.encode())


def new_run_id() -> str:
    return str(ULID())


def series(
    key: str,
    steps: Sequence[int],
    values: Sequence[float],
    times: Sequence[float] | None = None,
) -> Series:
    """One metric's points (times default to one second past the epoch, per point)."""
    return Series(
        key,
        array("q", steps),
        array("d", values),
        array("d", [1.0] * len(steps) if times is None else times),
    )


def rows_of(store: SqlStore, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in store.sql().all(sql, params)]


def run_metrics(store: SqlStore, run_id: str) -> list[tuple[Any, ...]]:
    """(key, value, step, points, seq) of each of the run's latest metrics, by key."""
    return rows_of(
        store,
        "SELECT key, value, step, points, seq FROM run_metrics WHERE run_id = ? ORDER BY key",
        (run_id,),
    )


def metric_batches(store: SqlStore, run_id: str) -> list[tuple[Any, ...]]:
    """(key, seq, points, first_step, last_step) of each of the run's batch rows."""
    return rows_of(
        store,
        "SELECT key, seq, points, first_step, last_step FROM metric_batches "
        "WHERE run_id = ? ORDER BY seq, key",
        (run_id,),
    )


def snapshot(store: SqlStore) -> dict[str, list[str]]:
    """Every row of the ledger, the commits and every projection table, order-free."""
    db = store.sql()
    tables = {**LEDGER_TABLES, **PROJECTION_TABLES}
    out: dict[str, list[str]] = {}
    for table, columns in tables.items():
        rows = db.all(f"SELECT {', '.join(columns)} FROM {table}")
        out[table] = sorted(
            repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)) for row in rows
        )
    return out


def resolve(store: SqlStore, ref: str) -> Artifact | Run:
    return queries.resolve(store.sql(), parse(ref))


def alias_as_of(store: SqlStore, kind: str, name: str, alias: str, seq: int) -> str | None:
    row = store.sql().one(
        "SELECT digest FROM aliases WHERE kind = ? AND name = ? AND alias = ? "
        "AND seq <= ? AND (until_seq IS NULL OR until_seq > ?)",
        (kind, name, alias, seq, seq),
    )
    return None if row is None else str(row[0])


def tag_as_of(store: SqlStore, target: str, key: str, seq: int) -> str | None:
    row = store.sql().one(
        "SELECT value FROM tags WHERE target = ? AND key = ? "
        "AND seq <= ? AND (until_seq IS NULL OR until_seq > ?)",
        (target, key, seq, seq),
    )
    return None if row is None else str(row[0])


class Boom(Exception):
    """Raised inside a transaction to make it roll back."""


def fail_inside(store: SqlStore, body: Callable[[], object]) -> None:
    """Run ``body`` inside ``store.atomic()`` (a savepoint when nested), then raise Boom."""
    with store.atomic():
        body()
        raise Boom


def assert_healthy(store: SqlStore) -> None:
    report = store.verify()
    assert report.ok, report.problem
    seq, head = store.head()
    assert report.records == seq
    assert report.head == head


# -- appending: seqs, hashes, commits --------------------------------------------------------
def test_append_gives_consecutive_seqs_and_chained_hashes(store: SqlStore) -> None:
    first = next(store.records())
    assert first.seq == 1
    assert first.op == "agent.register"
    assert first.hash == record_hash(
        GENESIS, 1, first.time, first.author, first.op, first.payload_digest
    )

    ops: list[Op] = [
        ArtifactRecord(kind="dataset", digest=blob("a"), name="ds"),
        ArtifactRecord(kind="dataset", digest=blob("b"), name="ds"),
        EdgeRecord(kind="derived_from", parent=blob("a"), child=blob("b")),
    ]
    written = store.append(ops)
    assert [r.seq for r in written] == [2, 3, 4]
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
    assert list(store.records(after=1)) == written
    assert store.head() == (4, written[-1].hash)

    more = store.append(TagSet(target=blob("a"), key="stage", value="raw"))
    assert [r.seq for r in more] == [5]
    assert more[0].hash == record_hash(
        prev, 5, more[0].time, "alice", "tag.set", more[0].payload_digest
    )
    assert [r.seq for r in store.records(newest_first=True, limit=2)] == [5, 4]
    assert [r.seq for r in store.records(op="artifact.record")] == [2, 3]
    assert store.leaf_hashes() == [bytes.fromhex(r.hash) for r in store.records()]
    assert store.leaf_hashes(2) == [bytes.fromhex(first.hash), bytes.fromhex(written[0].hash)]
    assert_healthy(store)


def test_one_signed_commit_per_transaction(store: SqlStore, signer: Signer) -> None:
    store.append(ArtifactRecord(kind="file", digest=blob("a")))
    store.append(
        [
            ArtifactRecord(kind="file", digest=blob("b")),
            ArtifactRecord(kind="file", digest=blob("c")),
            ArtifactRecord(kind="file", digest=blob("d")),
        ]
    )
    assert store.append([]) == []  # nothing appended: nothing to sign

    commits = list(store.commits())
    assert [c.last_seq for c in commits] == [1, 2, 5]
    hashes = {r.seq: r.hash for r in store.records()}
    previous = 0
    for commit in commits:
        assert commit.author == "alice"
        assert commit.key_id == signer.key_id
        assert commit.last_hash == hashes[commit.last_seq]
        # each commit names the one before it: a deleted commit breaks the next signature
        message = commit_message(commit.last_seq, commit.last_hash, previous)
        assert verify_signature(signer.public_key, message, commit.sig)
        previous = commit.last_seq
    report = store.verify()
    assert report.ok
    assert report.commits == 3


def test_atomic_groups_appends_into_one_commit(store: SqlStore) -> None:
    lin = Lineal(store)
    with lin.atomic():
        raw = lin.record_artifact("dataset", data=b"raw", name="coco")
        clean = lin.record_artifact("dataset", data=b"clean", name="coco")
        lin.link("derived_from", raw, clean)
        run = lin.start_run("train", params={"lr": 0.01})
        lin.link("used", clean, run)
        lin.log_metrics(run, {"loss": 0.5}, step=1)
        lin.finish_run(run)
    assert [c.last_seq for c in store.commits()] == [1, 8]
    assert store.head()[0] == 8
    with store.atomic():
        pass  # an empty transaction signs nothing
    assert [c.last_seq for c in store.commits()] == [1, 8]
    assert_healthy(store)


def test_nested_atomic_rolls_back_only_the_inner_block(store: SqlStore) -> None:
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

    assert [r.seq for r in store.records()] == [1, 2, 3, 4]
    assert [c.last_seq for c in store.commits()] == [1, 4]
    assert kept.seq == 2
    assert after.seq == 3
    assert after.version == 2  # the rolled-back v2 left no trace in the numbering
    assert resolve(store, "dataset/ds").digest == digest_bytes(b"after")  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        resolve(store, f"{digest_bytes(b'dropped')[:20]}")
    assert queries.tags(store.sql(), kept.node) == {}
    assert queries.tags(store.sql(), after.node) == {"stage": "ok"}
    assert_healthy(store)


def test_deeply_nested_atomic_keeps_outer_levels(store: SqlStore) -> None:
    with store.atomic():
        store.append(ArtifactRecord(kind="file", digest=blob("1")))
        with store.atomic():
            store.append(ArtifactRecord(kind="file", digest=blob("2")))
            with pytest.raises(Boom):
                fail_inside(
                    store, lambda: store.append(ArtifactRecord(kind="file", digest=blob("3")))
                )
            store.append(ArtifactRecord(kind="file", digest=blob("4")))
    payloads = [canonical.decode(r.payload)["digest"] for r in store.records(after=1)]  # type: ignore[arg-type]
    assert payloads == [blob("1"), blob("2"), blob("4")]
    assert [c.last_seq for c in store.commits()] == [1, 4]
    assert_healthy(store)


def test_exception_in_outer_block_leaves_nothing(store: SqlStore) -> None:
    lin = Lineal(store)
    lin.record_artifact("dataset", data=b"before", name="ds")
    before = snapshot(store)

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
    assert snapshot(store) == before
    assert store.head()[0] == 2
    # the store is still writable and the chain continues from where it was
    assert [r.seq for r in store.append(ArtifactRecord(kind="file", digest=blob("z")))] == [3]
    assert_healthy(store)


# -- refused writes --------------------------------------------------------------------------
Case = Callable[[Lineal], tuple[list[Op], type[LinealError]]]


def _edge_to_unknown_child(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    known = lin.record_artifact("dataset", data=b"known")
    return [EdgeRecord(kind="derived_from", parent=known.digest, child=blob("ghost"))], NotFound


def _edge_from_unknown_run(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    known = lin.record_artifact("model", data=b"known")
    op = EdgeRecord(kind="generated", parent=f"run/{new_run_id()}", child=known.digest)
    return [op], NotFound


def _edge_from_unknown_agent(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    run = lin.start_run("train")
    return [EdgeRecord(kind="associated_with", parent="agent/mallory", child=run.ref)], NotFound


def _two_cycle(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    a = lin.record_artifact("dataset", data=b"a")
    b = lin.record_artifact("dataset", data=b"b")
    lin.link("derived_from", a, b)
    return [EdgeRecord(kind="derived_from", parent=b.digest, child=a.digest)], Conflict


def _long_cycle_across_kinds(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    a = lin.record_artifact("dataset", data=b"a")
    run = lin.start_run("train")
    model = lin.record_artifact("model", data=b"m")
    lin.link("used", a, run)
    lin.link("generated", run, model)
    return [EdgeRecord(kind="labeled_with", parent=model.digest, child=a.digest)], Conflict


def _cycle_within_one_batch(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    a = lin.record_artifact("dataset", data=b"a")
    run = lin.start_run("train")
    model = lin.record_artifact("model", data=b"m")
    return [
        EdgeRecord(kind="used", parent=a.digest, child=run.ref),
        EdgeRecord(kind="generated", parent=run.ref, child=model.digest),
        EdgeRecord(kind="labeled_with", parent=model.digest, child=a.digest),
    ], Conflict


def _unknown_node_after_good_edges(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    a = lin.record_artifact("dataset", data=b"a")
    run = lin.start_run("train")
    return [
        EdgeRecord(kind="used", parent=a.digest, child=run.ref),
        EdgeRecord(kind="used", parent="sha256:" + "e" * 64, child=run.ref),
    ], NotFound


def _finish_unknown_run(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    return [RunFinish(id=new_run_id(), status="finished", ended=T1)], NotFound


def _finish_twice(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    run = lin.finish_run(lin.start_run("train"), status="failed")
    return [RunFinish(id=run.id, status="finished", ended=T1)], Conflict


def _metrics_for_unknown_run(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    return [MetricsBatch(run=new_run_id(), series=(series("loss", [0], [1.0]),))], NotFound


def _metrics_going_back(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    run = lin.start_run("train")
    lin.log_metrics(run, {"loss": 1.0, "acc": 0.5}, step=5)
    # acc moves on, but loss starts below its latest step: the whole batch is refused
    op = MetricsBatch(
        run=run.id, series=(series("acc", [6], [0.6]), series("loss", [4, 7], [1, 2]))
    )
    return [op], Conflict


def _params_unknown_run(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    return [RunParams(id=new_run_id(), params={"lr": 0.1})], NotFound


def _params_set_twice(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    run = lin.start_run("train", params={"lr": 0.1})
    lin.store.append(RunParams(id=run.id, params={"split": "a"}))
    return [RunParams(id=run.id, params={"epochs": 3, "split": "b"})], Conflict


def _params_twice_in_one_batch(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    run = lin.start_run("train")
    ops: list[Op] = [
        RunParams(id=run.id, params={"split": "a"}),
        RunParams(id=run.id, params={"split": "a"}),
    ]
    return ops, Conflict


def _params_repeat_a_start_param(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    run = lin.start_run("train", params={"lr": 0.1})
    return [RunParams(id=run.id, params={"lr": 0.1})], Conflict


def _alias_to_other_names_version(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    lin.record_artifact("model", data=b"m1", name="det")
    other = lin.record_artifact("model", data=b"m2", name="cls")
    op = AliasSet(kind="model", name="det", alias="prod", digest=other.digest)
    return [op], NotFound


def _alias_under_other_kind(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    model = lin.record_artifact("model", data=b"m1", name="det")
    op = AliasSet(kind="dataset", name="det", alias="prod", digest=model.digest)
    return [op], NotFound


def _alias_to_unknown_digest(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    lin.record_artifact("model", data=b"m1", name="det")
    return [AliasSet(kind="model", name="det", alias="prod", digest=blob("ghost"))], NotFound


def _run_started_twice(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    run = lin.start_run("train")
    return [RunStart(id=run.id, name="again", started=T0)], Conflict


def _run_started_twice_in_one_batch(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    run_id = new_run_id()
    ops: list[Op] = [
        RunStart(id=run_id, name="one", started=T0),
        RunStart(id=run_id, name="two", started=T0),
    ]
    return ops, Conflict


def _digest_as_two_kinds_unnamed(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    lin.record_artifact("dataset", digest=blob("x"))
    return [ArtifactRecord(kind="config", digest=blob("x"))], Conflict


def _tag_unknown_node(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    return [TagSet(target=blob("ghost"), key="stage", value="x")], NotFound


def _tag_unknown_run(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    return [TagSet(target=f"run/{new_run_id()}", key="stage", value="x")], NotFound


def _redact_artifact_record(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    art = lin.record_artifact("dataset", data=b"a")
    assert art.seq is not None
    return [Redact(seq=art.seq, reason="erase")], InvalidInput


def _redact_agent_register(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    return [Redact(seq=1, reason="erase")], InvalidInput


def _redact_twice(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    tag = lin.set_tag("agent/alice", "email", "alice@example.com")
    lin.redact(tag.seq, "gdpr")
    return [Redact(seq=tag.seq, reason="again")], Conflict


def _redact_a_later_record(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    head = lin.store.head()[0]
    return [Redact(seq=head + 5, reason="future")], InvalidInput


def _register_same_key_again(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    signer = lin.store.signer
    assert signer is not None
    return [AgentRegister(name="alice", public_key=signer.public_key)], Conflict


CASES: dict[str, Case] = {
    "edge-to-unknown-node": _edge_to_unknown_child,
    "edge-from-unknown-run": _edge_from_unknown_run,
    "edge-from-unknown-agent": _edge_from_unknown_agent,
    "cycle-a-b-a": _two_cycle,
    "cycle-through-a-run": _long_cycle_across_kinds,
    "cycle-within-one-batch": _cycle_within_one_batch,
    "unknown-node-after-good-edges": _unknown_node_after_good_edges,
    "finish-unknown-run": _finish_unknown_run,
    "finish-twice": _finish_twice,
    "metrics-unknown-run": _metrics_for_unknown_run,
    "metrics-going-back": _metrics_going_back,
    "params-unknown-run": _params_unknown_run,
    "params-set-twice": _params_set_twice,
    "params-twice-in-one-batch": _params_twice_in_one_batch,
    "params-repeat-a-start-param": _params_repeat_a_start_param,
    "alias-to-other-names-version": _alias_to_other_names_version,
    "alias-under-other-kind": _alias_under_other_kind,
    "alias-to-unknown-digest": _alias_to_unknown_digest,
    "run-start-same-id": _run_started_twice,
    "run-start-same-id-one-batch": _run_started_twice_in_one_batch,
    "digest-as-two-kinds-unnamed": _digest_as_two_kinds_unnamed,
    "tag-unknown-artifact": _tag_unknown_node,
    "tag-unknown-run": _tag_unknown_run,
    "redact-artifact-record": _redact_artifact_record,
    "redact-agent-register": _redact_agent_register,
    "redact-twice": _redact_twice,
    "redact-not-earlier": _redact_a_later_record,
    "register-same-key": _register_same_key_again,
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_refused_write_changes_nothing(store: SqlStore, case: Case) -> None:
    lin = Lineal(store)
    ops, error = case(lin)
    before = snapshot(store)
    head = store.head()

    # alone, and as the last op of a batch whose first op is valid: all or nothing
    with pytest.raises(error):
        store.append(ops)
    assert snapshot(store) == before
    with pytest.raises(error):
        store.append([TagSet(target="agent/alice", key="note", value="valid"), *ops])
    assert snapshot(store) == before
    assert store.head() == head
    assert_healthy(store)

    # inside a transaction that already holds writes, caught there: the rest still commits
    with store.atomic():
        kept = lin.set_tag("agent/alice", "note", "kept")
        with pytest.raises(error):
            store.append(ops)
    assert kept.seq == head[0] + 1
    assert store.head()[0] == kept.seq
    assert next(store.records(newest_first=True)) == kept
    assert list(store.commits())[-1].last_seq == kept.seq
    assert queries.tags(store.sql(), "agent/alice")["note"] == "kept"
    assert_healthy(store)


def test_refused_redact_after_pending_writes_in_one_transaction(store: SqlStore) -> None:
    """A redaction flushes the pending records; its refusal must not lose them."""
    lin = Lineal(store)
    art = lin.record_artifact("dataset", data=b"a")
    with store.atomic():
        first = lin.set_tag(art, "stage", "one")
        second = lin.set_tag(art, "owner", "alice")
        with pytest.raises(InvalidInput):
            lin.redact(2, "not allowed")  # an artifact.record
        with pytest.raises(Boom):  # the redaction flushes, then its block rolls back
            fail_inside(store, lambda: lin.redact(first.seq, "inside a block that fails"))
        third = lin.set_tag(art, "stage", "two")
    assert [r.seq for r in store.records(after=2)] == [first.seq, second.seq, third.seq]
    assert [r.seq for r in store.records(after=2)] == [3, 4, 5]
    assert all(r.payload is not None for r in store.records())
    assert list(store.commits())[-1].last_seq == 5
    assert queries.tags(store.sql(), art.digest) == {"owner": "alice", "stage": "two"}
    assert_healthy(store)


def test_writing_without_a_signer_is_refused(store: SqlStore, store_uri: str) -> None:
    reader = open_store(store_uri)
    try:
        before = snapshot(store)
        with pytest.raises(PermissionDenied):
            reader.append(ArtifactRecord(kind="file", digest=blob("a")))
        with pytest.raises(PermissionDenied), reader.atomic():
            pass
        with pytest.raises(PermissionDenied):
            Lineal(reader).set_tag("agent/alice", "k", "v")
        assert snapshot(store) == before
        # reading needs no key
        assert reader.head() == store.head()
        assert reader.verify().ok
    finally:
        reader.close()


# -- versions and references -----------------------------------------------------------------
def test_versions_are_numbered_per_kind_and_name_in_arrival_order(store: SqlStore) -> None:
    lin = Lineal(store)
    v1 = lin.record_artifact("dataset", digest=blob("1"), name="coco")
    v2 = lin.record_artifact("dataset", digest=blob("2"), name="coco")
    again = lin.record_artifact("dataset", digest=blob("1"), name="coco")
    v3 = lin.record_artifact("dataset", digest=blob("3"), name="coco")
    other_name = lin.record_artifact("dataset", digest=blob("2"), name="voc")
    other_kind = lin.record_artifact("model", digest=blob("m"), name="coco")
    unnamed = lin.record_artifact("dataset", digest=blob("3"))

    assert [v1.version, v2.version, again.version, v3.version] == [1, 2, 1, 3]
    assert again.digest == v1.digest
    assert other_name.version == 1
    assert other_kind.version == 1
    assert unnamed.version is None
    rows = store.sql().all("SELECT kind, name, version, digest FROM versions ORDER BY seq")
    assert [tuple(r) for r in rows] == [
        ("dataset", "coco", 1, blob("1")),
        ("dataset", "coco", 2, blob("2")),
        ("dataset", "coco", 3, blob("3")),
        ("dataset", "voc", 1, blob("2")),
        ("model", "coco", 1, blob("m")),
    ]
    # an artifact row is made once, by its first record
    assert store.sql().one("SELECT seq FROM artifacts WHERE digest = ?", (blob("1"),)) == (2,)
    assert store.head()[0] == 8  # every call was still recorded in the ledger
    assert_healthy(store)


@pytest.fixture
def catalogue(store: SqlStore) -> dict[str, Any]:
    """Three versions of dataset/coco, an alias, a run, and digests sharing a prefix."""
    lin = Lineal(store)
    shared = "sha256:abcdef01"
    twins = [shared + "0" * 55 + "1", shared + "0" * 55 + "2"]
    with lin.atomic():
        for n in (1, 2, 3):
            lin.record_artifact("dataset", digest=blob(f"coco{n}"), name="coco", size=n)
        lin.record_artifact("model", digest=twins[0], name="twin")
        lin.record_artifact("model", digest=twins[1], name="twin")
        lin.set_alias("dataset/coco@v2", "prod")
        run = lin.start_run("train", params={"lr": 0.1, "layers": [64, 32]}, meta={"gpu": "a100"})
        unnamed = lin.record_artifact("file", data=b"loose", uri="s3://bucket/loose")
    return {"run": run, "twins": twins, "unnamed": unnamed}


def test_resolve_references(store: SqlStore, catalogue: dict[str, Any]) -> None:
    latest = resolve(store, "dataset/coco")
    assert isinstance(latest, Artifact)
    assert (latest.digest, latest.name, latest.version, latest.size) == (
        blob("coco3"),
        "coco",
        3,
        3,
    )
    assert resolve(store, "dataset/coco@v1").digest == blob("coco1")  # type: ignore[union-attr]

    by_prefix = resolve(store, f"dataset/coco@{blob('coco2')[:15]}")
    assert isinstance(by_prefix, Artifact)
    assert (by_prefix.digest, by_prefix.version) == (blob("coco2"), 2)
    full = resolve(store, f"dataset/coco@{blob('coco2')}")
    assert full == by_prefix

    aliased = resolve(store, "dataset/coco:prod")
    assert isinstance(aliased, Artifact)
    assert (aliased.digest, aliased.version) == (blob("coco2"), 2)

    run = catalogue["run"]
    found = resolve(store, f"run/{run.id}")
    assert isinstance(found, Run)
    assert found == run
    assert found.params == {"lr": 0.1, "layers": [64, 32]}
    assert found.meta == {"gpu": "a100"}
    assert found.status == "running"

    bare = resolve(store, catalogue["unnamed"].digest[:16])
    assert isinstance(bare, Artifact)
    assert (bare.digest, bare.name, bare.version) == (catalogue["unnamed"].digest, None, None)
    assert bare.uri == "s3://bucket/loose"
    assert bare.size == 5
    # a bare digest finds named artifacts too (without their name)
    assert resolve(store, blob("coco1")).digest == blob("coco1")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "ref",
    [
        "dataset/nope",
        "model/coco",  # the name exists, but under another kind
        "dataset/coco@v4",
        "dataset/coco:staging",
        "dataset/coco@sha256:ffffffffffff",
        "sha256:ffffffffffff",
        "run/01ARZ3NDEKTSV4RRFFQ69G5FAV",
    ],
)
def test_resolve_not_found(store: SqlStore, catalogue: dict[str, Any], ref: str) -> None:
    with pytest.raises(NotFound):
        resolve(store, ref)


def test_resolve_not_found_names_latest_version(store: SqlStore, catalogue: dict[str, Any]) -> None:
    with pytest.raises(NotFound, match=r"the latest is dataset/coco@v3"):
        resolve(store, "dataset/coco@v9")
    # a digest of another name is no version of this one
    with pytest.raises(NotFound):
        resolve(store, f"dataset/coco@{catalogue['twins'][0]}")


def test_resolve_ambiguous_prefix(store: SqlStore, catalogue: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match="ambiguous"):
        resolve(store, "sha256:abcdef01")
    with pytest.raises(InvalidInput, match="ambiguous"):
        resolve(store, "model/twin@sha256:abcdef0100")
    # the twins differ only in their last hex digit: the full digest tells them apart
    assert resolve(store, catalogue["twins"][1]).digest == catalogue["twins"][1]  # type: ignore[union-attr]
    named = resolve(store, f"model/twin@{catalogue['twins'][0]}")
    assert named.version == 1  # type: ignore[union-attr]


# -- aliases, tags, metrics ------------------------------------------------------------------
def test_alias_moves_and_keeps_its_history(store: SqlStore) -> None:
    lin = Lineal(store)
    v1 = lin.record_artifact("model", digest=blob("m1"), name="det")
    v2 = lin.record_artifact("model", digest=blob("m2"), name="det")
    s1 = store.append(AliasSet(kind="model", name="det", alias="prod", digest=v1.digest))[0].seq
    s_other = lin.set_tag(v1, "note", "between")  # an unrelated record between the moves
    s2 = store.append(AliasSet(kind="model", name="det", alias="prod", digest=v2.digest))[0].seq
    assert s1 < s_other.seq < s2

    rows = store.sql().all(
        "SELECT digest, seq, until_seq FROM aliases "
        "WHERE kind = 'model' AND name = 'det' AND alias = 'prod' ORDER BY seq"
    )
    assert [tuple(r) for r in rows] == [(v1.digest, s1, s2), (v2.digest, s2, None)]
    assert resolve(store, "model/det:prod").digest == v2.digest  # type: ignore[union-attr]
    # time travel
    assert alias_as_of(store, "model", "det", "prod", s1 - 1) is None
    assert alias_as_of(store, "model", "det", "prod", s1) == v1.digest
    assert alias_as_of(store, "model", "det", "prod", s2 - 1) == v1.digest
    assert alias_as_of(store, "model", "det", "prod", s2) == v2.digest

    # pointing it at the same version again closes the old row and opens a new one
    s3 = store.append(AliasSet(kind="model", name="det", alias="prod", digest=v2.digest))[0].seq
    # removal closes the current row and opens none
    s4 = store.append(AliasSet(kind="model", name="det", alias="prod", digest=None))[0].seq
    rows = store.sql().all(
        "SELECT digest, seq, until_seq FROM aliases WHERE alias = 'prod' ORDER BY seq"
    )
    assert [tuple(r) for r in rows] == [
        (v1.digest, s1, s2),
        (v2.digest, s2, s3),
        (v2.digest, s3, s4),
    ]
    with pytest.raises(NotFound):
        resolve(store, "model/det:prod")
    assert alias_as_of(store, "model", "det", "prod", s3) == v2.digest
    assert alias_as_of(store, "model", "det", "prod", s4) is None
    assert Lineal(store).show("model/det@v1")["aliases"] == []

    # aliases of one name are independent of each other and of other names
    lin.set_alias("model/det@v1", "staging")
    assert resolve(store, "model/det:staging").digest == v1.digest  # type: ignore[union-attr]
    assert Lineal(store).show("model/det@v1")["aliases"] == ["model/det:staging"]
    assert_healthy(store)


def test_tags_set_replace_and_remove(store: SqlStore) -> None:
    lin = Lineal(store)
    art = lin.record_artifact("dataset", data=b"a")
    s1 = lin.set_tag(art, "stage", "dev").seq
    s2 = lin.set_tag(art, "stage", "prod").seq
    lin.set_tag(art, "owner", "alice")
    assert queries.tags(store.sql(), art.digest) == {"owner": "alice", "stage": "prod"}
    s4 = lin.set_tag(art, "stage", None).seq
    assert queries.tags(store.sql(), art.digest) == {"owner": "alice"}

    rows = store.sql().all(
        "SELECT value, seq, until_seq FROM tags WHERE target = ? AND key = 'stage' ORDER BY seq",
        (art.digest,),
    )
    assert [tuple(r) for r in rows] == [("dev", s1, s2), ("prod", s2, s4)]
    assert tag_as_of(store, art.digest, "stage", s1) == "dev"
    assert tag_as_of(store, art.digest, "stage", s2) == "prod"
    assert tag_as_of(store, art.digest, "stage", s4) is None

    # removing a tag that was never set is recorded but changes no row
    lin.set_tag(art, "never", None)
    assert store.sql().one("SELECT COUNT(*) FROM tags WHERE key = 'never'") == (0,)
    # tags on runs and agents
    run = lin.start_run("train")
    lin.set_tag(run, "gpu", "a100")
    lin.set_tag("agent/alice", "team", "vision")
    assert queries.tags(store.sql(), f"run/{run.id}") == {"gpu": "a100"}
    assert queries.tags(store.sql(), "agent/alice") == {"team": "vision"}
    assert Lineal(store).show(run.ref)["tags"] == {"gpu": "a100"}
    assert_healthy(store)


def test_metrics_batch_rows(store: SqlStore) -> None:
    lin = Lineal(store)
    run = lin.start_run("train", params={"lr": 0.001})
    op = MetricsBatch(
        run=run.id,
        series=(
            series("loss", [0, 1, 2], [2.5, 2.0, 1.5], [10.0, 11.0, 12.5]),
            series("acc", [0], [0.1], [10.0]),
        ),
    )
    first = store.append(op)[0]
    # the ledger keeps the packed series exactly
    assert first.payload == op.encode() == canonical.encode(op.payload())
    assert MetricsBatch.from_payload(canonical.decode(first.payload)) == op
    assert metric_batches(store, run.id) == [
        ("acc", first.seq, 1, 0, 0),
        ("loss", first.seq, 3, 0, 2),
    ]
    assert run_metrics(store, run.id) == [
        ("acc", 0.1, 0, 1, first.seq),
        ("loss", 1.5, 2, 3, first.seq),  # a batch's last point is the latest value
    ]

    second = lin.log_metrics(run, {"loss": 1.25, "acc": 1}, step=3)
    assert metric_batches(store, run.id) == [
        ("acc", first.seq, 1, 0, 0),
        ("loss", first.seq, 3, 0, 2),
        ("acc", second.seq, 1, 3, 3),
        ("loss", second.seq, 1, 3, 3),
    ]
    latest = run_metrics(store, run.id)
    assert latest == [
        ("acc", 1.0, 3, 2, second.seq),
        ("loss", 1.25, 3, 4, second.seq),
    ]
    assert all(isinstance(row[1], float) for row in latest)
    assert all(
        row[0] == run.id
        for table in ("metric_batches", "run_metrics")
        for row in store.sql().all(f"SELECT run_id FROM {table}")
    )

    details = queries.run_details(store.sql(), run.id)
    assert details["metrics"] == {
        "acc": {"step": 3, "value": 1.0},
        "loss": {"step": 3, "value": 1.25},
    }
    assert details["metric_points"] == 6
    assert resolve(store, run.ref).metrics == {"acc": 1.0, "loss": 1.25}  # type: ignore[union-attr]

    finished = lin.finish_run(run, summary={"best": 1.25})
    finish_seq = store.head()[0]
    assert finished.status == "finished"
    assert finished.ended is not None
    details = queries.run_details(store.sql(), run.id)
    assert details["summary"] == {"best": 1.25}
    # a summary number is a metric too: set by the finish, so it has no step
    assert details["metrics"]["best"] == {"step": None, "value": 1.25}
    assert details["metric_points"] == 6
    assert ("best", 1.25, None, 0, finish_seq) in run_metrics(store, run.id)
    # metrics may still arrive after the run finished (late flushes)
    late = lin.log_metrics(run, {"loss": 1.0}, step=4)
    assert ("loss", 1.0, 4, 5, late.seq) in run_metrics(store, run.id)
    assert metric_batches(store, run.id)[-1] == ("loss", late.seq, 1, 4, 4)
    assert queries.run_details(store.sql(), run.id)["metric_points"] == 7
    assert_healthy(store)


def test_metrics_going_back_are_refused_and_change_nothing(store: SqlStore) -> None:
    lin = Lineal(store)
    run = lin.start_run("train")
    other = lin.start_run("eval")
    lin.log_metrics(run, {"loss": 1.0, "acc": 0.5}, step=5)
    before = snapshot(store)
    head = store.head()

    going_back = [
        MetricsBatch(run=run.id, series=(series("loss", [4], [0.9]),)),
        # only one key goes back: the whole batch is refused, the other key with it
        MetricsBatch(
            run=run.id, series=(series("acc", [6], [0.6]), series("loss", [4, 9], [1, 2]))
        ),
        MetricsBatch(run=run.id, series=(series("loss", [-(2**63)], [0.0]),)),
    ]
    for op in going_back:
        with pytest.raises(Conflict, match="goes back"):
            store.append(op)
        assert snapshot(store) == before
        assert store.head() == head
    # a valid batch of another run in the same append is refused with it
    with pytest.raises(Conflict, match="goes back"):
        store.append(
            [MetricsBatch(run=other.id, series=(series("loss", [0], [1.0]),)), going_back[0]]
        )
    assert snapshot(store) == before
    assert run_metrics(store, other.id) == []

    # the same step again is not going back; a new key starts anywhere; runs are independent
    same = lin.log_metrics(run, {"loss": 0.75}, step=5)
    fresh = store.append(MetricsBatch(run=run.id, series=(series("lr", [-3, -2], [0.1, 0.2]),)))[0]
    elsewhere = lin.log_metrics(other, {"loss": 2.0}, step=0)
    assert run_metrics(store, run.id) == [
        ("acc", 0.5, 5, 1, head[0]),
        ("loss", 0.75, 5, 2, same.seq),
        ("lr", 0.2, -2, 2, fresh.seq),
    ]
    assert run_metrics(store, other.id) == [("loss", 2.0, 0, 1, elsewhere.seq)]
    # after the run finished, late metrics are still held to their order
    lin.finish_run(run)
    with pytest.raises(Conflict, match="goes back"):
        store.append(MetricsBatch(run=run.id, series=(series("acc", [1], [0.1]),)))
    assert_healthy(store)


def test_finish_summary_overrides_the_latest_metrics(store: SqlStore) -> None:
    lin = Lineal(store)
    run = lin.start_run("train")
    logged = store.append(
        MetricsBatch(
            run=run.id,
            series=(
                series("loss", [0, 1], [1.0, 0.5]),
                series("acc", [0, 1], [0.5, 0.75]),
                series("kept", [3], [7.0]),
            ),
        )
    )[0]
    summary = {
        "loss": "nan",  # the string stands for a NaN, stored as NULL
        "acc": 0.9,
        "top": "inf",
        "bottom": "-inf",
        "count": 12,
        "zero": -0.0,
        "note": "not a number",
        "flag": True,
        "NaN": "NaN",  # only the lowercase spellings are numbers
        "nested": {"a": 1},
    }
    lin.finish_run(run, summary=summary)
    finish_seq = store.head()[0]
    assert run_metrics(store, run.id) == [
        ("acc", 0.9, None, 2, finish_seq),
        ("bottom", -math.inf, None, 0, finish_seq),
        ("count", 12.0, None, 0, finish_seq),
        ("kept", 7.0, 3, 1, logged.seq),  # not in the summary: the logged value stays
        ("loss", None, None, 2, finish_seq),
        ("top", math.inf, None, 0, finish_seq),
        ("zero", 0.0, None, 0, finish_seq),
    ]
    zero = store.sql().one("SELECT value FROM run_metrics WHERE key = 'zero'")
    assert zero is not None
    assert math.copysign(1.0, zero[0]) == 1.0  # no negative zero (SQLite cannot keep one)
    details = queries.run_details(store.sql(), run.id)
    assert details["summary"] == summary  # the summary itself is kept as given
    assert details["metrics"]["loss"] == {"step": None, "value": None}
    assert details["metrics"]["acc"] == {"step": None, "value": 0.9}
    assert details["metrics"]["kept"] == {"step": 3, "value": 7.0}
    assert details["metric_points"] == 5
    assert resolve(store, run.ref).metrics["loss"] is None  # type: ignore[union-attr]
    assert_healthy(store)

    # a late batch is newer than the summary: it overrides it again
    late = lin.log_metrics(run, {"loss": 0.25}, step=2)
    assert ("loss", 0.25, 2, 3, late.seq) in run_metrics(store, run.id)
    assert_healthy(store)


def test_metric_values_at_the_edges_of_float_verify(store: SqlStore) -> None:
    """Values both backends must store exactly as the replay does (incl. NaN and -0.0)."""
    run = Lineal(store).start_run("edge-values")
    values = [
        -0.0,
        0.0,
        5e-324,
        -5e-324,
        2.2250738585072014e-308,
        1.7976931348623157e308,
        -1.7976931348623157e308,
        0.1,
        2**53 + 1,
        -(2**62),
        math.nan,
        -math.nan,
        math.inf,
        -math.inf,
    ]
    everything = series(
        "all",
        range(len(values)),
        values,
        [math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308, *values[6:]],
    )
    # each value once as the latest of its own key, so that run_metrics holds every one
    ones = [series(f"v{n}", [n], [value]) for n, value in enumerate(values)]
    steps = series("steps", [-(2**63), 0, 2**63 - 1], [1.0, 2.0, 3.0])
    op = MetricsBatch(run=run.id, series=(everything, *ones, steps))
    record = store.append(op)[0]
    assert_healthy(store)

    # the ledger keeps every bit, NaN and the sign of zero included
    payload = next(store.records(after=record.seq - 1)).payload
    assert payload is not None
    back = MetricsBatch.from_payload(canonical.decode(payload))
    assert back == op
    assert math.copysign(1.0, back.series[0].values[0]) == -1.0

    stored = {
        key: (value, step)
        for key, value, step in store.sql().all(
            "SELECT key, value, step FROM run_metrics WHERE run_id = ?", (run.id,)
        )
    }
    for n, value in enumerate(values):
        got, step = stored[f"v{n}"]
        assert step == n
        if math.isnan(value):
            assert got is None  # NaN is stored as NULL on both backends
        else:
            assert got == float(value)  # 2**53 + 1 travels as the nearest float64
            assert math.copysign(1.0, got) == math.copysign(1.0, value + 0.0)
    assert stored["all"] == (-math.inf, len(values) - 1)
    assert stored["steps"] == (3.0, 2**63 - 1)
    batches = {row[0]: row for row in metric_batches(store, run.id)}
    assert batches["steps"] == ("steps", record.seq, 3, -(2**63), 2**63 - 1)
    assert batches["all"] == ("all", record.seq, len(values), 0, len(values) - 1)

    # the same edges as summary values (the strings stand for the non-finite ones)
    Lineal(store).finish_run(
        run,
        summary={"v0": -0.0, "v1": "nan", "v2": "-inf", "v3": 1.7976931348623157e308},
    )
    assert_healthy(store)


def test_run_params_read_back_exactly(store: SqlStore) -> None:
    params = {
        "epochs": 0,
        "dropout": 0.0,
        "amp": False,
        "suffix": "",
        "scheduler": None,
        "layers": [],
        "extra": {},
        "lr": 0.1,
        "nested": {"a": [1, 2.5, "é"], "b": None},
    }
    run = Lineal(store).start_run("train", params=params, meta={"host": "gpu-1"})
    assert dict(run.params) == params
    assert resolve(store, run.ref).params == params  # type: ignore[union-attr]
    assert_healthy(store)


def test_run_params_after_start(store: SqlStore) -> None:
    lin = Lineal(store)
    run = lin.start_run("train", params={"lr": 0.1})
    added = {
        "epochs": 3,
        "ratio": 0.8,
        "big": 2**62,
        "negative": -1.5,
        "split": "train",
        "amp": True,
        "off": False,
        "none": None,
        "layers": [64, 32],
        "nested": {"a": 1},
    }
    record = store.append(RunParams(id=run.id, params=added))[0]
    rows = rows_of(
        store, "SELECT key, value, num, seq FROM params WHERE run_id = ? ORDER BY key", (run.id,)
    )
    assert rows == [
        ("amp", "true", None, record.seq),  # a bool is no number here
        ("big", "4611686018427387904", float(2**62), record.seq),
        ("epochs", "3", 3.0, record.seq),
        ("layers", "[64,32]", None, record.seq),
        ("lr", "0.1", 0.1, run.seq),
        ("negative", "-1.5", -1.5, record.seq),
        ("nested", '{"a":1}', None, record.seq),
        ("none", "null", None, record.seq),
        ("off", "false", None, record.seq),
        ("ratio", "0.8", 0.8, record.seq),
        ("split", '"train"', None, record.seq),
    ]
    assert resolve(store, run.ref).params == {"lr": 0.1, **added}  # type: ignore[union-attr]
    assert_healthy(store)

    # a key is set once: again, or one the start set, or twice in one append is refused
    before = snapshot(store)
    refused: list[list[Op]] = [
        [RunParams(id=run.id, params={"epochs": 3})],
        [RunParams(id=run.id, params={"fresh": 1, "split": "eval"})],
        [RunParams(id=run.id, params={"lr": 0.2})],
        [RunParams(id=run.id, params={"fresh": 1}), RunParams(id=run.id, params={"fresh": 2})],
    ]
    for ops in refused:
        with pytest.raises(Conflict, match="already"):
            store.append(ops)
        assert snapshot(store) == before
    with pytest.raises(NotFound):
        store.append(RunParams(id=new_run_id(), params={"lr": 0.1}))
    assert snapshot(store) == before

    # other runs have their own keys
    other = lin.start_run("eval")
    store.append(RunParams(id=other.id, params={"epochs": "many"}))
    assert resolve(store, other.ref).params == {"epochs": "many"}  # type: ignore[union-attr]
    assert_healthy(store)


def test_finish_sets_duration_and_error(store: SqlStore) -> None:
    run_id = new_run_id()
    store.append(RunStart(id=run_id, name="train", started=T0))
    running = resolve(store, f"run/{run_id}")
    assert isinstance(running, Run)
    assert (running.duration, running.error, running.ended) == (None, None, None)
    assert Lineal(store).show(f"run/{run_id}")["duration"] is None

    ended = "2026-01-01T00:01:30.250000Z"
    store.append(RunFinish(id=run_id, status="failed", ended=ended, error="CUDA out of memory"))
    row = store.sql().one("SELECT status, ended, duration, error FROM runs WHERE id = ?", (run_id,))
    assert tuple(row or ()) == ("failed", ended, 90.25, "CUDA out of memory")
    finished = resolve(store, f"run/{run_id}")
    assert isinstance(finished, Run)
    assert (finished.status, finished.duration, finished.error) == (
        "failed",
        90.25,
        "CUDA out of memory",
    )
    shown = Lineal(store).show(f"run/{run_id}")
    assert (shown["duration"], shown["error"]) == (90.25, "CUDA out of memory")

    # without an error, through the client: a duration of its own, no error
    lin = Lineal(store)
    quick = lin.finish_run(lin.start_run("eval"))
    assert quick.duration is not None
    assert quick.duration >= 0
    assert quick.error is None
    same = store.sql().one("SELECT duration, error FROM runs WHERE id = ?", (quick.id,))
    assert tuple(same or ()) == (quick.duration, None)
    assert_healthy(store)


# -- redaction -------------------------------------------------------------------------------
def test_redact_tag_set(store: SqlStore) -> None:
    lin = Lineal(store)
    art = lin.record_artifact("dataset", data=b"a")
    public = lin.set_tag(art, "owner", "team-a")
    secret = lin.set_tag(art, "owner", "jane.doe@example.com")
    other = lin.set_tag(art, "stage", "raw")
    redaction = lin.redact(secret.seq, "gdpr erasure")

    stored = {r.seq: r for r in store.records()}
    assert stored[secret.seq].payload is None
    assert stored[secret.seq].hash == secret.hash  # the chain is untouched
    assert stored[secret.seq].payload_digest == secret.payload_digest
    assert stored[public.seq].payload is not None
    assert store.sql().one("SELECT COUNT(*) FROM tags WHERE seq = ?", (secret.seq,)) == (0,)
    assert store.sql().all("SELECT seq, by_seq, reason FROM redactions") == [
        (secret.seq, redaction.seq, "gdpr erasure")
    ]
    # the tag's history is re-derived without the erased value
    rows = store.sql().all(
        "SELECT value, seq, until_seq FROM tags WHERE target = ? ORDER BY seq", (art.digest,)
    )
    assert [tuple(r) for r in rows] == [("team-a", public.seq, None), ("raw", other.seq, None)]
    assert queries.tags(store.sql(), art.digest) == {"owner": "team-a", "stage": "raw"}
    log = {entry["seq"]: entry for entry in lin.log()}
    assert log[secret.seq]["redacted"] is True
    assert log[secret.seq]["payload"] is None

    report = store.verify()
    assert report.ok, report.problem
    assert report.redacted == 1


def test_redact_metrics_batch(store: SqlStore) -> None:
    lin = Lineal(store)
    run = lin.start_run("train")
    kept = lin.log_metrics(run, {"loss": 1.0, "acc": 0.5}, step=0)
    erased = lin.log_metrics(run, {"loss": 0.5, "acc": 0.75}, step=1)
    lin.redact(erased.seq, "retention")

    assert next(store.records(after=erased.seq - 1)).payload is None
    assert metric_batches(store, run.id) == [
        ("acc", kept.seq, 1, 0, 0),
        ("loss", kept.seq, 1, 0, 0),
    ]
    assert run_metrics(store, run.id) == [
        ("acc", 0.5, 0, 1, kept.seq),
        ("loss", 1.0, 0, 1, kept.seq),
    ]
    assert queries.run_details(store.sql(), run.id)["metrics"] == {
        "acc": {"step": 0, "value": 0.5},
        "loss": {"step": 0, "value": 1.0},
    }
    assert queries.run_details(store.sql(), run.id)["metric_points"] == 2
    report = store.verify()
    assert report.ok, report.problem
    assert report.redacted == 1


def test_redacting_the_latest_batch_rebuilds_run_metrics(store: SqlStore) -> None:
    lin = Lineal(store)
    run = lin.start_run("train")
    other = lin.start_run("other")
    early = store.append(
        MetricsBatch(
            run=run.id,
            series=(series("loss", [0, 1, 2], [3.0, 2.0, 1.5]), series("acc", [0, 2], [0.1, 0.2])),
        )
    )[0]
    untouched = lin.log_metrics(other, {"loss": 9.0}, step=7)
    latest = store.append(
        MetricsBatch(
            run=run.id,
            series=(series("loss", [3, 4], [1.0, 0.75]), series("lr", [3], [0.01])),
        )
    )[0]
    assert run_metrics(store, run.id) == [
        ("acc", 0.2, 2, 2, early.seq),
        ("loss", 0.75, 4, 5, latest.seq),
        ("lr", 0.01, 3, 1, latest.seq),
    ]

    lin.redact(latest.seq, "retention")
    # loss falls back to the earlier batch's last point; lr was only in the erased batch
    assert run_metrics(store, run.id) == [
        ("acc", 0.2, 2, 2, early.seq),
        ("loss", 1.5, 2, 3, early.seq),
    ]
    assert metric_batches(store, run.id) == [
        ("acc", early.seq, 2, 0, 2),
        ("loss", early.seq, 3, 0, 2),
    ]
    assert run_metrics(store, other.id) == [("loss", 9.0, 7, 1, untouched.seq)]
    details = queries.run_details(store.sql(), run.id)
    assert details["metrics"] == {
        "acc": {"step": 2, "value": 0.2},
        "loss": {"step": 2, "value": 1.5},
    }
    assert details["metric_points"] == 5
    assert_healthy(store)

    # the erased steps are free again: steps now go on from the earlier batch's
    again = lin.log_metrics(run, {"loss": 1.25}, step=3)
    assert ("loss", 1.25, 3, 4, again.seq) in run_metrics(store, run.id)
    with pytest.raises(Conflict, match="goes back"):
        lin.log_metrics(run, {"loss": 1.0}, step=2)
    report = store.verify()
    assert report.ok, report.problem
    assert report.redacted == 1


def test_redacting_a_late_batch_restores_the_summary(store: SqlStore) -> None:
    lin = Lineal(store)
    run = lin.start_run("train")
    first = lin.log_metrics(run, {"loss": 1.0, "acc": 0.5}, step=0)
    lin.finish_run(run, summary={"loss": 0.5, "best": "inf"})
    finish_seq = store.head()[0]
    late = lin.log_metrics(run, {"loss": 0.25}, step=1)
    assert ("loss", 0.25, 1, 2, late.seq) in run_metrics(store, run.id)

    lin.redact(late.seq, "late flush of a wrong value")
    assert run_metrics(store, run.id) == [
        ("acc", 0.5, 0, 1, first.seq),
        ("best", math.inf, None, 0, finish_seq),
        ("loss", 0.5, None, 1, finish_seq),
    ]
    report = store.verify()
    assert report.ok, report.problem
    assert report.redacted == 1


def test_redact_in_the_same_transaction_as_its_target(store: SqlStore) -> None:
    lin = Lineal(store)
    run = lin.start_run("train")
    with lin.atomic():
        batch = lin.log_metrics(run, {"loss": 1.0}, step=0)
        tag = lin.set_tag(run, "secret", "s3cr3t")
        lin.redact(batch.seq, "oops")
        lin.redact(tag.seq, "oops")
    assert store.sql().one("SELECT COUNT(*) FROM metric_batches") == (0,)
    assert store.sql().one("SELECT COUNT(*) FROM run_metrics") == (0,)
    assert queries.run_details(store.sql(), run.id)["metrics"] == {}
    assert queries.tags(store.sql(), f"run/{run.id}") == {}
    report = store.verify()
    assert report.ok, report.problem
    assert report.redacted == 2


def test_redact_then_set_the_same_tag_in_one_append(store: SqlStore) -> None:
    lin = Lineal(store)
    secret = lin.set_tag("agent/alice", "owner", "jane.doe@example.com")
    written = store.append(
        [
            Redact(seq=secret.seq, reason="gdpr"),
            TagSet(target="agent/alice", key="owner", value="team-a"),
        ]
    )
    rows = rows_of(store, "SELECT value, seq, until_seq FROM tags WHERE key = 'owner'")
    assert rows == [("team-a", written[1].seq, None)]
    assert_healthy(store)


def test_redacting_an_artifact_record_is_refused(store: SqlStore) -> None:
    lin = Lineal(store)
    art = lin.record_artifact("dataset", data=b"a", name="ds")
    assert art.seq is not None
    before = snapshot(store)
    with pytest.raises(InvalidInput, match=r"artifact\.record"):
        lin.redact(art.seq, "please")
    assert snapshot(store) == before
    assert_healthy(store)


# -- schema, reopening, other writers, verify ------------------------------------------------
def test_schema_version_and_reopen(store: SqlStore, store_uri: str, signer: Signer) -> None:
    assert store.schema_version() == SCHEMA_VERSION
    Lineal(store).record_artifact("dataset", data=b"a", name="ds")

    reader = open_store(store_uri)
    try:
        assert reader.schema_version() == SCHEMA_VERSION
        assert reader.head() == store.head()
        assert list(reader.records()) == list(store.records())
        assert resolve(reader, "dataset/ds").version == 1  # type: ignore[union-attr]
        assert [a.name for a in reader.agents()] == ["alice"]
    finally:
        reader.close()

    # migrating again is a no-op that keeps the data
    again = open_store(store_uri, signer, create=True)
    try:
        assert again.schema_version() == SCHEMA_VERSION
        prev_seq, prev_hash = again.head()
        assert prev_seq == 2
        written = again.append(TagSet(target="agent/alice", key="k", value="v"))[0]
        assert written.seq == 3
        assert written.hash == record_hash(
            prev_hash, 3, written.time, "alice", "tag.set", written.payload_digest
        )
    finally:
        again.close()
    assert store.head()[0] == 3  # the first handle sees the other's write
    assert_healthy(store)


def test_two_handles_extend_one_chain(store: SqlStore, store_uri: str, signer: Signer) -> None:
    other = open_store(store_uri, signer)
    try:
        for n in range(3):
            store.append(ArtifactRecord(kind="file", digest=blob(f"mine{n}")))
            other.append(ArtifactRecord(kind="file", digest=blob(f"theirs{n}")))
        assert [r.seq for r in other.records()] == list(range(1, 8))
        assert [c.last_seq for c in other.commits()] == list(range(1, 8))
    finally:
        other.close()
    assert_healthy(store)


def test_second_agent_registers_and_writes(store: SqlStore, store_uri: str) -> None:
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
    assert [a.name for a in store.agents()] == ["alice", "bob"]
    assert [c.author for c in store.commits()] == ["alice", "bob", "bob", "alice"]
    report = store.verify()
    assert report.ok, report.problem
    assert report.agents == 2


def test_verify_counts_on_a_healthy_store(store: SqlStore) -> None:
    report = store.verify()
    assert report.ok
    assert (report.records, report.commits, report.agents, report.redacted) == (1, 1, 1, 0)
    assert report.projection_rows == 1  # alice's agents row

    lin = Lineal(store)
    with lin.atomic():
        a = lin.record_artifact("dataset", data=b"a", name="ds")  # artifacts + versions
        b = lin.record_artifact("dataset", data=b"b", name="ds")  # artifacts + versions
        lin.link("derived_from", a, b)  # edges + 2 node_ids
    run = lin.start_run("train", params={"lr": 0.1, "bs": 32})  # runs + 2 params
    lin.log_metrics(run, {"loss": 1.0, "acc": 0.5}, step=0)  # 2 metric_batches, 2 run_metrics
    lin.set_tag(run, "gpu", "a100")  # tags
    lin.set_alias("dataset/ds@v2", "prod")  # aliases
    secret = lin.set_tag(run, "secret", "x")  # tags, then gone
    lin.redact(secret.seq, "erase")  # redactions

    report = store.verify()
    assert report.ok, report.problem
    assert report.records == store.head()[0] == 10
    assert report.commits == len(list(store.commits())) == 8
    assert report.agents == 1
    assert report.redacted == 1
    assert report.head == store.head()[1]
    total = sum(
        store.sql().one(f"SELECT COUNT(*) FROM {table}")[0]  # type: ignore[index]
        for table in PROJECTION_TABLES
    )
    assert report.projection_rows == total == 1 + 4 + 1 + 2 + 1 + 2 + 2 + 2 + 1 + 1 + 1
    assert report.as_dict()["ok"] is True
    assert report.as_dict()["problem"] is None
