"""A lineal server refuses a batch its client signed with a key the agent no longer holds
(rotated away or revoked), as a permission error (403), and writes nothing of it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lineal.ledger.keys import Signer
from lineal.model.agent_ops import AgentRevoke, AgentRotate, rotation_message
from lineal.model.ops import AgentRegister, TagSet
from lineal.store.base import Store
from lineal.store.batches import encode_batch
from lineal.store.http import parse_uri
from lineal.store.registry import create_project, open_store


@pytest.fixture
def served(
    lineal_server: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Store, Signer]]:
    """A new project on the session's server, alice registered, opened through HTTP."""
    monkeypatch.setenv("LINEAL_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("LINEAL_WRITE_WAIT", "300")
    base, url = lineal_server
    name = f"t{uuid.uuid4().hex[:12]}"
    create_project(base, name)
    alice = Signer.generate("alice")
    store = open_store(f"{url}/projects/{name}", alice)
    store.append(AgentRegister(name="alice", public_key=alice.public_key))
    try:
        yield store, alice
    finally:
        store.close()


def _tag(value: str) -> TagSet:
    return TagSet(target="agent/alice", key="note", value=value)


def _refused(store: Store, body: bytes, what: str) -> None:
    api = parse_uri(store.uri)[0]
    head = store.head()
    (receipt,) = httpx.post(f"{api}/batches", content=body, timeout=60).json()["receipts"]
    assert (receipt["ok"], receipt["code"]) == (False, "permission")  # answered as a 403
    assert what in receipt["error"]
    trial = httpx.post(f"{api}/trial", content=b"null\n" + body, timeout=60)
    assert trial.status_code == 403
    assert what in trial.json()["error"]
    assert store.head() == head


def test_a_batch_signed_with_a_rotated_away_key_is_refused(served: tuple[Store, Signer]) -> None:
    store, alice = served
    new = Signer.generate("alice")
    cert = alice.sign(rotation_message("alice", alice.public_key, new.public_key))
    rotated = store.append(
        AgentRotate(name="alice", previous=alice.public_key, public_key=new.public_key,
                    certificate=cert)
    )[0].seq  # fmt: skip
    _refused(store, encode_batch("alice", [_tag("late")], "b-old", signer=alice),
             f"was rotated at seq {rotated}")  # fmt: skip
    # The new key is accepted.
    store.signer = new
    store.append(_tag("fresh"))
    report = store.verify()
    assert report.ok, report.problem


def test_a_batch_signed_with_a_revoked_key_is_refused(served: tuple[Store, Signer]) -> None:
    store, alice = served
    revoked = store.append(AgentRevoke(name="alice", public_key=alice.public_key, reason="x"))
    body = encode_batch("alice", [_tag("late")], "b-revoked", signer=alice)
    _refused(store, body, f"was revoked at seq {revoked[0].seq}")
    assert store.verify().ok
