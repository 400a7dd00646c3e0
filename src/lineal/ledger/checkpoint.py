"""Signed tree heads: a Merkle root over the ledger that a third party can keep and re-check.

Builds and checks checkpoint documents over leaf hashes it is handed; never reads a store.

A checkpoint holds the tree size and root, the chain head hash at that size, who signed it
(name and public key), when, the roots of fixed-size blocks of records, so that a checkpoint
that no longer matches can say where history was first rewritten (to the record when the
ledger held at most 1,024 records then), and (format 2) the number and a digest of the signed
commits up to its size, so that a deleted commit (two transactions merged into one) is found.

The key inside the document only proves the document is whole; who signed it is decided
against keys the caller trusts (lineal.checkpoint_files: the ledger's keys for that agent,
or a pinned key).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lineal.errors import InvalidInput
from lineal.ledger import merkle
from lineal.ledger.chain import Commit
from lineal.ledger.keys import Signer, key_id, verify_signature
from lineal.model import canonical

FORMAT = "lineal-checkpoint/2"
FORMAT_1 = "lineal-checkpoint/1"  # no commits: still read and checked
_FIELDS_1 = ("format", "size", "root", "head", "time", "agent", "public_key", "block", "blocks")
_FIELDS = {FORMAT_1: _FIELDS_1, FORMAT: (*_FIELDS_1, "commits", "commits_root")}


def _signed_part(doc: Mapping[str, Any]) -> bytes:
    return canonical.encode({key: doc[key] for key in _FIELDS[doc["format"]]})


def commits_digest(commits: Iterable[Commit], size: int) -> tuple[int, str]:
    """How many signed commits end at or before record ``size``, and one digest of them all
    (every field, in seq order): a commit deleted or changed since changes it."""
    hasher = hashlib.sha256()
    count = 0
    for commit in commits:
        if commit.last_seq > size:
            break
        count += 1
        hasher.update(
            f"{commit.last_seq}\n{commit.last_hash}\n{commit.author}\n{commit.key_id}\n"
            f"{commit.sig}\n".encode()
        )
        if commit.batch is not None:  # a server's batch: its id and the server's signature
            hasher.update(
                f"{commit.batch}\n{commit.server}\n{commit.server_key_id}\n"
                f"{commit.server_sig}\n".encode()
            )
    return count, hasher.hexdigest()


def make_checkpoint(
    leaves: Sequence[bytes],
    head: str,
    time: str,
    signer: Signer,
    commits: Iterable[Commit] = (),
) -> dict[str, Any]:
    """A signed tree head over ``leaves`` (the record hashes, in seq order) and the signed
    ``commits`` (in seq order) that close them."""
    block, roots = merkle.block_roots(leaves, len(leaves))
    count, commits_root = commits_digest(commits, len(leaves))
    doc: dict[str, Any] = {
        "format": FORMAT,
        "size": len(leaves),
        "root": merkle.root(leaves).hex(),
        "head": head,
        "time": time,
        "agent": signer.name,
        "public_key": signer.public_key,
        "block": block,
        "blocks": [r.hex() for r in roots],
        "commits": count,
        "commits_root": commits_root,
    }
    doc["sig"] = signer.sign(_signed_part(doc))
    return doc


@dataclass(frozen=True, slots=True)
class CheckpointResult:
    """Whether an old tree head is a prefix of today's ledger (and its commits unchanged), and
    if not, where it broke; and whose key signed it."""

    consistent: bool
    size: int
    current_size: int
    first_bad_seq: int | None = None
    last_bad_seq: int | None = None
    proof_length: int = 0
    commit_problem: str | None = None  # the records agree, the signed commits do not
    agent: str = ""
    key_id: str = ""
    trusted: str = ""  # how the key was trusted: "ledger" or "pinned", once checked

    @property
    def ok(self) -> bool:
        return self.consistent and self.commit_problem is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "consistent": self.consistent,
            "size": self.size,
            "current_size": self.current_size,
            "first_bad_seq": self.first_bad_seq,
            "last_bad_seq": self.last_bad_seq,
            "consistency_proof_length": self.proof_length,
            "commit_problem": self.commit_problem,
            "signed_by": {"agent": self.agent, "key_id": self.key_id, "trusted": self.trusted},
        }


def _hex(value: Any, length: int | None = None) -> bytes:
    if not isinstance(value, str) or (length is not None and len(value) != length):
        raise ValueError(f"expected {length or 'some'} hex characters")
    return bytes.fromhex(value)


def _parse(doc: Mapping[str, Any]) -> tuple[int, bytes, int, list[bytes]]:
    try:
        if doc["format"] not in _FIELDS:
            raise InvalidInput(
                f"unknown checkpoint format {doc['format']!r}",
                hint="check it with the lineal version that wrote it, or a newer one",
            )
        size, block = int(doc["size"]), int(doc["block"])
        root = _hex(doc["root"], 64)
        _hex(doc["public_key"], 64)
        if not isinstance(doc["agent"], str) or not isinstance(doc["blocks"], list):
            raise TypeError("agent must be text and blocks a list")
        blocks = [_hex(b, 64) for b in doc["blocks"]]
        if doc["format"] == FORMAT:
            int(doc["commits"])
            _hex(doc["commits_root"], 64)
        signed = _signed_part(doc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput(
            f"not a lineal checkpoint: {exc}", hint="pass a file written by `lineal checkpoint`"
        ) from exc
    if not verify_signature(doc["public_key"], signed, str(doc.get("sig", ""))):
        raise InvalidInput(
            "the checkpoint's signature does not match its contents",
            hint="the file was altered after it was signed; use an untouched copy",
        )
    return size, root, block, blocks


def signer_key_id(doc: Mapping[str, Any]) -> str:
    return key_id(str(doc["public_key"]))


def check_checkpoint(
    doc: Mapping[str, Any],
    leaves: Sequence[bytes],
    commits: Iterable[Commit] | None = None,
) -> CheckpointResult:
    """Check an old checkpoint against today's ``leaves`` (all record hashes, in seq order)
    and, when given, today's signed ``commits`` (in seq order).

    Only the document's own signature is checked here: whether its key is one to trust is the
    caller's decision (lineal.checkpoint_files trusts the ledger's keys or a pinned one).
    """
    size, old_root, block, blocks = _parse(doc)
    current = len(leaves)
    agent, kid = str(doc["agent"]), signer_key_id(doc)
    if size > current:
        return CheckpointResult(
            False,
            size,
            current,
            first_bad_seq=current + 1,
            last_bad_seq=size,
            agent=agent,
            key_id=kid,
        )
    new_root = merkle.root(leaves)
    proof = merkle.consistency_proof(leaves, size, current)
    if merkle.verify_consistency(size, current, old_root, new_root, proof):
        problem = None if commits is None else _commit_problem(doc, size, commits)
        return CheckpointResult(
            True,
            size,
            current,
            proof_length=len(proof),
            commit_problem=problem,
            agent=agent,
            key_id=kid,
        )
    bad = merkle.first_divergent_block(block, blocks, leaves, size)
    # Block roots that agree while the root does not: the document lies about them.
    first = 1 if bad is None else bad * block + 1
    last = size if bad is None else min(first + block - 1, size)
    return CheckpointResult(
        False, size, current, first_bad_seq=first, last_bad_seq=last, agent=agent, key_id=kid
    )


def _commit_problem(doc: Mapping[str, Any], size: int, commits: Iterable[Commit]) -> str | None:
    if doc["format"] == FORMAT_1:  # no commit digest: a checkpoint still ends a transaction
        if size == 0 or any(commit.last_seq == size for commit in commits):
            return None
        return (
            f"no signed commit ends at seq {size}, where the checkpoint was taken: a commit "
            "was deleted (two transactions merged into one)"
        )
    count, digest = commits_digest(commits, size)
    seen = int(doc["commits"])
    if count < seen:
        return (
            f"the checkpoint saw {seen} signed commits up to seq {size}, the store has {count}: "
            "a commit was deleted (two transactions merged into one)"
        )
    if count > seen:
        return (
            f"the checkpoint saw {seen} signed commits up to seq {size}, the store has {count}: "
            "a commit was added (a transaction split in two)"
        )
    if digest != doc["commits_root"]:
        return f"a signed commit up to seq {size} was changed since the checkpoint"
    return None
