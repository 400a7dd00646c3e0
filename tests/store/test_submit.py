"""A server's write path: batches a client signed, appended by a store that holds its own key.

On both SQL backends: the records are the client's, the commit carries both signatures, verify
checks both, a resent batch is never appended twice, and an altered or unsigned batch is
refused without writing anything.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lineal.errors import Conflict, PermissionDenied
from lineal.ledger.chain import Commit
from lineal.ledger.keys import Signer
from lineal.model import canonical
from lineal.model.digests import digest_bytes
from lineal.model.ops import AgentRegister, ArtifactRecord, TagSet
from lineal.store.base import Store
from lineal.store.batches import decode_batch, encode_batch
from lineal.store.registry import open_store

pytestmark = pytest.mark.sql


@pytest.fixture
def server(store_uri: str) -> Iterator[Store]:
    """A project store whose own agent is ``server`` (the one that chains and commits)."""
    signer = Signer.generate("server")
    opened = open_store(store_uri, signer, create=True)
    opened.append(AgentRegister(name="server", public_key=signer.public_key))
    try:
        yield opened
    finally:
        opened.close()


def _joins(bob: Signer, batch_id: str) -> bytes:
    ops = [
        AgentRegister(name="bob", public_key=bob.public_key),
        ArtifactRecord(kind="dataset", digest=digest_bytes(b"d"), name="cars"),
        TagSet(target="agent/bob", key="team", value="perception"),
    ]
    return encode_batch("bob", ops, batch_id, signer=bob)


def test_a_signed_batch_lands_whole_as_the_clients_records(server: Store) -> None:
    bob = Signer.generate("bob")
    receipt = server.submit(_joins(bob, "b-1"))
    assert (receipt.first_seq, receipt.last_seq, receipt.duplicate) == (2, 4, False)
    records = list(server.records(after=1))
    assert [r.author for r in records] == ["bob", "bob", "bob"]
    commit: Commit = list(server.commits())[-1]
    assert (commit.author, commit.key_id, commit.batch, commit.server) == (
        "bob", bob.key_id, "b-1", "server"
    )  # fmt: skip
    assert server.resolve_at(_ref("dataset/cars")) == [f"dataset/cars@{digest_bytes(b'd')}"]
    report = server.verify()
    assert report.ok, report.problem
    assert report.records == 4


def test_a_resent_batch_is_answered_not_appended_again(server: Store) -> None:
    bob = Signer.generate("bob")
    body = _joins(bob, "b-1")
    first = server.submit(body)
    again = server.submit(body)
    assert again.duplicate
    assert (again.first_seq, again.last_seq) == (first.first_seq, first.last_seq)
    assert server.head()[0] == 4
    # The same id with other records is a conflict, not a duplicate.
    other = encode_batch("bob", [TagSet(target="agent/bob", key="x", value="y")], "b-1", signer=bob)
    with pytest.raises(Conflict, match="appended before with other records"):
        server.submit(other)
    assert server.verify().ok


def test_a_batch_altered_after_signing_is_refused(server: Store) -> None:
    bob = Signer.generate("bob")
    body = _joins(bob, "b-1")
    value = canonical.decode(body)
    value["records"][1]["payload"]["name"] = "trucks"  # the server (or anyone) edits it
    with pytest.raises(PermissionDenied, match="does not match agent 'bob'"):
        server.submit(canonical.encode(value))
    assert server.head()[0] == 1  # nothing written


def test_a_batch_needs_a_signature_the_ledger_knows(server: Store) -> None:
    bob, mallory = Signer.generate("bob"), Signer.generate("bob")
    server.submit(_joins(bob, "b-1"))
    # Another key under bob's name, never registered by bob: refused.
    forged = encode_batch(
        "bob", [TagSet(target="agent/bob", key="x", value="y")], "b-2", signer=mallory
    )
    with pytest.raises(PermissionDenied, match="has no key"):
        server.submit(forged)
    unsigned = encode_batch("bob", [TagSet(target="agent/bob", key="x", value="y")], "b-3")
    with pytest.raises(PermissionDenied, match="not signed"):
        server.submit(unsigned)
    assert server.head()[0] == 4


def test_verify_names_a_batch_record_edited_in_the_database(server: Store, store_uri: str) -> None:
    from lineal.ledger.chain import record_hash

    bob = Signer.generate("bob")
    server.submit(_joins(bob, "b-1"))
    db = server.sql()  # type: ignore[attr-defined]
    # Rewrite seq 4 as if the server had changed the tag bob signed, hash chain redone.
    seq, time, author, op, _, _, _ = db.one("SELECT * FROM ledger WHERE seq = 4")
    payload = TagSet(target="agent/bob", key="team", value="planning").encode()
    prev = db.one("SELECT hash FROM ledger WHERE seq = 3")[0]
    digest = digest_bytes(payload)
    hashed = record_hash(prev, seq, time, author, op, digest)
    with server.atomic():
        db.execute(
            "UPDATE ledger SET payload = ?, payload_digest = ?, hash = ? WHERE seq = 4",
            (payload, digest, hashed),
        )
        db.execute("UPDATE commits SET last_hash = ? WHERE last_seq = 4", (hashed,))
    report = server.verify()
    assert not report.ok
    assert report.problem is not None
    assert report.problem.seq == 4
    assert "altered after the agent signed them" in report.problem.what


def test_the_batch_body_round_trips() -> None:
    bob = Signer.generate("bob")
    batch = decode_batch(_joins(bob, "b-9"))
    assert (batch.agent, batch.id, batch.key_id) == ("bob", "b-9", bob.key_id)
    assert [op for op, _ in batch.records] == ["agent.register", "artifact.record", "tag.set"]


def _ref(text: str):
    from lineal.model.refs import parse

    return parse(text)
