"""Checking a ledger: sequence, hash chain, payload digests and commit signatures.

Works on rows streamed from any store; never writes, never trusts a projection.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lineal.ledger.chain import GENESIS, Commit, commit_message, record_hash
from lineal.ledger.keys import key_id, verify_signature

#: One stored record as a tuple, in this column order (the fast path reads rows, not objects).
RecordRow = tuple[int, str, str, str, str, str, bytes | None]


@dataclass(frozen=True, slots=True)
class Problem:
    """The first thing found wrong, at the first bad ``seq``."""

    seq: int
    what: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.what}"


@dataclass(slots=True)
class ChainStats:
    records: int = 0
    commits: int = 0
    redacted: int = 0
    head: str = GENESIS
    agents: dict[str, set[str]] = field(default_factory=dict)


def _problem_at(seq: int, what: str) -> Problem:
    return Problem(seq, what)


def verify_chain(  # noqa: PLR0911, PLR0912 - one pass, one early exit per kind of damage
    rows: Iterable[RecordRow],
    commits: Iterable[Commit],
    redacted: set[int],
) -> tuple[Problem | None, ChainStats]:
    """Walk every record once; return the first problem (or None) and what was counted.

    ``redacted`` holds the seqs that ``redact`` records name: only those may lack a payload.
    """
    stats = ChainStats()
    sha256 = hashlib.sha256
    prev = GENESIS
    expected = 1
    commit_iter: Iterator[Commit] = iter(commits)
    commit = next(commit_iter, None)
    agents = stats.agents
    for seq, time, author, op, payload_digest, stored_hash, payload in rows:
        if seq != expected:
            if seq > expected:
                return _problem_at(expected, f"record missing (next stored is {seq})"), stats
            return _problem_at(seq, "record out of order"), stats
        try:
            computed = record_hash(prev, seq, time, author, op, payload_digest)
        except UnicodeEncodeError:
            return _problem_at(seq, "record fields are not valid text"), stats
        if computed != stored_hash:
            return _problem_at(seq, "hash does not match the record's contents and chain"), stats
        if payload is None:
            if seq not in redacted:
                return _problem_at(seq, "payload missing but never redacted"), stats
            stats.redacted += 1
        else:
            data = payload if isinstance(payload, bytes) else bytes(payload)
            if "sha256:" + sha256(data).hexdigest() != payload_digest:
                return _problem_at(seq, "payload does not match its digest"), stats
            if op == "agent.register":
                body = json.loads(data)
                agents.setdefault(body["name"], set()).add(body["public_key"])
        if commit is None:
            return _problem_at(seq, "record is not covered by any signed commit"), stats
        if commit.author != author:
            what = f"written by {author!r} inside a commit by {commit.author!r}"
            return _problem_at(seq, what), stats
        if commit.last_seq == seq:
            problem = _check_commit(commit, stored_hash, agents)
            if problem:
                return problem, stats
            stats.commits += 1
            commit = next(commit_iter, None)
        prev = stored_hash
        expected += 1
    stats.records = expected - 1
    stats.head = prev
    if commit is not None:
        return _problem_at(commit.last_seq, "a commit names a record that does not exist"), stats
    return None, stats


def _check_commit(commit: Commit, stored_hash: str, agents: dict[str, Any]) -> Problem | None:
    seq = commit.last_seq
    if commit.last_hash != stored_hash:
        return Problem(seq, "commit does not match the record it closes")
    keys = [k for k in agents.get(commit.author, ()) if key_id(k) == commit.key_id]
    if not keys:
        return Problem(seq, f"commit signed by a key agent {commit.author!r} never registered")
    message = commit_message(seq, stored_hash)
    if not any(verify_signature(k, message, commit.sig) for k in keys):
        return Problem(seq, f"commit signature does not match agent {commit.author!r}'s key")
    return None
