"""Tags, and the redactions that erase a tag's or a metrics batch's payload and re-derive
what the projections held from it.

Part of lineal.store.sql.projections (which dispatches ops here); never commits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lineal.errors import Conflict, InvalidInput, NotFound
from lineal.model import canonical
from lineal.model.erasure import redaction_subject
from lineal.model.ops import OPS, MetricsBatch, Op, TagSet
from lineal.store.sql import project_edges, project_runs

if TYPE_CHECKING:
    from lineal.store.sql.projections import Sql


def require_node(db: Sql, node: str, seq: int) -> str:
    """The node record ``seq`` names as ``node`` (see project_edges.recorded_nodes), or
    NotFound."""
    found = project_edges.recorded_nodes(db, [(node, seq)]).get((node, seq))
    if found is None:
        raise project_edges.unknown(node)
    return found


def tag_set(db: Sql, seq: int, author: str, op: Any, replay: bool) -> None:
    target = require_node(db, op.target, seq)
    db.execute(
        "UPDATE tags SET until_seq = ? WHERE target = ? AND key = ? AND until_seq IS NULL",
        (seq, target, op.key),
    )
    if op.value is not None:
        db.execute(
            "INSERT INTO tags (target, key, value, seq) VALUES (?, ?, ?, ?)",
            (target, op.key, op.value, seq),
        )


def redact(db: Sql, seq: int, author: str, op: Any, replay: bool) -> None:
    if op.seq >= seq:
        raise InvalidInput(f"cannot redact seq {op.seq}: it is not an earlier record")
    if db.one("SELECT 1 FROM redactions WHERE seq = ?", (op.seq,)) is not None:
        raise Conflict(f"seq {op.seq} is already redacted")
    if op.subject is None:  # as every redaction was before they named one (migration 4)
        db.execute(
            "INSERT INTO redactions (seq, by_seq, reason) VALUES (?, ?, ?)",
            (op.seq, seq, op.reason),
        )
    else:
        db.execute(
            "INSERT INTO redactions (seq, by_seq, reason, subject) VALUES (?, ?, ?, ?)",
            (op.seq, seq, op.reason, op.subject),
        )
    if replay:
        return  # a replay skips redacted records, so there is nothing of theirs to undo
    row = db.one("SELECT op, payload FROM ledger WHERE seq = ?", (op.seq,))
    if row is None:
        raise NotFound(f"cannot redact seq {op.seq}: no such record")
    target_op = OPS[row[0]]
    if not target_op.REDACTABLE:
        raise InvalidInput(
            f"seq {op.seq} is a {row[0]} record, which later records depend on",
            hint="only tag.set and metrics.batch payloads can be redacted",
        )
    target = target_op.from_payload(canonical.decode(bytes(row[1])))
    if op.subject is not None and op.subject != redaction_subject(target):
        raise InvalidInput(
            f"seq {op.seq} is about {redaction_subject(target)}, not {op.subject}",
            hint="name the subject the record is about, or none",
        )
    db.execute("UPDATE ledger SET payload = NULL WHERE seq = ?", (op.seq,))
    if isinstance(target, MetricsBatch):
        db.execute("DELETE FROM metric_batches WHERE seq = ?", (op.seq,))
        project_runs.rebuild_run_metrics(db, target.run, lambda seq: ledger_op(db, seq))
    elif isinstance(target, TagSet):
        node = require_node(db, target.target, op.seq)
        unset_tag(db, node, target.key, op.seq, before=seq)


def ledger_op(db: Sql, seq: int) -> Op | None:
    row = db.one("SELECT op, payload FROM ledger WHERE seq = ?", (seq,))
    if row is None or row[1] is None:
        return None
    return OPS[row[0]].from_payload(canonical.decode(bytes(row[1])))


def unset_tag(db: Sql, node: str, key: str, seq: int, *, before: int) -> None:
    """Take tag.set record ``seq`` out of ``node``'s history of ``key``, as if never written.

    Works on that tag's rows alone, so a retention run that erases many tags costs each one
    what its own history holds, not the whole ledger's. The value the erased record replaced
    (the row it ended) lives on until the change after it. When the erased record set a
    value, that is where its own row ended; when it deleted the tag (no row of its own), the
    next change is the first later tag.set of this tag, read from the ledger up to the next
    row. Only records before ``before`` (the redaction) count: later ones of the same append
    are in the ledger already but not projected yet, and are applied in their turn.
    """
    own = db.one("SELECT until_seq FROM tags WHERE target = ? AND key = ? AND seq = ?",
                 (node, key, seq))  # fmt: skip
    if own is not None:
        db.execute("DELETE FROM tags WHERE target = ? AND key = ? AND seq = ?", (node, key, seq))
        ends = own[0]
    else:
        ends = _next_change(db, node, key, seq, before)
    db.execute(
        "UPDATE tags SET until_seq = ? WHERE target = ? AND key = ? AND until_seq = ?",
        (ends, node, key, seq),
    )


def _next_change(db: Sql, node: str, key: str, seq: int, before: int) -> int | None:
    """The seq of the first tag.set of ``node``'s ``key`` after ``seq`` (and before
    ``before``), or None: the next row bounds the search, as a later deletion leaves none."""
    row = db.one(
        "SELECT MIN(seq) FROM tags WHERE target = ? AND key = ? AND seq > ?", (node, key, seq)
    )
    bound = row[0] if row is not None and row[0] is not None else before
    rows = db.all(
        "SELECT seq, payload FROM ledger WHERE op = 'tag.set' AND seq > ? AND seq < ? ORDER BY seq",
        (seq, bound),
    )
    for later, payload in rows:
        if payload is None:
            continue  # erased too: it changes nothing
        op = TagSet.from_payload(canonical.decode(bytes(payload)))
        if op.key == key and require_node(db, op.target, later) == node:
            return int(later)
    return None if bound == before else int(bound)
