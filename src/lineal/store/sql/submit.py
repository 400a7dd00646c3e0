"""A server's write path: appending a batch a client signed (SqlStore.submit).

Mixed into SqlStore; the batch is appended in one write transaction as the client's records,
the commit row carrying the client's signature and the store's own (see SqlStore._finish).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from lineal.errors import Conflict, PermissionDenied
from lineal.ledger.chain import batch_digest

if TYPE_CHECKING:
    from lineal.ledger.chain import Record
    from lineal.model.ops import Op
    from lineal.store.base import Receipt
    from lineal.store.batches import Batch
    from lineal.store.sql.projections import Sql


class Submits:
    """``submit``: hooks into the store's transactions (``atomic``, ``_txn``)."""

    _txn: Any

    if TYPE_CHECKING:  # the store this is mixed into provides them

        def sql(self) -> Sql: ...
        def atomic(self) -> AbstractContextManager[None]: ...
        def _append_encoded(self, batch: Sequence[tuple[Op, bytes]]) -> list[Record]: ...

    def submit(self, body: bytes) -> Receipt:
        from lineal.model.ops import op_from_payload
        from lineal.store.base import Receipt
        from lineal.store.batches import decode_batch
        from lineal.store.sql.batch_keys import batch_key  # signatures: cryptography

        batch = decode_batch(body)
        if batch.key_id is None or batch.sig is None:
            raise PermissionDenied(
                f"batch {batch.id} is not signed", hint="sign it with the agent's key"
            )
        payloads = batch.payloads()
        ops = [(op_from_payload(op, payload), data) for (op, payload), data in zip(
            batch.records, (data for _, data in payloads), strict=True
        )]  # fmt: skip
        with self.atomic():
            txn = self._txn
            assert txn is not None  # noqa: S101 - atomic() opened it
            done = self.sql().one("SELECT last_seq FROM commits WHERE batch = ?", (batch.id,))
            if done is not None:
                return self._appended_before(batch, int(done[0]))
            txn.author, txn.key, txn.batch = batch.agent, batch_key(self.sql(), batch), batch
            written = self._append_encoded(ops)
            refs = (f"batch/{batch.id}", f"agent/{batch.agent}", *txn.refs)
        return Receipt(
            batch=batch.id,
            first_seq=written[0].seq,
            last_seq=written[-1].seq,
            refs=tuple(dict.fromkeys(refs)),
        )

    def trial(self, body: bytes, read: tuple[str, dict[str, Any]] | None = None) -> dict[str, Any]:
        from lineal.store.sql.trial import run_trial  # see there

        return run_trial(self, body, read)  # type: ignore[arg-type]

    def _appended_before(self, batch: Batch, last_seq: int) -> Receipt:
        """The receipt of a batch appended before, if it is the same batch."""
        from lineal.store.base import Receipt

        row = self.sql().one("SELECT MAX(last_seq) FROM commits WHERE last_seq < ?", (last_seq,))
        first = (int(row[0]) if row and row[0] is not None else 0) + 1
        stored = self.sql().all(
            "SELECT author, op, payload_digest FROM ledger WHERE seq >= ? AND seq <= ? "
            "ORDER BY seq",
            (first, last_seq),
        )
        same = (
            all(author == batch.agent for author, _, _ in stored)
            and batch_digest(batch.agent, batch.id, [(op, digest) for _, op, digest in stored])
            == batch.signed_digest()
        )
        if not same:
            raise Conflict(
                f"batch {batch.id} was appended before with other records",
                hint="give each batch a new id",
            )
        return Receipt(
            batch=batch.id,
            first_seq=first,
            last_seq=last_seq,
            duplicate=True,
            refs=(f"batch/{batch.id}", f"agent/{batch.agent}"),
        )
