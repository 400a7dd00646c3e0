"""Trials: a server applies an open block's ops and a read after them in a transaction it always
rolls back (Store.trial), so that an HTTP store's appends are refused, and its reads see the
block's writes, inside the block. Nothing a trial does may stay behind.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineal.errors import Conflict, NotFound, PermissionDenied
from lineal.ledger.keys import Signer
from lineal.model.ops import AgentRegister, ArtifactRecord, TagSet
from lineal.model.refs import parse
from lineal.store import wire
from lineal.store.base import Store
from lineal.store.batches import encode_batch
from lineal.store.registry import create_project, open_store

DIGEST = "sha256:" + "ab" * 32


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


def _body(signer: Signer, *ops: object) -> bytes:
    return encode_batch(signer.name, ops, f"trial-{uuid.uuid4().hex}", signer=signer)  # type: ignore[arg-type]


def _untouched(store: Store, head: tuple[int, str], commits: int) -> None:
    assert store.head() == head
    assert len(list(store.commits())) == commits
    report = store.verify()
    assert report.ok, report.problem
    assert report.records == head[0]


def test_a_trial_answers_a_read_after_its_ops_and_leaves_nothing(
    served: tuple[Store, Signer],
) -> None:
    store, alice = served
    head, commits = store.head(), len(list(store.commits()))
    ops = (ArtifactRecord(kind="dataset", digest=DIGEST, name="ds"), TagSet(
        target="agent/alice", key="stage", value="x"))  # fmt: skip
    read = ("tags", wire.encode_args("tags", {"node": "agent/alice"}))
    answer = store.trial(_body(alice, *ops), read)
    assert [seq for seq, _, _ in answer["records"]] == [head[0] + 1, head[0] + 2]
    assert wire.decode_result("tags", answer["result"]) == {"stage": "x"}
    _untouched(store, head, commits)
    assert store.tags("agent/alice") == {}
    with pytest.raises(NotFound):
        store.resolve(parse("dataset/ds"))


def test_a_trial_whose_read_raises_leaves_nothing(served: tuple[Store, Signer]) -> None:
    store, alice = served
    head, commits = store.head(), len(list(store.commits()))
    read = ("resolve", wire.encode_args("resolve", {"ref": parse("dataset/nowhere")}))
    with pytest.raises(NotFound, match="nowhere"):
        store.trial(_body(alice, ArtifactRecord(kind="dataset", digest=DIGEST, name="ds")), read)
    _untouched(store, head, commits)
    assert store.artifacts() == []


def test_a_refused_trial_says_why_and_leaves_nothing(served: tuple[Store, Signer]) -> None:
    store, alice = served
    head, commits = store.head(), len(list(store.commits()))
    twice = AgentRegister(name="alice", public_key=alice.public_key)
    with pytest.raises(Conflict) as refused:
        store.trial(_body(alice, TagSet(target="agent/alice", key="a", value="b"), twice))
    with pytest.raises(Conflict) as submitted:  # the refusal the batch itself would get
        store.append([TagSet(target="agent/alice", key="a", value="b"), twice])
    assert (refused.value.message, refused.value.hint) == (
        submitted.value.message,
        submitted.value.hint,
    )
    bob = Signer.generate("bob")  # neither registered nor registering himself
    with pytest.raises(PermissionDenied, match="bob"):
        store.trial(_body(bob, TagSet(target="agent/alice", key="a", value="b")))
    _untouched(store, head, commits)
    assert store.tags("agent/alice") == {}


def test_a_block_is_gathered_unchecked_while_the_server_is_away(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No trial can be asked: the block's appends are taken (unnumbered) and spooled."""
    monkeypatch.setenv("LINEAL_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("LINEAL_WRITE_WAIT", "0.1")
    monkeypatch.setenv("LINEAL_SYNC_TIMEOUT", "0")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = open_store(f"http://127.0.0.1:{port}/projects/away", Signer.generate("alice"))
    try:
        with store.atomic():
            first = store.append(TagSet(target="agent/alice", key="a", value="1"))
            second = store.append(TagSet(target="agent/alice", key="b", value="2"))
        assert [r.seq for r in first + second] == [0, 0]
        assert store.sync(0)["pending_batches"] == 1
    finally:
        store.close()
