"""Checking a ledger: sequence, hash chain, payload digests and commit signatures.

Works on rows streamed from any store; never writes, never trusts a projection.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from lineal.ledger.agent_keys import KEY_OPS, KeyHistory, KeySpan
from lineal.ledger.chain import (
    GENESIS,
    Commit,
    batch_digest,
    batch_message,
    commit_message,
    record_hash,
)
from lineal.ledger.keys import verify_signature

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
    agents: dict[str, dict[str, KeySpan]] = field(default_factory=dict)


def verify_chain(  # noqa: PLR0912, PLR0915 - one pass, one exit per kind of damage
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
    agents = KeyHistory()
    stats.agents = agents.held
    # A payload missing without a redaction is reported unless a damaged `redact` record
    # (the real first damage, since it is what failed to name it) is found first.
    missing: int | None = None
    problem: Problem | None = None
    op = ""
    chained = _Chained()
    batch: list[tuple[str, str]] = []  # (op, payload_digest) of the open commit's records
    batches: set[str] = set()  # the ids of the batches clients signed, seen so far
    for seq, time, author, op, payload_digest, stored_hash, payload in rows:
        if seq != expected:
            if seq > expected:
                problem = Problem(expected, f"record missing (next stored is {seq})")
            else:
                problem = Problem(seq, "record out of order")
            break
        try:
            computed = record_hash(prev, seq, time, author, op, payload_digest)
        except UnicodeEncodeError:
            problem = Problem(seq, "record fields are not valid text")
            break
        if computed != stored_hash:
            problem = Problem(seq, "hash does not match the record's contents and chain")
            break
        if payload is None:
            if seq not in redacted:
                missing = seq if missing is None else missing
            else:
                stats.redacted += 1
        else:
            data = payload if isinstance(payload, bytes) else bytes(payload)
            if "sha256:" + sha256(data).hexdigest() != payload_digest:
                problem = Problem(seq, "payload does not match its digest")
                break
            if op in KEY_OPS and (wrong := agents.apply(seq, author, op, data)):
                problem = Problem(seq, wrong)
                break
        if commit is None:
            problem = Problem(seq, "record is not covered by any signed commit")
            break
        if commit.author != author:
            # A commit deleted between two agents' transactions (chained commits find the
            # rest at the next signature; checkpoints keep a digest of the commits too).
            problem = Problem(
                seq,
                f"written by {author!r} inside a commit by {commit.author!r} (the commit "
                f"ending at seq {commit.last_seq}): a commit before it was deleted or altered",
            )
            break
        if commit.batch is not None:
            batch.append((op, payload_digest))
        if commit.last_seq == seq:
            if commit.batch is not None and commit.batch in batches:
                # A batch its agent signed once, appended again elsewhere in the chain.
                problem = Problem(
                    chained.previous + 1, f"batch {commit.batch} was appended before: a replay"
                )
                break
            problem = _check_commit(commit, stored_hash, agents, chained, batch)
            if problem is None and (added := agents.close_commit(commit.author)):
                problem = Problem(*added)
            batch = []
            if problem:
                break
            stats.commits += 1
            if commit.batch is not None:
                batches.add(commit.batch)
            chained.previous = seq
            commit = next(commit_iter, None)
        prev = stored_hash
        expected += 1
    else:
        op = ""
        if commit is not None:
            problem = Problem(commit.last_seq, "a commit names a record that does not exist")
    stats.records = expected - 1
    stats.head = prev
    if missing is not None and (problem is None or op != "redact"):
        problem = Problem(missing, "payload missing but never redacted")
    return problem, stats


#: How many earlier seqs a broken chain is searched for the commit it really followed.
_SEARCH = 100_000


@dataclass(slots=True)
class _Chained:
    """Where the commits stand: the last seq of the one before, and whether they chain (once
    one commit names its predecessor, every later one must)."""

    previous: int = 0
    chaining: bool = False


def _check_commit(
    commit: Commit,
    stored_hash: str,
    agents: KeyHistory,
    chained: _Chained,
    batch: list[tuple[str, str]],
) -> Problem | None:
    """The commit closes its record, is signed by a key its author holds and, once commits
    chain (lineal.ledger.chain.commit_message), names the commit before it. A batch a server
    appended for a client (``commit.batch``) is signed by its author over ``batch``, the
    commit's ``(op, payload_digest)`` pairs, and by the server over its place in the chain."""
    seq = commit.last_seq
    if commit.last_hash != stored_hash:
        return Problem(seq, "commit does not match the record it closes")
    first = chained.previous + 1
    keys = _signing_keys(agents, commit.author, commit.key_id, (first, seq), "commit by")
    if isinstance(keys, Problem):
        return keys
    if commit.batch is None:
        return _chain_signed(seq, stored_hash, keys, commit.sig, commit.author, chained)
    message = batch_message(batch_digest(commit.author, commit.batch, batch))
    if not any(verify_signature(k, message, commit.sig) for k in keys):
        return Problem(
            seq,
            f"batch {commit.batch} does not match agent {commit.author!r}'s signature: its "
            "records were altered after the agent signed them",
        )
    server = commit.server or ""
    kid = commit.server_key_id or ""
    server_keys = _signing_keys(agents, server, kid, (first, seq), "batch appended by server")
    if isinstance(server_keys, Problem):
        return server_keys
    return _chain_signed(seq, stored_hash, server_keys, commit.server_sig or "", server, chained)


def _signing_keys(
    agents: KeyHistory, name: str, kid: str, covered: tuple[int, int], what: str
) -> list[str] | Problem:
    """The keys with id ``kid`` that ``name`` held when it signed records ``covered``."""
    keys = agents.signing_keys(name, kid, *covered)
    if isinstance(keys, tuple):
        return Problem(keys[0], f"{what} {name!r} {keys[1]}")
    if not keys:
        return Problem(covered[1], f"{what} {name!r} signed with a key {name!r} never registered")
    return keys


def _chain_signed(
    seq: int, stored_hash: str, keys: list[str], sig: str, signer: str, chained: _Chained
) -> Problem | None:
    previous = chained.previous

    def signed(message: bytes) -> bool:
        return any(verify_signature(k, message, sig) for k in keys)

    if signed(commit_message(seq, stored_hash, previous)):
        chained.chaining = True
        return None
    if not chained.chaining and signed(commit_message(seq, stored_hash)):
        return None  # a commit from before commits chained
    for start in range(previous + 1, min(seq, previous + 1 + _SEARCH)):
        if signed(commit_message(seq, stored_hash, start)):
            return Problem(
                start,
                f"the commit ending at seq {start} was deleted: the commit ending at seq {seq} "
                "follows it",
            )
    return Problem(seq, f"commit signature does not match agent {signer!r}'s key")
