"""API tokens of a lineal server's projects: their text form, their salted hash, their expiry,
and the role each request (and each op of a batch) needs.

Pure: the random bytes and the clock are passed in; never stores or logs a token's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lineal.errors import InvalidInput
from lineal.model.grants import ADMIN, APPROVER, CONTRIBUTOR, ROLES, VIEWER

#: A token is ``lnl_<public id>_<secret>``: the id finds its row, the secret proves it.
PREFIX = "lnl_"
ID_BYTES = 8  # 16 hex characters: unique per project, shown by `lineal token list`
SECRET_BYTES = 32  # 256 bits from the operating system's CSPRNG
SALT_BYTES = 16
_TOKEN = re.compile(r"lnl_(?P<id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})")
_ID = re.compile(r"[0-9a-f]{16}")
_DURATION = re.compile(r"(?P<count>[1-9][0-9]{0,5})(?P<unit>[mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
#: The roles a token may carry, weakest first: each holds the rights of those before it.
RANK = {role: n for n, role in enumerate(ROLES)}


def check_token_role(role: object) -> str:
    if role not in RANK:
        raise InvalidInput(
            f"bad token role {role!r}: expected one of {', '.join(ROLES)}",
            hint="viewer reads; contributor writes; approver approves; admin manages",
        )
    return str(role)


def check_token_id(token_id: object) -> str:
    if not isinstance(token_id, str) or not _ID.fullmatch(token_id):
        raise InvalidInput(
            f"bad token id {token_id!r}: expected 16 hex digits",
            hint="`lineal token list` shows each token's id",
        )
    return token_id


def compose(token_id: str, secret: str) -> str:
    return f"{PREFIX}{token_id}_{secret}"


def public_id(token: str) -> str | None:
    """The public id of a token's text, or None when it is not a lineal token."""
    match = _TOKEN.fullmatch(token)
    return match["id"] if match else None


def split(token: str) -> tuple[str, str] | None:
    """``(public id, secret)`` of a token's text, or None when it is not a lineal token."""
    match = _TOKEN.fullmatch(token)
    return (match["id"], match["secret"]) if match else None


def hash_secret(salt: bytes, secret: str) -> str:
    """The hash stored for ``secret``. A single salted BLAKE2b suffices here: the secret is
    256 random bits, so no dictionary or brute force can reach it, and a slow password hash
    (scrypt, argon2) would only add its cost to every request's lookup."""
    return hashlib.blake2b(secret.encode(), key=salt, digest_size=32).hexdigest()


def secret_matches(salt: bytes, stored: str, secret: str) -> bool:
    """Timing-safe: compares the hashes with hmac.compare_digest."""
    return hmac.compare_digest(hash_secret(salt, secret).encode(), stored.encode())


#: A token's lifetime when none is asked for, and the longest one may ask for: every token
#: ends, so a leaked one does not open a project for ever.
DEFAULT_LIFETIME = "90d"
MAX_LIFETIME = timedelta(days=366)


def expiry(text: str | None, now: datetime) -> datetime:
    """When a token made ``now`` with ``--expires text`` (30d, 12h, 90m, 2w; default 90d, at
    most a year) ends."""
    text = DEFAULT_LIFETIME if text is None else text
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(
            f"bad expiry {text!r}: expected a count and a unit (m, h, d, w); every token expires",
            hint="e.g. --expires 30d (at most 366d: make a new token then)",
        )
    lifetime = timedelta(**{_UNITS[match["unit"]]: int(match["count"])})
    if lifetime > MAX_LIFETIME:
        raise InvalidInput(
            f"expiry {text!r} is longer than a year: a token lives at most 366 days",
            hint="e.g. --expires 90d, and make a new token when it ends",
        )
    return now + lifetime


def at_least(held: str | None, needed: str) -> bool:
    """Does a token of role ``held`` grant what ``needed`` asks?"""
    return held is not None and RANK.get(held, -1) >= RANK[needed]


def op_role(op: str, payload: Any, agent: str) -> str:
    """The role a request needs to send op ``op`` (payload decoded) in a batch of ``agent``:
    roles, policies, redactions, an override, another agent's keys -> admin; approvals ->
    approver; every other write (and an agent's own keys) -> contributor. The ledger's own
    append-time checks apply on top."""
    if op in ("role.grant", "role.revoke", "policy.apply", "redact"):
        return ADMIN
    if op in ("agent.register", "agent.rotate", "agent.revoke"):
        own = isinstance(payload, dict) and payload.get("name") == agent
        return CONTRIBUTOR if own else ADMIN
    if op == "model.promote" and isinstance(payload, dict) and payload.get("override"):
        return ADMIN
    if op == "model.approve":
        return APPROVER
    return CONTRIBUTOR


def highest(roles: list[str]) -> str:
    """The strongest of ``roles`` (viewer for none)."""
    return max(roles, key=RANK.__getitem__, default=VIEWER)


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenInfo:
    """A token as stored, without its secret: who it acts as, with which role, until when."""

    id: str
    agent: str
    role: str
    created: str
    expires: str | None = None
    revoked: str | None = None
    created_by: str | None = None

    def state(self, now: datetime) -> str:
        """``active``, ``expired`` or ``revoked`` at ``now``."""
        if self.revoked is not None:
            return "revoked"
        if self.expires is not None and datetime.fromisoformat(self.expires) <= now:
            return "expired"
        return "active"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "agent": self.agent,
            "role": self.role,
            "created": self.created,
            "expires": self.expires,
            "revoked": self.revoked,
            "created_by": self.created_by,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class NewToken:
    """A token just made: its text, shown once and never stored, and its stored row."""

    token: str
    info: TokenInfo

    def as_dict(self) -> dict[str, Any]:
        return {"token": self.token, **self.info.as_dict()}
