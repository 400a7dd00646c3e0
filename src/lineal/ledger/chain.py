"""The hash chain: how a record's hash binds it to its predecessor and its payload digest.

Pure arithmetic over record fields; never reads a store.

    hash = sha256(prev "\n" seq "\n" time "\n" author "\n" op "\n" payload_digest)   (hex)

Joining with newlines is unambiguous because no field may contain one: hashes and digests are
hex, ``seq`` is decimal, times have one fixed form, agent names and ops have closed alphabets.
The first record's ``prev`` is :data:`GENESIS`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def record_hash(prev: str, seq: int, time: str, author: str, op: str, payload_digest: str) -> str:
    """The hex hash of one record given the hash of the record before it."""
    text = f"{prev}\n{seq}\n{time}\n{author}\n{op}\n{payload_digest}"
    return hashlib.sha256(text.encode()).hexdigest()


def commit_message(last_seq: int, last_hash: str, previous: int | None = None) -> bytes:
    """The bytes a commit signature covers: the last record of the transaction and, since
    commits chain, the last seq of the commit before it (0 for the first). A commit row
    deleted later breaks the next commit's signature, so two transactions cannot pass for
    one. ``previous`` None: the form commits had before they chained (still verified)."""
    if previous is None:
        return f"lineal-commit\n{last_seq}\n{last_hash}".encode()
    return f"lineal-commit/2\n{previous}\n{last_seq}\n{last_hash}".encode()


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """One ledger record as stored; ``payload`` is None once redacted. A record a store has
    taken but not yet numbered (an HTTP store's spool) has ``seq`` 0 and no ``hash``."""

    seq: int
    time: str
    author: str
    op: str
    payload_digest: str
    hash: str
    payload: bytes | None = None

    def as_dict(self, payload: Any = None) -> dict[str, Any]:
        """A JSON-shaped view (for ``lineal log --json``)."""
        return {
            "seq": self.seq,
            "time": self.time,
            "author": self.author,
            "op": self.op,
            "payload_digest": self.payload_digest,
            "hash": self.hash,
            "payload": payload,
            "redacted": self.payload is None,
        }


def batch_digest(agent: str, batch: str, records: Iterable[tuple[str, str]]) -> str:
    """The identity of a batch an agent signed for a server to append: its agent, its id (a
    ULID the client chose) and each record's ``(op, payload_digest)`` in order. Payload
    digests, not payloads: a later redaction leaves the batch verifiable."""
    lines = [f"lineal-batch/1\n{agent}\n{batch}", *(f"{op} {digest}" for op, digest in records)]
    return "sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()


def batch_message(digest: str) -> bytes:
    """The bytes a client's batch signature covers."""
    return f"lineal-batch-sig/1\n{digest}".encode()


@dataclass(frozen=True, slots=True, kw_only=True)
class Commit:
    """The signed end of one transaction: ``sig`` = ed25519(key, commit_message(...)).

    A batch a client signed and a server appended (``batch`` set) carries two signatures: the
    client's, ``sig`` = ed25519(author's key, batch_message(batch_digest(...))), over what it
    wrote; and the server's, ``server_sig`` over commit_message(...), over where it landed in
    the chain. So a server can neither invent nor alter a client's record, and the chain
    still proves that nothing was removed."""

    last_seq: int
    last_hash: str
    author: str
    key_id: str
    sig: str
    batch: str | None = None
    server: str | None = None
    server_key_id: str | None = None
    server_sig: str | None = None
