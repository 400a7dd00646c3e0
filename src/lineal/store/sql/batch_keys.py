"""Which key vouches for a batch a client signed: one its agent holds in the ledger now (not
rotated away, not revoked), or the first key the batch itself registers for a new agent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lineal.errors import PermissionDenied
from lineal.ledger.chain import batch_message
from lineal.ledger.keys import key_id, verify_signature
from lineal.store.sql.project_agent_keys import check_signing_key

if TYPE_CHECKING:
    from lineal.store.batches import Batch
    from lineal.store.sql.projections import Sql


def batch_key(db: Sql, batch: Batch) -> str:
    """The public key that signed ``batch`` for its agent, or PermissionDenied."""
    rows = db.all("SELECT public_key FROM agents WHERE name = ?", (batch.agent,))
    keys = [row[0] for row in rows]
    if not keys:  # a new agent: the batch may register its first key, and sign with it
        keys = [
            str(payload.get("public_key"))
            for op, payload in batch.records
            if op == "agent.register" and payload.get("name") == batch.agent
        ][:1]
    found = [key for key in keys if key_id(key) == batch.key_id]
    if not found:
        raise PermissionDenied(
            f"agent {batch.agent!r} has no key {batch.key_id} in this store",
            hint=f"register the agent first (`lineal agent add {batch.agent}`), or sign with "
            "one of its registered keys",
        )
    if rows:  # a key the store holds for the agent: it must hold it still
        check_signing_key(db, batch.agent, found[0], None)
    message = batch_message(batch.signed_digest())
    if not verify_signature(found[0], message, batch.sig or ""):
        raise PermissionDenied(
            f"batch {batch.id}'s signature does not match agent {batch.agent!r}'s key",
            hint="the batch was altered after it was signed, or signed with another key",
        )
    return found[0]
