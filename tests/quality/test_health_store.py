"""Store.tagged, the one read lineage health takes licences and sources from: on every
backend (SQLite, PostgreSQL, a store over HTTP), every node holding a tag now, and nothing
else."""

from __future__ import annotations

from lineal.model.digests import digest_bytes
from lineal.model.ops import ArtifactRecord, TagSet
from lineal.store.base import Store


def test_tagged_answers_every_node_holding_a_tag_now(store: Store) -> None:
    a, b, c = (digest_bytes(label.encode()) for label in "abc")
    store.append([ArtifactRecord(kind="dataset", digest=d) for d in (a, b, c)])
    assert store.tagged("license") == {}
    store.append(
        [
            TagSet(target=a, key="license", value="MIT"),
            TagSet(target=b, key="license", value="CC0-1.0"),
            TagSet(target=c, key="source", value="https://example.org"),
        ]
    )
    store.append(TagSet(target=b, key="license", value="CC-BY-4.0"))  # the newer value wins
    assert store.tagged("license") == {a: "MIT", b: "CC-BY-4.0"}
    store.append(TagSet(target=a, key="license", value=None))  # removed: no longer held
    assert store.tagged("license") == {b: "CC-BY-4.0"}
    assert store.tagged("source") == {c: "https://example.org"}
    assert store.tagged("stage") == {}
