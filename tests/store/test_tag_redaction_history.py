"""Erasing tag.set records keeps each tag's history as if they had never been written: the
``tags`` projection equals verify's replay (which skips erased records), and the current
values are the last surviving set of each key."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineal.ledger.keys import Signer
from lineal.model.ops import AgentRegister, Redact, TagSet
from lineal.store.registry import open_store

SIGNER = Signer.generate("alice")
TARGET = "agent/alice"

#: Each write: a key and its value (None deletes the tag); then which writes to erase, and
#: whether each erasure goes in one append with the next write (as a retention run does).
histories = st.lists(
    st.tuples(st.sampled_from(["a", "b"]), st.none() | st.sampled_from(["x", "y", "z"])),
    min_size=1,
    max_size=14,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories, data=st.data())
def test_erased_tag_sets_leave_the_history_as_if_never_written(
    history: list[tuple[str, str | None]], data: st.DataObject
) -> None:
    erase = data.draw(st.sets(st.integers(0, len(history) - 1)), label="erase")
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{Path(folder) / 'l.db'}", SIGNER, create=True)
        try:
            store.append(AgentRegister(name="alice", public_key=SIGNER.public_key))
            seqs = [
                store.append(TagSet(target=TARGET, key=key, value=value))[0].seq
                for key, value in history
            ]
            for index in sorted(erase, reverse=True):  # newest first, then oldest: any order
                store.append(Redact(seq=seqs[index], reason="erase"))
            expected: dict[str, str] = {}
            for index, (key, value) in enumerate(history):
                if index in erase:
                    continue
                if value is None:
                    expected.pop(key, None)
                else:
                    expected[key] = value
            assert store.tags(TARGET) == expected
            report = store.verify()
            assert report.ok, report.problem
        finally:
            store.close()
