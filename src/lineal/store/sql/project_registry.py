"""Projecting the registry's ops (``model.promote``, ``model.approve``) into their tables.

Part of lineal.store.sql.projections, kept apart by concept; like it, never writes the ledger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lineal.errors import NotFound
from lineal.model import canonical

if TYPE_CHECKING:
    from lineal.store.sql.projections import Sql


def _require_version(db: Sql, name: str, digest: str) -> None:
    found = db.one(
        "SELECT 1 FROM versions WHERE kind = 'model' AND name = ? AND digest = ?", (name, digest)
    )
    if found is None:
        raise NotFound(
            f"{digest} is not a version of model/{name}",
            hint=f"register it first: lineal model register PATH --name {name}",
        )


def model_promote(db: Sql, seq: int, author: str, op: Any, replay: bool) -> None:
    """Move the alias (as ``alias.set`` would) and keep who, why, the previous holder and the
    checks. The previous holder is what this store held when the record arrived."""
    _require_version(db, op.name, op.digest)
    held = db.one(
        "SELECT digest FROM aliases "
        "WHERE kind = 'model' AND name = ? AND alias = ? AND until_seq IS NULL",
        (op.name, op.alias),
    )
    db.execute(
        "UPDATE aliases SET until_seq = ? "
        "WHERE kind = 'model' AND name = ? AND alias = ? AND until_seq IS NULL",
        (seq, op.name, op.alias),
    )
    db.execute(
        "INSERT INTO aliases (kind, name, alias, digest, seq) VALUES ('model', ?, ?, ?, ?)",
        (op.name, op.alias, op.digest, seq),
    )
    checks = canonical.encode([dict(one) for one in op.checks]).decode()
    db.execute(
        "INSERT INTO promotions (name, alias, digest, previous, author, reason, policy, checks, "
        "override, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            op.name,
            op.alias,
            op.digest,
            held[0] if held else None,
            author,
            op.reason,
            op.policy,
            checks,
            int(op.override),
            seq,
        ),
    )


def model_approve(db: Sql, seq: int, author: str, op: Any, replay: bool) -> None:
    _require_version(db, op.name, op.digest)
    db.execute(
        "INSERT INTO approvals (name, alias, digest, author, reason, seq) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (op.name, op.alias, op.digest, author, op.reason, seq),
    )
