"""Who may sign as whom: adding a key to an existing agent needs that agent's signature."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineal.errors import Conflict
from lineal.ledger.chain import commit_message, record_hash
from lineal.ledger.keys import Signer
from lineal.model import canonical
from lineal.model.digests import digest_bytes
from lineal.model.ops import AgentRegister
from lineal.store.registry import open_store
from lineal.store.sql.base import SqlStore

#: Reads SQL internals: runs on the SQL backends of ``store_uri`` only (tests/conftest.py).
pytestmark = pytest.mark.sql


def test_agent_can_add_its_own_second_key(store: SqlStore, signer: Signer) -> None:
    laptop = Signer("alice", Signer.generate("alice").private_key)
    store.append(AgentRegister(name="alice", public_key=laptop.public_key))
    assert {a.public_key for a in store.agents()} == {signer.public_key, laptop.public_key}
    assert store.verify().ok


def test_someone_else_cannot_add_a_key_for_an_agent(store_uri: str, signer: Signer) -> None:
    store = open_store(store_uri, signer, create=True)
    store.append(AgentRegister(name="alice", public_key=signer.public_key))
    store.close()
    impostor = Signer.generate("alice")  # same name, a key alice never approved
    forged = open_store(store_uri, impostor)
    with pytest.raises(Conflict, match="already registered"):
        forged.append(AgentRegister(name="alice", public_key=impostor.public_key))
    assert forged.head()[0] == 1
    assert forged.verify().ok
    forged.close()


def test_verify_rejects_a_key_smuggled_in_by_raw_writes(tmp_path: Path) -> None:
    alice = Signer.generate("alice")
    uri = f"sqlite:///{tmp_path / 'l.db'}"
    store = open_store(uri, alice, create=True)
    store.append(AgentRegister(name="alice", public_key=alice.public_key))
    # Bypass the store's checks: write a record registering a second "alice" key, signed by
    # that new key itself, exactly as someone with write access to the database could.
    impostor = Signer.generate("alice")
    head_seq, head_hash = store.head()
    payload = canonical.encode({"name": "alice", "public_key": impostor.public_key})
    seq, time = head_seq + 1, "2026-01-01T00:00:00.000000Z"
    digest = digest_bytes(payload)
    hashed = record_hash(head_hash, seq, time, "alice", "agent.register", digest)
    db = store.sql()
    db.execute(
        "INSERT INTO ledger (seq, time, author, op, payload_digest, hash, payload) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (seq, time, "alice", "agent.register", digest, hashed, payload),
    )
    db.execute(
        "INSERT INTO commits (last_seq, last_hash, author, key_id, sig) VALUES (?, ?, ?, ?, ?)",
        (seq, hashed, "alice", impostor.key_id, impostor.sign(commit_message(seq, hashed))),
    )
    db.execute(
        "INSERT INTO agents (name, public_key, key_id, seq) VALUES (?, ?, ?, ?)",
        ("alice", impostor.public_key, impostor.key_id, seq),
    )
    report = store.verify()
    assert not report.ok
    assert report.problem is not None
    assert report.problem.seq == seq
    store.close()
