"""What the SQL backends keep beneath the Store protocol: the schema version, the rows of each
projection table (history rows with ``until_seq``, metric batch and latest rows, params' numbers,
redactions) and that a refused or rolled-back write leaves every row as it was.

The Store contract (tests/store/test_contract*.py) checks the same behaviour through the
protocol on every backend; these check the SQL that answers it, on the SQL backends only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytest
from contract_cases import CASES, Case
from contract_helpers import Boom, blob, fail_inside, series

from lineal.client import Lineal
from lineal.model.ops import AliasSet, MetricsBatch, Redact, RunFinish, RunParams, RunStart, TagSet
from lineal.store.sql.base import SqlStore
from lineal.store.sql.migrations import PROJECTION_TABLES, SCHEMA_VERSION

LEDGER_TABLES: dict[str, tuple[str, ...]] = {
    "ledger": ("seq", "time", "author", "op", "payload_digest", "hash", "payload"),
    "commits": ("last_seq", "last_hash", "author", "key_id", "sig"),
}


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
    out: dict[str, list[str]] = {}
    for table, columns in {**LEDGER_TABLES, **PROJECTION_TABLES}.items():
        rows = store.sql().all(f"SELECT {', '.join(columns)} FROM {table}")
        out[table] = sorted(
            repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)) for row in rows
        )
    return out


def test_schema_version_is_the_latest_migration(sql_store: SqlStore) -> None:
    assert sql_store.schema_version() == SCHEMA_VERSION


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_refused_write_leaves_every_row(sql_store: SqlStore, case: Case) -> None:
    ops, error = case(Lineal(sql_store))
    before = snapshot(sql_store)
    for batch in (ops, [TagSet(target="agent/alice", key="note", value="valid"), *ops]):
        with pytest.raises(error):
            sql_store.append(batch)
        assert snapshot(sql_store) == before


def test_rolled_back_transactions_leave_every_row(sql_store: SqlStore) -> None:
    lin = Lineal(sql_store)
    lin.record_artifact("dataset", data=b"before", name="ds")
    before = snapshot(sql_store)

    def everything() -> None:
        art = lin.record_artifact("dataset", data=b"new", name="ds")
        run = lin.start_run("train", params={"epochs": 3})
        lin.link("used", art, run)
        lin.log_metrics(run, {"acc": 0.9}, step=0)
        lin.set_tag(art, "stage", "x")
        with sql_store.atomic():  # a savepoint inside the outer transaction
            lin.set_alias("dataset/ds@v2", "prod")

    with pytest.raises(Boom):
        fail_inside(sql_store, everything)
    assert snapshot(sql_store) == before
    with sql_store.atomic():
        with pytest.raises(Boom):
            fail_inside(sql_store, everything)  # rolled back to the savepoint alone
        assert snapshot(sql_store) == before


def test_version_and_artifact_rows(sql_store: SqlStore) -> None:
    lin = Lineal(sql_store)
    for digest, name in [("1", "coco"), ("2", "coco"), ("1", "coco"), ("3", "coco"), ("2", "voc")]:
        lin.record_artifact("dataset", digest=blob(digest), name=name)
    lin.record_artifact("model", digest=blob("m"), name="coco")
    assert rows_of(sql_store, "SELECT kind, name, version, digest FROM versions ORDER BY seq") == [
        ("dataset", "coco", 1, blob("1")),
        ("dataset", "coco", 2, blob("2")),
        ("dataset", "coco", 3, blob("3")),
        ("dataset", "voc", 1, blob("2")),
        ("model", "coco", 1, blob("m")),
    ]
    # an artifact row is made once, by its first record
    assert rows_of(sql_store, "SELECT seq FROM artifacts WHERE digest = ?", (blob("1"),)) == [(2,)]


def test_alias_rows_keep_their_history(sql_store: SqlStore) -> None:
    lin = Lineal(sql_store)
    v1 = lin.record_artifact("model", digest=blob("m1"), name="det")
    v2 = lin.record_artifact("model", digest=blob("m2"), name="det")
    seqs = [
        sql_store.append(AliasSet(kind="model", name="det", alias="prod", digest=d))[0].seq
        for d in (v1.digest, v2.digest, v2.digest, None)
    ]
    s1, s2, s3, s4 = seqs
    # moving it closes the old row; the same version again opens a new row; removal opens none
    assert rows_of(
        sql_store, "SELECT digest, seq, until_seq FROM aliases WHERE alias = 'prod' ORDER BY seq"
    ) == [(v1.digest, s1, s2), (v2.digest, s2, s3), (v2.digest, s3, s4)]


def test_tag_rows_keep_their_history(sql_store: SqlStore) -> None:
    lin = Lineal(sql_store)
    art = lin.record_artifact("dataset", data=b"a")
    s1 = lin.set_tag(art, "stage", "dev").seq
    s2 = lin.set_tag(art, "stage", "prod").seq
    s4 = lin.set_tag(art, "stage", None).seq
    assert rows_of(
        sql_store,
        "SELECT value, seq, until_seq FROM tags WHERE target = ? AND key = 'stage' ORDER BY seq",
        (art.digest,),
    ) == [("dev", s1, s2), ("prod", s2, s4)]
    lin.set_tag(art, "never", None)  # removing a tag never set changes no row
    assert rows_of(sql_store, "SELECT COUNT(*) FROM tags WHERE key = 'never'") == [(0,)]


def test_metric_rows(sql_store: SqlStore) -> None:
    lin = Lineal(sql_store)
    run = lin.start_run("train")
    op = MetricsBatch(
        run=run.id,
        series=(series("loss", [0, 1, 2], [2.5, 2.0, 1.5]), series("acc", [0], [0.1])),
    )
    first = sql_store.append(op)[0]
    assert metric_batches(sql_store, run.id) == [
        ("acc", first.seq, 1, 0, 0),
        ("loss", first.seq, 3, 0, 2),
    ]
    assert run_metrics(sql_store, run.id) == [
        ("acc", 0.1, 0, 1, first.seq),
        ("loss", 1.5, 2, 3, first.seq),
    ]
    second = lin.log_metrics(run, {"loss": 1.25, "acc": 1}, step=3)
    assert metric_batches(sql_store, run.id)[2:] == [
        ("acc", second.seq, 1, 3, 3),
        ("loss", second.seq, 1, 3, 3),
    ]
    assert run_metrics(sql_store, run.id) == [
        ("acc", 1.0, 3, 2, second.seq),
        ("loss", 1.25, 3, 4, second.seq),
    ]
    lin.finish_run(run, summary={"best": 1.25})
    finish_seq = sql_store.head()[0]
    assert ("best", 1.25, None, 0, finish_seq) in run_metrics(sql_store, run.id)
    late = lin.log_metrics(run, {"loss": 1.0}, step=4)
    assert ("loss", 1.0, 4, 5, late.seq) in run_metrics(sql_store, run.id)
    assert metric_batches(sql_store, run.id)[-1] == ("loss", late.seq, 1, 4, 4)
    assert {row[0] for t in ("metric_batches", "run_metrics") for row in rows_of(
        sql_store, f"SELECT run_id FROM {t}"
    )} == {run.id}  # fmt: skip


def test_summary_rows(sql_store: SqlStore) -> None:
    lin = Lineal(sql_store)
    run = lin.start_run("train")
    logged = lin.log_metrics(run, {"loss": 0.5, "kept": 7.0}, step=1)
    lin.finish_run(run, summary={"loss": "nan", "top": "inf", "zero": -0.0, "note": "text"})
    finish_seq = sql_store.head()[0]
    assert run_metrics(sql_store, run.id) == [
        ("kept", 7.0, 1, 1, logged.seq),
        ("loss", None, None, 1, finish_seq),  # NaN is NULL
        ("top", math.inf, None, 0, finish_seq),
        ("zero", 0.0, None, 0, finish_seq),
    ]
    zero = run_metrics(sql_store, run.id)[-1][1]
    assert math.copysign(1.0, zero) == 1.0  # no negative zero (SQLite cannot keep one)


def test_float_edge_rows(sql_store: SqlStore) -> None:
    run = Lineal(sql_store).start_run("edge-values")
    steps = series("steps", [-(2**63), 0, 2**63 - 1], [1.0, 2.0, 3.0])
    nan = series("nan", [4], [math.nan])
    record = sql_store.append(MetricsBatch(run=run.id, series=(steps, nan)))[0]
    assert metric_batches(sql_store, run.id) == [
        ("nan", record.seq, 1, 4, 4),
        ("steps", record.seq, 3, -(2**63), 2**63 - 1),
    ]
    assert [row[:3] for row in run_metrics(sql_store, run.id)] == [
        ("nan", None, 4),
        ("steps", 3.0, 2**63 - 1),
    ]


def test_param_rows_keep_numbers_apart(sql_store: SqlStore) -> None:
    run = Lineal(sql_store).start_run("train", params={"lr": 0.1})
    added = {"big": 2**62, "amp": True, "split": "train", "layers": [64, 32], "none": None}
    record = sql_store.append(RunParams(id=run.id, params=added))[0]
    assert rows_of(
        sql_store,
        "SELECT key, value, num, seq FROM params WHERE run_id = ? ORDER BY key",
        (run.id,),
    ) == [
        ("amp", "true", None, record.seq),  # a bool is no number here
        ("big", "4611686018427387904", float(2**62), record.seq),
        ("layers", "[64,32]", None, record.seq),
        ("lr", "0.1", 0.1, run.seq),
        ("none", "null", None, record.seq),
        ("split", '"train"', None, record.seq),
    ]


def test_run_row_of_a_finish(sql_store: SqlStore) -> None:
    run_id = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    ended = "2026-01-01T00:01:30.250000Z"
    sql_store.append(RunStart(id=run_id, name="train", started="2026-01-01T00:00:00.000000Z"))
    sql_store.append(RunFinish(id=run_id, status="failed", ended=ended, error="CUDA OOM"))
    assert rows_of(
        sql_store, "SELECT status, ended, duration, error FROM runs WHERE id = ?", (run_id,)
    ) == [("failed", ended, 90.25, "CUDA OOM")]


def test_redaction_rows(sql_store: SqlStore) -> None:
    lin = Lineal(sql_store)
    art = lin.record_artifact("dataset", data=b"a")
    public = lin.set_tag(art, "owner", "team-a")
    secret = lin.set_tag(art, "owner", "jane.doe@example.com")
    other = lin.set_tag(art, "stage", "raw")
    redaction = lin.redact(secret.seq, "gdpr erasure")
    assert rows_of(sql_store, "SELECT seq, by_seq, reason FROM redactions") == [
        (secret.seq, redaction.seq, "gdpr erasure")
    ]
    # the tag's history is re-derived without the erased value
    assert rows_of(
        sql_store,
        "SELECT value, seq, until_seq FROM tags WHERE target = ? ORDER BY seq",
        (art.digest,),
    ) == [("team-a", public.seq, None), ("raw", other.seq, None)]

    # an erased batch leaves no batch row, and the latest values fall back
    run = lin.start_run("train")
    kept = lin.log_metrics(run, {"loss": 1.0}, step=0)
    erased = lin.log_metrics(run, {"loss": 0.5, "lr": 0.1}, step=1)
    lin.redact(erased.seq, "retention")
    assert metric_batches(sql_store, run.id) == [("loss", kept.seq, 1, 0, 0)]
    assert run_metrics(sql_store, run.id) == [("loss", 1.0, 0, 1, kept.seq)]

    # erased in the transaction that wrote it: no row at all
    with lin.atomic():
        batch = lin.log_metrics(run, {"acc": 1.0}, step=2)
        lin.redact(batch.seq, "oops")
    assert rows_of(sql_store, "SELECT COUNT(*) FROM metric_batches WHERE key = 'acc'") == [(0,)]

    # an erasure and a new value of the same tag in one append: one row, the new one
    mine = lin.set_tag("agent/alice", "owner", "jane.doe@example.com")
    written = sql_store.append(
        [Redact(seq=mine.seq, reason="gdpr"), TagSet(target="agent/alice", key="owner", value="x")]
    )
    assert rows_of(
        sql_store, "SELECT value, seq, until_seq FROM tags WHERE target = 'agent/alice'"
    ) == [("x", written[1].seq, None)]


def test_verify_counts_every_projection_row(sql_store: SqlStore) -> None:
    assert sql_store.verify().projection_rows == 2  # alice's agents row, her admin role
    lin = Lineal(sql_store)
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
    total = sum(
        rows_of(sql_store, f"SELECT COUNT(*) FROM {table}")[0][0] for table in PROJECTION_TABLES
    )
    report = sql_store.verify()
    assert report.ok, report.problem
    assert report.projection_rows == total == 2 + 4 + 1 + 2 + 1 + 2 + 2 + 2 + 1 + 1 + 1
