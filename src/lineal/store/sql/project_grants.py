"""Projecting who may do what (``role.grant``, ``role.revoke``, ``policy.apply``, and the
first agent's admin role) into the ``roles`` and ``policies`` tables.

Part of lineal.store.sql.projections, kept apart by concept; like it, never writes the ledger.
The authority rules that read these tables are in lineal.store.sql.grants.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lineal.errors import Conflict, NotFound
from lineal.model import canonical
from lineal.model.grants import ADMIN, SERVER_AGENT

if TYPE_CHECKING:
    from lineal.store.sql.projections import Sql


def first_admin(db: Sql, seq: int, name: str) -> None:
    """A store's first agent is its admin (a lineal server's own agent, which registers in
    each project it makes, is not a member: the first agent after it is). Called before the
    agent's row is written."""
    if name == SERVER_AGENT:
        return
    if db.one("SELECT 1 FROM agents WHERE name <> ? LIMIT 1", (SERVER_AGENT,)) is not None:
        return
    db.execute(
        "INSERT INTO roles (agent, role, author, seq) VALUES (?, ?, NULL, ?)", (name, ADMIN, seq)
    )


def _holding(db: Sql, agent: str, role: str) -> tuple[Any, ...] | None:
    return db.one(
        "SELECT seq FROM roles WHERE agent = ? AND role = ? AND until_seq IS NULL", (agent, role)
    )


def role_grant(db: Sql, seq: int, author: str, op: Any, replay: bool) -> None:
    if db.one("SELECT 1 FROM agents WHERE name = ?", (op.agent,)) is None:
        raise NotFound(
            f"no agent {op.agent!r} in this store to give role {op.role}",
            hint=f"register it first: lineal agent add {op.agent}",
        )
    if (held := _holding(db, op.agent, op.role)) is not None:
        raise Conflict(f"{op.agent} holds role {op.role} already (since seq {held[0]})")
    db.execute(
        "INSERT INTO roles (agent, role, author, seq) VALUES (?, ?, ?, ?)",
        (op.agent, op.role, author, seq),
    )


def role_revoke(db: Sql, seq: int, author: str, op: Any, replay: bool) -> None:
    if _holding(db, op.agent, op.role) is None:
        raise NotFound(
            f"{op.agent} does not hold role {op.role}", hint="lineal role list shows who holds what"
        )
    if op.role == ADMIN:
        others = db.one(
            "SELECT COUNT(*) FROM roles WHERE role = ? AND agent <> ? AND until_seq IS NULL",
            (ADMIN, op.agent),
        )
        if others is None or not others[0]:
            raise Conflict(
                f"{op.agent} is the last admin: a project keeps at least one",
                hint="grant admin to another agent first: lineal role grant AGENT admin",
            )
    db.execute(
        "UPDATE roles SET until_seq = ? WHERE agent = ? AND role = ? AND until_seq IS NULL",
        (seq, op.agent, op.role),
    )


def policy_apply(db: Sql, seq: int, author: str, op: Any, replay: bool) -> None:
    db.execute("UPDATE policies SET until_seq = ? WHERE until_seq IS NULL", (seq,))
    db.execute(
        "INSERT INTO policies (seq, author, protected, policies) VALUES (?, ?, ?, ?)",
        (
            seq,
            author,
            canonical.encode(list(op.protected)).decode(),
            canonical.encode(dict(op.policies)).decode(),
        ),
    )
