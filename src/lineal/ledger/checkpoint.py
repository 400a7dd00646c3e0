"""Signed tree heads: a Merkle root over the ledger that a third party can keep and re-check.

Builds and checks checkpoint documents over leaf hashes it is handed; never reads a store.

A checkpoint holds the tree size and root, the chain head hash at that size, who signed it
(name and public key, so it can be checked without trusting the store), when, and the roots of
fixed-size blocks of records, so that a checkpoint that no longer matches can say where
history was first rewritten (to the record when the ledger held at most 1,024 records then).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lineal.errors import InvalidInput
from lineal.ledger import merkle
from lineal.ledger.keys import Signer, key_id, verify_signature
from lineal.model import canonical

FORMAT = "lineal-checkpoint/1"
_FIELDS = ("format", "size", "root", "head", "time", "agent", "public_key", "block", "blocks")


def _signed_part(doc: Mapping[str, Any]) -> bytes:
    return canonical.encode({key: doc[key] for key in _FIELDS})


def make_checkpoint(
    leaves: Sequence[bytes], head: str, time: str, signer: Signer
) -> dict[str, Any]:
    """A signed tree head over ``leaves`` (the record hashes, in seq order)."""
    block, roots = merkle.block_roots(leaves, len(leaves))
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
    }
    doc["sig"] = signer.sign(_signed_part(doc))
    return doc


@dataclass(frozen=True, slots=True)
class CheckpointResult:
    """Whether an old tree head is a prefix of today's ledger, and if not, where it broke."""

    consistent: bool
    size: int
    current_size: int
    first_bad_seq: int | None = None
    last_bad_seq: int | None = None
    proof_length: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "consistent": self.consistent,
            "size": self.size,
            "current_size": self.current_size,
            "first_bad_seq": self.first_bad_seq,
            "last_bad_seq": self.last_bad_seq,
            "consistency_proof_length": self.proof_length,
        }


def _parse(doc: Mapping[str, Any]) -> tuple[int, bytes, int, list[bytes]]:
    try:
        if doc["format"] != FORMAT:
            raise InvalidInput(f"unknown checkpoint format {doc['format']!r}")
        size, block = int(doc["size"]), int(doc["block"])
        root = bytes.fromhex(doc["root"])
        blocks = [bytes.fromhex(b) for b in doc["blocks"]]
        signed = _signed_part(doc)
    except (KeyError, TypeError, ValueError) as exc:
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


def check_checkpoint(doc: Mapping[str, Any], leaves: Sequence[bytes]) -> CheckpointResult:
    """Check an old checkpoint against today's ``leaves`` (all record hashes, in seq order)."""
    size, old_root, block, blocks = _parse(doc)
    current = len(leaves)
    if size > current:
        return CheckpointResult(False, size, current, first_bad_seq=current + 1, last_bad_seq=size)
    new_root = merkle.root(leaves)
    proof = merkle.consistency_proof(leaves, size, current)
    if merkle.verify_consistency(size, current, old_root, new_root, proof):
        return CheckpointResult(True, size, current, proof_length=len(proof))
    bad = merkle.first_divergent_block(block, blocks, leaves, size)
    if bad is None:  # block roots agree but the root does not: the document lies about them
        return CheckpointResult(False, size, current, first_bad_seq=1, last_bad_seq=size)
    first = bad * block + 1
    return CheckpointResult(
        False, size, current, first_bad_seq=first, last_bad_seq=min(first + block - 1, size)
    )
