"""A checkpoint covers the signed commits too: one deleted, added or changed since is named;
checkpoints of format 1 (no commits) are still read, and must end where a commit ends."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from lineal.errors import InvalidInput
from lineal.ledger.chain import Commit
from lineal.ledger.checkpoint import FORMAT_1, check_checkpoint, make_checkpoint
from lineal.ledger.keys import Signer
from lineal.model import canonical

TIME = "2026-01-01T00:00:00.000000Z"
FIELDS_1 = ("format", "size", "root", "head", "time", "agent", "public_key", "block", "blocks")


def leaves(count: int) -> list[bytes]:
    return [hashlib.sha256(b"%d" % i).digest() for i in range(count)]


def commits(signer: Signer, *ends: int) -> list[Commit]:
    return [
        Commit(last_seq=end, last_hash=leaves(end)[-1].hex(), author=signer.name,
               key_id=signer.key_id, sig=signer.sign(b"%d" % end))
        for end in ends
    ]  # fmt: skip


def format_1(doc: dict[str, Any], signer: Signer) -> dict[str, Any]:
    """The same checkpoint as lineal wrote it before commits were covered."""
    old = {key: doc[key] for key in FIELDS_1} | {"format": FORMAT_1}
    return old | {"sig": signer.sign(canonical.encode(old))}


@pytest.fixture
def alice() -> Signer:
    return Signer.generate("alice")


def test_unchanged_commits_agree(alice: Signer) -> None:
    doc = make_checkpoint(leaves(6), "h", TIME, alice, commits(alice, 2, 4, 6))
    assert (doc["commits"], len(doc["commits_root"])) == (3, 64)
    later = commits(alice, 2, 4, 6, 9)  # the ledger grew since: still the same up to 6
    result = check_checkpoint(doc, leaves(9), later)
    assert result.ok
    assert (result.agent, result.key_id) == ("alice", alice.key_id)


def test_a_deleted_added_or_changed_commit_is_named(alice: Signer) -> None:
    doc = make_checkpoint(leaves(6), "h", TIME, alice, commits(alice, 2, 4, 6))
    deleted = check_checkpoint(doc, leaves(6), commits(alice, 2, 6))
    assert deleted.consistent  # the records are the same ...
    assert not deleted.ok  # ... but a transaction boundary is gone
    assert deleted.commit_problem is not None
    assert "saw 3 signed commits up to seq 6, the store has 2" in deleted.commit_problem
    assert "two transactions merged into one" in deleted.commit_problem
    added = check_checkpoint(doc, leaves(6), commits(alice, 1, 2, 4, 6)).commit_problem
    assert added is not None
    assert "a commit was added" in added
    changed = commits(alice, 2, 4, 6)
    changed[1] = Commit(**{**{f: getattr(changed[1], f) for f in Commit.__slots__}, "sig": "00"})
    problem = check_checkpoint(doc, leaves(6), changed).commit_problem
    assert problem == "a signed commit up to seq 6 was changed since the checkpoint"


def test_format_1_is_read_and_must_end_at_a_commit(alice: Signer) -> None:
    old = format_1(make_checkpoint(leaves(4), "h", TIME, alice), alice)
    assert check_checkpoint(old, leaves(6), commits(alice, 2, 4, 6)).ok
    result = check_checkpoint(old, leaves(6), commits(alice, 2, 6))
    assert result.commit_problem is not None
    assert "no signed commit ends at seq 4" in result.commit_problem


def test_the_commit_fields_are_signed(alice: Signer) -> None:
    doc = make_checkpoint(leaves(4), "h", TIME, alice, commits(alice, 2, 4))
    with pytest.raises(InvalidInput, match="signature does not match"):
        check_checkpoint(doc | {"commits": 1}, leaves(4), commits(alice, 4))
    # Relabelled as format 1 to drop them: the signature no longer matches either.
    stripped = {k: v for k, v in doc.items() if k not in ("commits", "commits_root")}
    with pytest.raises(InvalidInput, match="signature does not match"):
        check_checkpoint(stripped | {"format": FORMAT_1}, leaves(4), commits(alice, 4))
    with pytest.raises(InvalidInput, match="not a lineal checkpoint"):
        check_checkpoint(stripped, leaves(4))
