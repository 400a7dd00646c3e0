"""Records forged by writing straight into the database (as a server's operator could) are
named by verify: a record signed with a key its author does not hold then (another agent's,
one rotated away, one revoked), a changed author, a rotation its old key did not certify.

Edits SQL rows behind the store's back: runs on the SQL backends of ``store_uri`` only; the
last test forges in the PostgreSQL database of a live server's project.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from lineal.ledger.chain import commit_message, record_hash
from lineal.ledger.keys import Signer
from lineal.model.agent_ops import AgentRevoke, AgentRotate, rotation_message
from lineal.model.digests import digest_bytes
from lineal.model.ops import AgentRegister, ArtifactRecord, Op
from lineal.store.sql.base import SqlStore

pytestmark = pytest.mark.sql

T = "2026-01-01T00:00:00.000000Z"


def _artifact(label: str) -> ArtifactRecord:
    return ArtifactRecord(kind="dataset", digest=digest_bytes(label.encode()), name=label)


def _rotation(old: Signer, new: Signer, *, certifier: Signer | None = None) -> AgentRotate:
    message = rotation_message(old.name, old.public_key, new.public_key)
    return AgentRotate(
        name=old.name,
        previous=old.public_key,
        public_key=new.public_key,
        certificate=(certifier or old).sign(message),
    )


def forge(store: SqlStore, author: str, op: Op, signer: Signer) -> int:
    """Append a record and a commit for it with raw SQL, signed by ``signer`` for ``author``
    and chained exactly as the store would; no projection, no check."""
    db = store.sql()
    head_seq, head_hash = store.head()
    seq, payload = head_seq + 1, op.encode()
    hashed = record_hash(head_hash, seq, T, author, op.OP, digest_bytes(payload))
    db.execute(
        "INSERT INTO ledger (seq, time, author, op, payload_digest, hash, payload) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (seq, T, author, op.OP, digest_bytes(payload), hashed, payload),
    )
    sig = signer.sign(commit_message(seq, hashed, head_seq))
    db.execute(
        "INSERT INTO commits (last_seq, last_hash, author, key_id, sig) VALUES (?, ?, ?, ?, ?)",
        (seq, hashed, author, signer.key_id, sig),
    )
    return seq


def named(store: SqlStore, seq: int, what: str) -> None:
    report = store.verify()
    assert not report.ok
    assert report.problem is not None
    assert report.problem.seq == seq, report.problem
    assert what in report.problem.what, report.problem


def test_a_record_signed_with_another_agents_key_is_named(store: SqlStore) -> None:
    mallory = Signer.generate("mallory")
    store.append(AgentRegister(name="mallory", public_key=mallory.public_key))
    seq = forge(store, "alice", _artifact("forged"), mallory)
    named(store, seq, "never registered")


def test_a_record_signed_with_a_rotated_away_key_is_named(store: SqlStore, signer: Signer) -> None:
    new = Signer.generate("alice")
    rotated = store.append(_rotation(signer, new))[0].seq
    store.signer = new
    store.append(_artifact("genuine"))
    assert store.verify().ok
    seq = forge(store, "alice", _artifact("forged"), signer)  # the old key, kept somewhere
    named(store, seq, f"no longer held: rotated at seq {rotated}")


def test_a_record_signed_after_revocation_is_named(store: SqlStore, signer: Signer) -> None:
    store.append(_artifact("genuine"))
    revoked = store.append(AgentRevoke(name="alice", public_key=signer.public_key, reason="x"))
    seq = forge(store, "alice", _artifact("forged"), signer)
    named(store, seq, f"revoked at seq {revoked[0].seq}")


def test_a_rotation_not_certified_by_the_old_key_is_named(store: SqlStore, signer: Signer) -> None:
    """Someone with the database but not alice's key gives alice a key of theirs, and signs
    as alice with it from then on."""
    mallory = Signer("alice", Signer.generate("mallory").private_key)
    seq = forge(store, "alice", _rotation(signer, mallory, certifier=mallory), mallory)
    named(store, seq, "rotation certificate does not verify")


def _rewrite_from(store: SqlStore, seq: int, **changes: Any) -> None:
    """Change record ``seq``'s columns and redo the hash chain from there, commits' hashes
    included, as an operator covering their tracks would (the signatures they cannot redo)."""
    db = store.sql()
    for column, value in changes.items():
        db.execute(f"UPDATE ledger SET {column} = ? WHERE seq = ?", (value, seq))
    prev_row = db.one("SELECT hash FROM ledger WHERE seq = ?", (seq - 1,))
    prev = prev_row[0] if prev_row else "0" * 64
    rows = db.all(
        "SELECT seq, time, author, op, payload_digest FROM ledger WHERE seq >= ? ORDER BY seq",
        (seq,),
    )
    for at, time, author, op, digest in rows:
        prev = record_hash(prev, at, time, author, op, digest)
        db.execute("UPDATE ledger SET hash = ? WHERE seq = ?", (prev, at))
        db.execute("UPDATE commits SET last_hash = ? WHERE last_seq = ?", (prev, at))


def test_a_changed_author_is_named(store: SqlStore, signer: Signer) -> None:
    bob = Signer.generate("bob")
    store.append(AgentRegister(name="bob", public_key=bob.public_key))
    seq = store.append(_artifact("alices"))[0].seq
    store.append(_artifact("more"))
    # The author column alone: the record's hash no longer matches.
    store.sql().execute("UPDATE ledger SET author = 'bob' WHERE seq = ?", (seq,))
    named(store, seq, "hash does not match")
    # The author with the hash chain redone: the commit is alice's.
    _rewrite_from(store, seq, author="bob")
    named(store, seq, "written by 'bob' inside a commit by 'alice'")
    # And the commit's author too: alice's key is not bob's.
    store.sql().execute("UPDATE commits SET author = 'bob' WHERE last_seq = ?", (seq,))
    named(store, seq, "never registered")
    # With bob's key id as well: the signature is alice's, not bob's.
    store.sql().execute("UPDATE commits SET key_id = ? WHERE last_seq = ?", (bob.key_id, seq))
    named(store, seq, "signature does not match")


def test_a_revocation_by_another_agent_is_named(store: SqlStore, signer: Signer) -> None:
    """bob, who may not revoke alice's key, writes the revocation into the database himself
    (signed by his own key, so that alice's later records would look forged)."""
    bob = Signer.generate("bob")
    store.append(AgentRegister(name="bob", public_key=bob.public_key))
    revoke = AgentRevoke(name="alice", public_key=signer.public_key, reason="mine now")
    seq = forge(store, "bob", revoke, bob)
    named(store, seq, "'bob' revoked a key of agent 'alice': only 'alice' or an admin may")


def test_an_admins_revocation_of_another_agents_key_verifies(
    store: SqlStore, signer: Signer
) -> None:
    """alice, the store's first agent and so its admin, revokes bob's key (bob lost it): the
    walk accepts it, and bob's key signs nothing after it."""
    bob = Signer.generate("bob")
    store.append(AgentRegister(name="bob", public_key=bob.public_key))
    revoked = store.append(AgentRevoke(name="bob", public_key=bob.public_key, reason="lost"))
    assert store.verify().ok
    seq = forge(store, "bob", _artifact("late"), bob)
    named(store, seq, f"revoked at seq {revoked[0].seq}")


def test_a_replayed_client_batch_is_named(store: SqlStore, signer: Signer) -> None:
    """The operator of a server (alice's store here, appending bob's signed batches) appends a
    batch bob signed once a second time, chained and countersigned with the server's key."""
    from lineal.model.ops import TagSet
    from lineal.store.batches import encode_batch

    bob = Signer.generate("bob")
    ops = [
        AgentRegister(name="bob", public_key=bob.public_key),
        TagSet(target="agent/bob", key="team", value="perception"),
    ]
    store.submit(encode_batch("bob", ops, "b-1", signer=bob))
    assert store.verify().ok
    db = store.sql()
    (_, _, author, key, sig, batch, server, server_key, _) = (
        db.one("SELECT * FROM commits WHERE batch = 'b-1'") or ()
    )
    db.execute("DROP INDEX commits_batch")
    head_seq, hashed = store.head()
    seq = head_seq
    for op in ops:  # the same records again: bob's signature over them holds
        seq, payload = seq + 1, op.encode()
        hashed = record_hash(hashed, seq, T, "bob", op.OP, digest_bytes(payload))
        db.execute(
            "INSERT INTO ledger (seq, time, author, op, payload_digest, hash, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seq, T, "bob", op.OP, digest_bytes(payload), hashed, payload),
        )
    db.execute(
        "INSERT INTO commits (last_seq, last_hash, author, key_id, sig, batch, server, "
        "server_key_id, server_sig) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, hashed, author, key, sig, batch, server, server_key,
         signer.sign(commit_message(seq, hashed, head_seq))),
    )  # fmt: skip
    named(store, head_seq + 1, "batch b-1 was appended before: a replay")


@pytest.mark.postgres
def test_records_forged_in_a_servers_postgresql_are_named_by_lineal_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lineal_cli: Any
) -> None:
    """alice writes through a live server with her token; its operator, who holds the
    database and the server's own key, then adds a record as alice signed with the server's
    key, and (that one gone) changes the author of alice's record: `lineal verify`, asked
    through the server, names each."""
    import uuid

    from lineal.store.registry import (
        create_project,
        open_project,
        open_store,
        server_signer,
    )
    from server_process import drop_server_databases, start_server, stop

    pytest.importorskip("psycopg")
    admin_uri = os.environ.get("LINEAL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    base = f"{admin_uri.rsplit('/', 1)[0]}/lineal_forge_{uuid.uuid4().hex[:8]}"
    keys = {"LINEAL_SERVER_KEYS": str(tmp_path / "keys")}
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LINEAL_SPOOL", str(tmp_path / "spool"))
    create_project(base, "vision")
    database = open_project(base, "vision")
    assert isinstance(database, SqlStore)
    token = database.issue_token("alice", "contributor").token
    proc, url = start_server(base, tmp_path, env=keys)
    try:
        monkeypatch.setenv("LINEAL_TOKEN", token)
        alice = Signer.generate("alice")
        client = open_store(f"{url}/projects/vision", alice)
        client.append(AgentRegister(name="alice", public_key=alice.public_key))
        genuine = client.append(_artifact("genuine"))[0].seq
        client.close()
        env = {"LINEAL_URI": f"{url}/projects/vision", "LINEAL_TOKEN": token}

        def verify() -> tuple[int, str]:
            done = lineal_cli("verify", cwd=tmp_path, env=env)
            return done.returncode, done.stdout + done.stderr

        code, said = verify()
        assert code == 0, said
        operator = server_signer(base)  # the server's own key: its operator has it
        forged = forge(database, "alice", _artifact("forged"), operator)
        code, said = verify()
        assert code == 1
        assert f"seq {forged}" in said, said
        assert "never registered" in said, said
        db = database.sql()
        db.execute("DELETE FROM commits WHERE last_seq = ?", (forged,))
        db.execute("DELETE FROM ledger WHERE seq = ?", (forged,))
        assert verify()[0] == 0
        _rewrite_from(database, genuine, author="bob")
        code, said = verify()
        assert code == 1
        assert f"seq {genuine}" in said, said
        assert "written by 'bob' inside a commit by 'alice'" in said, said
    finally:
        stop(proc)
        database.close()
        drop_server_databases(admin_uri, base)
