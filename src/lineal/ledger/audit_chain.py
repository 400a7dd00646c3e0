"""Checking an audit log's hash chain and its signed heads, from a store or from an export.

Pure over what it is given (rows in seq order, heads, the keys it may trust); never reads a
store or a file, and names the first bad row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lineal.ledger.keys import verify_signature
from lineal.model.audit import (
    AUDIT_GENESIS,
    AuditHead,
    AuditReport,
    AuditRow,
    head_message,
    row_hash,
)


@dataclass(slots=True)
class _Walk:
    rows: int = 0
    seq: int = 0
    hash: str = AUDIT_GENESIS
    problem_seq: int | None = None
    problem: str | None = None

    def fail(self, seq: int, what: str) -> None:
        if self.problem is None:
            self.problem_seq, self.problem = seq, what


def _row(walk: _Walk, row: AuditRow, heads: Mapping[int, AuditHead]) -> None:
    expected = walk.seq + 1
    if row.seq != expected:
        gone = f"row {expected}" if row.seq == expected + 1 else f"rows {expected}..{row.seq - 1}"
        after = f"row {walk.seq}" if walk.seq else "the start"
        walk.fail(expected, f"audit {gone} deleted: row {row.seq} follows {after}")
    elif row_hash(row.prev, row.seq, row.event) != row.hash:
        walk.fail(row.seq, f"audit row {row.seq} was altered: its hash does not match its content")
    elif row.prev != walk.hash:
        walk.fail(
            row.seq,
            f"audit row {row.seq} does not follow row {walk.seq}: its prev hash is not that "
            f"row's hash (row {walk.seq} or {row.seq} was rewritten)",
        )
    head = heads.get(row.seq)
    if head is not None and head.hash != row.hash:
        walk.fail(
            row.seq,
            f"audit row {row.seq} is not the row its signed head names (rewritten after "
            f"{head.signer} signed it at {head.time})",
        )
    walk.rows += 1
    walk.seq, walk.hash = row.seq, row.hash


def check_audit(
    rows: Iterable[AuditRow],
    heads: Iterable[AuditHead],
    keys: Mapping[str, tuple[str, str]],
) -> AuditReport:
    """Walk ``rows`` (seq order) and check every signed head in ``heads`` against ``keys``
    (``key_id -> (agent, public key)``): the first row altered, deleted or not the one a head
    signed; a tail deleted after the last signed head; rows appended after it."""
    heads = sorted(heads, key=lambda one: one.seq)
    walk = _Walk()
    for head in heads:
        key = keys.get(head.key_id)
        if key is None or key[0] != head.signer:
            walk.fail(
                head.seq, f"the audit head at row {head.seq} names an unknown key {head.key_id}"
            )
        elif not verify_signature(key[1], head_message(head.seq, head.hash), head.sig):
            walk.fail(head.seq, f"the audit head at row {head.seq} has a bad signature")
    by_seq = {head.seq: head for head in heads}
    for row in rows:
        _row(walk, row, by_seq)
    last = heads[-1] if heads else None
    if last is None and walk.rows:
        walk.fail(0, "the audit log has rows but no signed head")
    elif last is not None and last.seq > walk.seq:
        walk.fail(
            walk.seq + 1,
            f"the audit log ends at row {walk.seq} but {last.signer} signed its head at row "
            f"{last.seq}: rows {walk.seq + 1}..{last.seq} were deleted (truncated tail)",
        )
    elif last is not None and walk.seq > last.seq:
        walk.fail(
            last.seq + 1,
            f"audit rows {last.seq + 1}..{walk.seq} come after the last signed head "
            f"(row {last.seq}): written outside lineal",
        )
    return AuditReport(
        rows=walk.rows,
        heads=len(heads),
        head_seq=walk.seq,
        head_hash=walk.hash,
        signed_seq=last.seq if last else 0,
        signer=last.signer if last else None,
        key_id=last.key_id if last else None,
        problem_seq=walk.problem_seq,
        problem=walk.problem,
    )
