"""A project's API tokens in SQL (the ``tokens`` table, outside the ledger): made, listed,
revoked, and checked by one lookup on the primary key per request.

Mixed into SqlStore. Keeps only a salted hash of each secret; never caches a row, so a token
revoked or expired is refused at once by every process that serves the store.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lineal.errors import NotFound, Unauthenticated
from lineal.model import tokens
from lineal.model.entities import check_agent_name
from lineal.model.tokens import NewToken, TokenInfo

if TYPE_CHECKING:
    import threading

    from lineal.store.sql.projections import Sql

_COLUMNS = "id, agent, role, created, expires, revoked, created_by"
_LOGIN_HINT = "ask an admin of the project for a token, then run `lineal login URL`"


def _info(row: Sequence[Any]) -> TokenInfo:
    return TokenInfo(
        id=row[0],
        agent=row[1],
        role=row[2],
        created=row[3],
        expires=row[4],
        revoked=row[5],
        created_by=row[6],
    )


def _now() -> datetime:
    return datetime.now(UTC)


class SqlTokens:
    """The Store protocol's token methods over ``self.sql()``."""

    _lock: threading.RLock

    if TYPE_CHECKING:  # the store this is mixed into provides them

        def sql(self) -> Sql: ...
        def _liveness(self, sql: str, params: Sequence[Any]) -> None: ...

    def issue_token(
        self, agent: str, role: str, expires: str | None = None, *, by: str | None = None
    ) -> NewToken:
        check_agent_name(agent)
        tokens.check_token_role(role)
        now = _now()
        ends = tokens.expiry(expires, now)
        token_id = secrets.token_hex(tokens.ID_BYTES)
        secret = secrets.token_urlsafe(tokens.SECRET_BYTES)
        salt = secrets.token_bytes(tokens.SALT_BYTES)
        info = TokenInfo(
            id=token_id,
            agent=agent,
            role=role,
            created=now.isoformat(timespec="seconds"),
            expires=ends.isoformat(timespec="seconds"),
            created_by=by,
        )
        self._liveness(
            "INSERT INTO tokens (id, agent, role, salt, hash, created, expires, created_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                info.id,
                agent,
                role,
                salt.hex(),
                tokens.hash_secret(salt, secret),
                info.created,
                info.expires,
                by,
            ),
        )
        return NewToken(token=tokens.compose(token_id, secret), info=info)

    def tokens(self) -> list[TokenInfo]:
        with self._lock:
            rows = self.sql().all(f"SELECT {_COLUMNS} FROM tokens ORDER BY created, id")
        return [_info(row) for row in rows]

    def revoke_token(self, token_id: str) -> TokenInfo:
        tokens.check_token_id(token_id)
        with self._lock:
            row = self.sql().one(f"SELECT {_COLUMNS} FROM tokens WHERE id = ?", (token_id,))
            if row is None:
                raise NotFound(
                    f"no token {token_id} in this project", hint="`lineal token list` shows them"
                )
            if row[5] is None:
                when = _now().isoformat(timespec="seconds")
                self._liveness("UPDATE tokens SET revoked = ? WHERE id = ?", (when, token_id))
                row = (*row[:5], when, row[6])
        return _info(row)

    def has_tokens(self) -> bool:
        with self._lock:
            return self.sql().one("SELECT 1 FROM tokens LIMIT 1") is not None

    def authenticate(self, token: str) -> TokenInfo:
        parts = tokens.split(token)
        if parts is None:
            raise Unauthenticated("not a lineal token", hint=_LOGIN_HINT)
        token_id, secret = parts
        with self._lock:
            row = self.sql().one(
                f"SELECT {_COLUMNS}, salt, hash FROM tokens WHERE id = ?", (token_id,)
            )
        if row is None or not tokens.secret_matches(bytes.fromhex(row[7]), row[8], secret):
            raise Unauthenticated(
                f"unknown token (id {token_id}) for this project", hint=_LOGIN_HINT
            )
        info = _info(row)
        state = info.state(_now())
        if state != "active":
            raise Unauthenticated(
                f"token {token_id} of {info.agent} is {state}",
                hint="ask an admin of the project for a new token, then `lineal login URL`",
            )
        return info
