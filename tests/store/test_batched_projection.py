"""A batch of records projects exactly as the same records appended one by one."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineal.errors import Conflict, LinealError
from lineal.ledger.keys import Signer
from lineal.model.digests import digest_bytes
from lineal.model.ops import AgentRegister, ArtifactRecord, EdgeRecord, Op, RunFinish, RunStart
from lineal.store.registry import open_store
from lineal.store.sql.base import SqlStore
from lineal.store.sql.migrations import PROJECTION_TABLES

SIGNER = Signer.generate("alice")
STARTED = "2026-11-25T00:00:00.000000Z"
DIGESTS = [digest_bytes(bytes([n])) for n in range(6)]

records = st.lists(
    st.builds(
        ArtifactRecord,
        kind=st.just("dataset"),
        digest=st.sampled_from(DIGESTS),
        name=st.sampled_from([None, "a", "b"]),
        size=st.none() | st.integers(0, 9),
        meta=st.dictionaries(st.sampled_from(["x", "y"]), st.integers(0, 3), max_size=2),
    ),
    min_size=2,
    max_size=25,
)


def _store(folder: Path, name: str) -> SqlStore:
    store = open_store(f"sqlite:///{folder / name}", SIGNER, create=True)
    store.append(AgentRegister(name="alice", public_key=SIGNER.public_key))
    return store


def _tables(store: SqlStore) -> dict[str, list[tuple[object, ...]]]:
    return {
        table: sorted(store.sql().all(f"SELECT {', '.join(cols)} FROM {table}"), key=repr)
        for table, cols in PROJECTION_TABLES.items()
    }


@settings(max_examples=40, deadline=None)
@given(records)
def test_batch_equals_one_by_one(ops: list[ArtifactRecord]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        batched, single = _store(Path(tmp), "b.db"), _store(Path(tmp), "s.db")
        batched.append(ops)
        for op in ops:
            single.append(op)
        assert _tables(batched) == _tables(single)
        assert batched.verify().ok
        batched.close()
        single.close()


def test_an_unnamed_digest_of_two_kinds_in_one_batch_is_refused(tmp_path: Path) -> None:
    store = _store(tmp_path, "l.db")
    ops = [
        ArtifactRecord(kind="dataset", digest=DIGESTS[0], name="a"),  # a node of its own
        ArtifactRecord(kind="config", digest=DIGESTS[0]),
        ArtifactRecord(kind="env", digest=DIGESTS[0]),
    ]
    with pytest.raises(Conflict, match="already recorded as an unnamed config"):
        store.append(ops)
    assert store.head()[0] == 1
    assert store.sql().all("SELECT * FROM artifacts") == []
    assert store.verify().ok
    store.close()


RUNS = ["01JD3XQ4M00000000000000001", "01JD3XQ4M00000000000000002"]
_ARTIFACT = st.builds(
    ArtifactRecord, kind=st.just("dataset"), digest=st.sampled_from(DIGESTS[:4]), name=st.just("d")
)
_RUN = st.builds(
    RunStart,
    id=st.sampled_from(RUNS),
    name=st.just("r"),
    started=st.just(STARTED),
    params=st.sampled_from([{}, {"lr": 0.1}, {"lr": 0.2, "layers": [1, 2]}]),
)
_EDGE = st.one_of(
    st.tuples(st.sampled_from(DIGESTS[:4]), st.sampled_from(DIGESTS[:4]))
    .filter(lambda ends: ends[0] != ends[1])
    .map(lambda ends: EdgeRecord(kind="derived_from", parent=ends[0], child=ends[1])),
    st.builds(
        EdgeRecord,
        kind=st.just("used"),
        parent=st.sampled_from(DIGESTS[:4]),
        child=st.sampled_from([f"run/{r}" for r in RUNS]),
    ),
    st.builds(
        EdgeRecord,
        kind=st.just("generated"),
        parent=st.sampled_from([f"run/{r}" for r in RUNS]),
        child=st.sampled_from(DIGESTS[:4]),
    ),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(_ARTIFACT, _RUN, _EDGE, _EDGE), min_size=2, max_size=20))
def test_a_mixed_batch_equals_one_by_one_in_effect_and_error(ops: list[Op]) -> None:
    """Edges projected after the batch's other ops: the same tables, or the same error (an
    edge naming a node recorded later, a cycle, a run started twice), and nothing written."""
    with tempfile.TemporaryDirectory() as tmp:
        batched, single = _store(Path(tmp), "b.db"), _store(Path(tmp), "s.db")
        first_error = None
        for op in ops:
            try:
                single.append(op)
            except LinealError as exc:
                first_error = (type(exc), exc.message)
                break
        try:
            batched.append(ops)
            batch_error = None
        except LinealError as exc:
            batch_error = (type(exc), exc.message)
        assert batch_error == first_error
        if first_error is None:
            assert _tables(batched) == _tables(single)
        else:
            assert batched.head()[0] == 1  # nothing of the batch was written
        assert batched.verify().ok
        batched.close()
        single.close()


# On PostgreSQL, many rows go as one statement (arrays unnested in order) and lookups of many
# values as one array: a batch there must leave the tables one-by-one appends leave on SQLite,
# or raise the same error and write nothing. Each example has a schema of its own.
ON_PG = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@contextmanager
def _pg_store(pg_uri: str) -> Iterator[SqlStore]:
    import psycopg

    schema = f"s_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_uri, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    store = open_store(f"{pg_uri}?options=-csearch_path%3D{schema}", SIGNER, create=True)
    try:
        store.append(AgentRegister(name="alice", public_key=SIGNER.public_key))
        yield store
    finally:
        store.close()


def _same_on_pg_as_one_by_one_on_sqlite(pg_uri: str, ops: list[Op]) -> None:
    with tempfile.TemporaryDirectory() as tmp, _pg_store(pg_uri) as batched:
        single = _store(Path(tmp), "s.db")
        first_error = None
        for op in ops:
            try:
                single.append(op)
            except LinealError as exc:
                first_error = (type(exc), exc.message)
                break
        try:
            batched.append(ops)
            batch_error = None
        except LinealError as exc:
            batch_error = (type(exc), exc.message)
        assert batch_error == first_error
        if first_error is None:
            assert _tables(batched) == _tables(single)
        else:
            assert batched.head()[0] == 1  # nothing of the batch was written
            # only what the store's making wrote: its agent, admin as the first agent
            made = ("agents", "roles")
            assert all(not rows for table, rows in _tables(batched).items() if table not in made)
        assert batched.verify().ok
        single.close()


@ON_PG
@given(records)
def test_a_batch_on_postgres_equals_one_by_one_on_sqlite(pg_uri: str, ops: list[Op]) -> None:
    _same_on_pg_as_one_by_one_on_sqlite(pg_uri, ops)


@ON_PG
@given(st.lists(st.one_of(_ARTIFACT, _RUN, _EDGE, _EDGE), min_size=2, max_size=20))
def test_a_mixed_batch_on_postgres_equals_one_by_one_on_sqlite(pg_uri: str, ops: list[Op]) -> None:
    _same_on_pg_as_one_by_one_on_sqlite(pg_uri, ops)


@pytest.mark.postgres
def test_a_batch_refused_in_a_pipeline_falls_back_with_its_own_error(pg_uri: str) -> None:
    """Hypothesis found it: the set-based projection refuses a run started twice, the batch
    rolls back to its savepoint and is projected one by one in the same pipeline, where
    psycopg dropped the statements it had just prepared when it read the ROLLBACK's result
    ("prepared statement _pg3_6 does not exist"). The batch's own error it must be."""
    ops: list[Op] = [
        RunStart(id=RUNS[1], name="r", started=STARTED, params={"lr": 0.1}),
        ArtifactRecord(kind="dataset", digest=DIGESTS[1], name="d"),
        RunStart(id=RUNS[0], name="r", started=STARTED, params={"lr": 0.1}),
        EdgeRecord(kind="derived_from", parent=DIGESTS[0], child=DIGESTS[1]),
        EdgeRecord(kind="derived_from", parent=DIGESTS[1], child=DIGESTS[3]),
    ]
    _same_on_pg_as_one_by_one_on_sqlite(pg_uri, ops)


# Artifacts and runs alone: a batch reads what they all need at once, before writing
# (lineal.store.sql.projections.Ahead), on top of what earlier batches wrote.
_ANY_ARTIFACT = st.builds(
    ArtifactRecord,
    kind=st.sampled_from(["dataset", "config"]),
    digest=st.sampled_from(DIGESTS[:3]),
    name=st.sampled_from([None, "a", "b"]),
    meta=st.dictionaries(st.just("x"), st.integers(0, 2), max_size=1),
)
_FINISH = st.builds(
    RunFinish,
    id=st.sampled_from(RUNS),
    status=st.sampled_from(["finished", "failed"]),
    ended=st.just("2026-11-25T00:01:00.000000Z"),
    summary=st.sampled_from([{}, {"acc": 0.5}]),
)
_READ_AHEAD = st.lists(st.one_of(_ANY_ARTIFACT, _RUN, _FINISH), min_size=2, max_size=12)


def _before_then_batch(stores: tuple[SqlStore, SqlStore], before: list[Op], ops: list[Op]) -> None:
    """``before`` appended one by one to both stores (what they hold already), then ``ops``:
    as one batch to the first, one by one to the second; the same tables, or the same error
    and nothing of the batch written."""
    batched, single = stores
    for op in before:
        for store in stores:
            with contextlib.suppress(LinealError):
                store.append(op)
    head = batched.head()[0]
    first_error = None
    for op in ops:
        try:
            single.append(op)
        except LinealError as exc:
            first_error = (type(exc), exc.message)
            break
    try:
        batched.append(ops)
        batch_error = None
    except LinealError as exc:
        batch_error = (type(exc), exc.message)
    assert batch_error == first_error
    if first_error is None:
        assert _tables(batched) == _tables(single)
    else:
        assert batched.head()[0] == head  # nothing of the batch was written
    assert batched.verify().ok


@settings(max_examples=60, deadline=None)
@given(_READ_AHEAD, _READ_AHEAD)
def test_artifacts_and_runs_read_ahead_as_one_by_one(before: list[Op], ops: list[Op]) -> None:
    """A run finished, started twice or finished twice, before or in the batch; an unnamed
    digest of another kind; versions numbered after those there: as one by one."""
    with tempfile.TemporaryDirectory() as tmp:
        stores = _store(Path(tmp), "b.db"), _store(Path(tmp), "s.db")
        _before_then_batch(stores, before, ops)
        for store in stores:
            store.close()


@ON_PG
@given(_READ_AHEAD, _READ_AHEAD)
def test_artifacts_and_runs_read_ahead_on_postgres(
    pg_uri: str, before: list[Op], ops: list[Op]
) -> None:
    with tempfile.TemporaryDirectory() as tmp, _pg_store(pg_uri) as batched:
        single = _store(Path(tmp), "s.db")
        _before_then_batch((batched, single), before, ops)
        single.close()
