"""A trial: a batch applied inside a write transaction that is always rolled back.

An HTTP store gathers an open ``atomic()`` block's ops on the client and sends them as one
batch at its end; meanwhile it asks the server for a trial of the block so far, so that an
append inside the block is refused (or numbered) where it is made, and a read inside the
block sees the block's own writes, as on a SQL store. Nothing a trial does is committed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lineal.errors import InvalidInput

if TYPE_CHECKING:
    from lineal.store.sql.base import SqlStore

#: Reads a trial cannot run: ``verify`` and ``verify_audit`` open a read transaction of
#: their own.
NOT_IN_A_TRIAL = frozenset({"verify", "verify_audit"})


class _Rollback(Exception):
    """Raised inside the trial's transaction to roll it back."""


def check_read(read: tuple[str, dict[str, Any]] | None) -> tuple[str, dict[str, Any]] | None:
    """The read a trial runs, its arguments decoded from the wire (bad ones: InvalidInput)."""
    from lineal.store import wire

    if read is None:
        return None
    method, args = read
    if method not in wire.READS or method in NOT_IN_A_TRIAL or not isinstance(args, dict):
        raise InvalidInput(
            f"a trial cannot run the read {method!r}",
            hint="one of the Store protocol's reads (lineal.store.wire.READS) but verify, "
            "with its arguments as an object",
        )
    return method, wire.decode_args(method, args)


def run_trial(
    store: SqlStore, body: bytes, read: tuple[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Append the batch ``body`` (signed by its agent, lineal.store.batches) as the agent's,
    project it, run ``read`` (a Store read and its wire arguments) in the same transaction,
    roll everything back. Answers ``records`` (``[seq, time, hash]`` each record got) and
    ``result`` (the read's answer in the wire format, or None); a refusal is raised as the
    append would raise it."""
    from lineal.model.ops import op_from_payload
    from lineal.store import wire
    from lineal.store.batches import decode_batch
    from lineal.store.sql.batch_keys import batch_key

    asked = check_read(read)
    batch = decode_batch(body)
    ops = [
        (op_from_payload(op, payload), data)
        for (op, payload), (_, data) in zip(batch.records, batch.payloads(), strict=True)
    ]
    answer: dict[str, Any] = {}
    try:
        with store.atomic():
            txn = store._txn
            assert txn is not None  # noqa: S101 - atomic() opened it
            txn.author, txn.key = batch.agent, batch_key(store.sql(), batch)
            written = store._append_encoded(ops)
            answer["records"] = [[r.seq, r.time, r.hash] for r in written]
            answer["result"] = None
            if asked is not None:
                method, args = asked
                found = getattr(store, method)(**args)
                if method in ("records", "commits"):
                    found = list(found)
                answer["result"] = wire.encode_result(method, found)
            raise _Rollback
    except _Rollback:
        pass
    return answer
