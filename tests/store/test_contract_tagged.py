"""The Store contract, ``tagged``: which nodes hold a tag, now and as of a past seq.

Runs on every backend of the ``store`` fixture (tests/conftest.py) through the Store protocol
alone.
"""

from __future__ import annotations

from lineal.client import Lineal
from lineal.store.base import Store


def test_tagged_answers_now_and_as_of_a_seq(store: Store) -> None:
    lin = Lineal(store)
    raw = lin.record_artifact("dataset", data=b"raw", name="raw")
    other = lin.record_artifact("dataset", data=b"other", name="other")
    first = lin.set_tag(raw, "classification", "pii")
    lin.set_tag(other, "owner", "team-a")
    second = lin.set_tag(other, "classification", "restricted")
    changed = lin.set_tag(raw, "classification", "pii,restricted")
    removed = lin.set_tag(other, "classification", None)

    assert store.tagged("classification") == [(raw.node, "pii,restricted", changed.seq)]
    assert store.tagged("classification", as_of=first.seq) == [(raw.node, "pii", first.seq)]
    assert store.tagged("classification", as_of=second.seq) == [
        (raw.node, "pii", first.seq),
        (other.node, "restricted", second.seq),
    ]
    assert store.tagged("classification", as_of=removed.seq - 1) == [
        (other.node, "restricted", second.seq),
        (raw.node, "pii,restricted", changed.seq),
    ]
    assert store.tagged("owner") == [(other.node, "team-a", first.seq + 1)]
    assert store.tagged("nobody-has-this") == []
    assert store.tagged("classification", as_of=0) == []
