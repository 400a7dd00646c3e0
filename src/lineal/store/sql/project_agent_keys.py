"""Rotating and revoking agents' keys in the `agents` projection, and the check that whoever
signs a transaction holds its key as of the transaction's end.

Applies the rules of lineal.ledger.agent_keys (which verify's walk follows too) at append
time; never writes the ledger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lineal.errors import Conflict, PermissionDenied
from lineal.ledger.agent_keys import certified
from lineal.ledger.keys import key_id

if TYPE_CHECKING:
    from lineal.store.sql.projections import Sql

_HINT = "`lineal agent show {name}` lists its keys and which of them may sign now"


def _current(db: Sql, name: str, public_key: str, doing: str) -> None:
    """Refuse unless ``public_key`` is a key ``name`` holds now."""
    row = db.one(
        "SELECT until_seq, ended FROM agents WHERE name = ? AND public_key = ?",
        (name, public_key),
    )
    if row is None:
        raise Conflict(
            f"cannot {doing} key {key_id(public_key)}: agent {name!r} never held it",
            hint=_HINT.format(name=name),
        )
    if row[0] is not None:
        raise Conflict(
            f"cannot {doing} key {key_id(public_key)} of agent {name!r}: it was {row[1]} "
            f"at seq {row[0]}",
            hint=_HINT.format(name=name),
        )


def agent_rotate(db: Sql, seq: int, author: str, op: Any, replay: bool) -> None:
    """The old key ends at this record; the new one, which the old certified, starts here."""
    if author != op.name:
        raise PermissionDenied(
            f"{author!r} cannot rotate a key of agent {op.name!r}: an agent rotates its own",
            hint=f"run `lineal agent rotate` as {op.name} (LINEAL_AGENT={op.name})",
        )
    _current(db, op.name, op.previous, "rotate")
    if not certified(op):
        raise PermissionDenied(
            f"the rotation certificate for agent {op.name!r} does not verify: key "
            f"{key_id(op.previous)} did not sign key {key_id(op.public_key)}",
            hint="`lineal agent rotate` signs it with the key it replaces",
        )
    if db.one("SELECT 1 FROM agents WHERE public_key = ?", (op.public_key,)) is not None:
        raise Conflict(
            f"key {key_id(op.public_key)} is already registered",
            hint="rotate to a freshly generated key",
        )
    db.execute(
        "UPDATE agents SET until_seq = ?, ended = 'rotated' WHERE name = ? AND public_key = ?",
        (seq, op.name, op.previous),
    )
    db.execute(
        "INSERT INTO agents (name, public_key, key_id, seq) VALUES (?, ?, ?, ?)",
        (op.name, op.public_key, key_id(op.public_key), seq),
    )


def agent_revoke(db: Sql, seq: int, author: str, op: Any, replay: bool) -> None:
    """The key signs nothing after this record. Who may revoke it (the agent, or an admin:
    lineal.ledger.agent_keys.may_revoke) is lineal.store.sql.grants's check."""
    _current(db, op.name, op.public_key, "revoke")
    db.execute(
        "UPDATE agents SET until_seq = ?, ended = 'revoked', reason = ? "
        "WHERE name = ? AND public_key = ?",
        (seq, op.reason, op.name, op.public_key),
    )


#: ``name``'s keys as check_signing_key reads them.
KEYS = "SELECT public_key, until_seq, ended FROM agents WHERE name = ?"


def check_signing_key(
    db: Sql,
    name: str,
    public_key: str,
    last_seq: int | None,
    rows: list[tuple[Any, ...]] | None = None,
) -> None:
    """Refuse a transaction ending at ``last_seq`` (None: one still to be appended) that
    ``name`` signs with a key it does not hold then: never registered, or rotated away or
    revoked before ``last_seq``. ``rows``: ``name``'s keys (KEYS) read already in this
    transaction, when nothing it appended since can have changed them."""
    if rows is None:
        rows = db.all(KEYS, (name,))
    if not rows:
        raise PermissionDenied(
            f"agent {name!r} is not registered in this store",
            hint=f"register it first (`lineal agent add {name}` by a registered agent)",
        )
    current = [key_id(key) for key, until, _ in rows if until is None]
    use = f"sign with its current key ({', '.join(current)})" if current else "it has none left"
    for key, until, ended in rows:
        if key != public_key:
            continue
        if until is None or (last_seq is not None and until >= last_seq):
            return
        raise PermissionDenied(
            f"key {key_id(key)} of agent {name!r} was {ended} at seq {until}: it cannot sign "
            "records after that",
            hint=f"{use}; {_HINT.format(name=name)}",
        )
    raise PermissionDenied(
        f"agent {name!r} holds no key {key_id(public_key)} in this store",
        hint=f"{use}; {_HINT.format(name=name)}",
    )
