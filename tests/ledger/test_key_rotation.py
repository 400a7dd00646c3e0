"""Agents' keys rotate and are revoked: the store refuses what a key signs after its end, on
every backend, and what it signed before still verifies."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lineal.errors import Conflict, PermissionDenied
from lineal.ledger.keys import Signer
from lineal.model.agent_ops import AgentRevoke, AgentRotate, rotation_message
from lineal.model.digests import digest_bytes
from lineal.model.ops import AgentRegister, ArtifactRecord
from lineal.store.base import Store


def _artifact(label: str) -> ArtifactRecord:
    return ArtifactRecord(kind="dataset", digest=digest_bytes(label.encode()), name=label)


def rotation(old: Signer, new: Signer) -> AgentRotate:
    certificate = old.sign(rotation_message(old.name, old.public_key, new.public_key))
    return AgentRotate(
        name=old.name, previous=old.public_key, public_key=new.public_key, certificate=certificate
    )


def _keys(store: Store, name: str) -> list[tuple[str, int | None, int | None, str | None]]:
    return [(a.public_key, a.seq, a.until_seq, a.ended) for a in store.agents() if a.name == name]


def test_rotate_then_keep_writing_and_old_records_still_verify(
    store: Store, signer: Signer, reopen: Callable[[Signer], Store]
) -> None:
    registered = _keys(store, "alice")[0][1]  # seq 1, or 2 on a server (after its own)
    before = store.append(_artifact("before"))[0].seq
    new = Signer.generate("alice")
    rotated = store.append(rotation(signer, new))[0].seq  # signed by the old key
    store.signer = new
    after = store.append(_artifact("after"))[0].seq
    assert before < rotated < after
    assert _keys(store, "alice") == [
        (signer.public_key, registered, rotated, "rotated"),
        (new.public_key, rotated, None, None),
    ]
    report = store.verify()
    assert report.ok, report.problem
    # The old key signs nothing after the rotation, on every backend; nothing is written.
    old = reopen(signer)
    try:
        with pytest.raises(PermissionDenied, match=f"was rotated at seq {rotated}"):
            old.append(_artifact("late"))
    finally:
        old.close()
    assert store.head()[0] == after
    assert store.verify().ok


def test_revoke_then_the_key_is_refused_and_earlier_records_verify(
    store: Store, signer: Signer
) -> None:
    store.append(_artifact("before"))
    revoked = store.append(
        AgentRevoke(name="alice", public_key=signer.public_key, reason="laptop stolen")
    )[0].seq
    with pytest.raises(PermissionDenied, match=f"was revoked at seq {revoked}"):
        store.append(_artifact("after"))
    assert store.head()[0] == revoked
    (key,) = [a for a in store.agents() if a.name == "alice"]
    assert (key.until_seq, key.ended, key.reason) == (revoked, "revoked", "laptop stolen")
    report = store.verify()
    assert report.ok, report.problem


def test_a_rotation_the_old_key_did_not_certify_is_refused(store: Store, signer: Signer) -> None:
    new, mallory = Signer.generate("alice"), Signer.generate("mallory")
    forged = AgentRotate(
        name="alice",
        previous=signer.public_key,
        public_key=new.public_key,
        certificate=mallory.sign(rotation_message("alice", signer.public_key, new.public_key)),
    )
    head, keys = store.head()[0], _keys(store, "alice")
    with pytest.raises(PermissionDenied, match=r"certificate .* does not verify"):
        store.append(forged)
    # A certificate made for another agent's name does not carry over either.
    other = signer.sign(rotation_message("bob", signer.public_key, new.public_key))
    with pytest.raises(PermissionDenied, match="does not verify"):
        store.append(AgentRotate(name="alice", previous=signer.public_key,
                                 public_key=new.public_key, certificate=other))  # fmt: skip
    assert store.head()[0] == head
    assert _keys(store, "alice") == keys


def test_only_the_agent_rotates_its_keys_and_only_it_or_an_admin_revokes_them(
    store: Store, signer: Signer, reopen: Callable[[Signer], Store]
) -> None:
    bob = Signer.generate("bob")
    store.append(AgentRegister(name="bob", public_key=bob.public_key))
    as_bob = reopen(bob)
    try:
        head = as_bob.head()[0]
        with pytest.raises(PermissionDenied, match="key of agent alice needs role admin"):
            as_bob.append(AgentRevoke(name="alice", public_key=signer.public_key, reason="x"))
        with pytest.raises(PermissionDenied, match="cannot rotate a key of agent 'alice'"):
            as_bob.append(rotation(signer, Signer.generate("alice")))
        assert as_bob.head()[0] == head
    finally:
        as_bob.close()
    # A revoked key cannot be revoked again, nor rotated from.
    store.append(AgentRevoke(name="alice", public_key=signer.public_key, reason="done"))
    assert _keys(store, "alice")[0][3] == "revoked"


def test_a_rotation_must_replace_a_key_the_agent_holds(store: Store, signer: Signer) -> None:
    new = Signer.generate("alice")
    store.append(rotation(signer, new))
    store.signer = new
    with pytest.raises(Conflict, match="it was rotated at seq"):
        store.append(rotation(signer, Signer.generate("alice")))  # from the old key again
    stranger = Signer("alice", Signer.generate("x").private_key)
    with pytest.raises(Conflict, match="never held it"):
        store.append(rotation(stranger, Signer.generate("alice")))
    assert store.verify().ok
