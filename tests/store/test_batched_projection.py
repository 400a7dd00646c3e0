"""A batch of artifact records projects exactly as the same records appended one by one."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineal.errors import Conflict
from lineal.ledger.keys import Signer
from lineal.model.digests import digest_bytes
from lineal.model.ops import AgentRegister, ArtifactRecord
from lineal.store.migrations import PROJECTION_TABLES
from lineal.store.registry import open_store
from lineal.store.sql import SqlStore

SIGNER = Signer.generate("alice")
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


def test_a_digest_of_two_kinds_in_one_batch_is_refused(tmp_path: Path) -> None:
    store = _store(tmp_path, "l.db")
    ops = [
        ArtifactRecord(kind="dataset", digest=DIGESTS[0], name="a"),
        ArtifactRecord(kind="model", digest=DIGESTS[0], name="m"),
    ]
    with pytest.raises(Conflict, match="already recorded as a dataset"):
        store.append(ops)
    assert store.head()[0] == 1
    assert store.sql().all("SELECT * FROM artifacts") == []
    assert store.verify().ok
    store.close()
