"""Access to a server's projects: API tokens made, listed and revoked, and a user's login
(a token checked against the server, then saved in the private credentials file).

The one service `lineal token`, `lineal login` and the server's token routes call. Never
prints, never logs a token, never saves one anywhere but lineal.store.credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lineal.store import credentials, registry

if TYPE_CHECKING:
    from pathlib import Path

    from lineal.model.tokens import NewToken, TokenInfo
    from lineal.store.base import Store


@dataclass(frozen=True, slots=True)
class Tokens:
    """A project's tokens and the state of each (active, expired, revoked) at ``now``."""

    tokens: list[TokenInfo]
    now: datetime

    def as_dict(self) -> list[dict[str, Any]]:
        return [{**one.as_dict(), "state": one.state(self.now)} for one in self.tokens]


@dataclass(frozen=True, slots=True)
class Login:
    """A token that the server accepted for ``url``, saved in ``saved``."""

    url: str
    info: TokenInfo
    saved: Path

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "saved": str(self.saved), **self.info.as_dict()}


def create_token(
    store: Store, agent: str, role: str, expires: str | None = None, *, by: str | None = None
) -> NewToken:
    """A new token of ``store``'s project acting as ``agent`` with ``role``."""
    return store.issue_token(agent, role, expires, by=by)


def list_tokens(store: Store) -> Tokens:
    return Tokens(store.tokens(), datetime.now(UTC))


def revoke_token(store: Store, token_id: str) -> TokenInfo:
    return store.revoke_token(token_id)


def whoami(agent: str | None, token: TokenInfo | None, *, open_project: bool) -> dict[str, Any]:
    """What ``GET …/whoami`` answers: the token's agent, role, id and expiry (all None for
    an anonymous caller of an open project)."""
    return {
        "open": open_project,
        "agent": agent,
        "role": None if token is None else token.role,
        "token_id": None if token is None else token.id,
        "expires": None if token is None else token.expires,
        "token": None if token is None else token.as_dict(),
    }


def login(url: str, token: str) -> Login:
    """Check ``token`` with the server project at ``url`` (either spelling, see
    registry.server_url), then save it there under that URL."""
    key = registry.server_url(url)
    store = registry.open_store(key)
    try:
        info = store.authenticate(token)
    finally:
        store.close()
    return Login(key, info, credentials.save_token(key, token))


def logout(url: str) -> bool:
    """Forget the token saved for ``url``; whether one was saved."""
    return credentials.forget_token(registry.server_url(url))


def open_projects(base: str) -> list[str]:
    """The projects under a server's store URI ``base`` that have no token yet: a server lets
    anyone read and write them."""
    found = []
    for name in registry.list_projects(base):
        store = registry.open_project(base, name)
        try:
            if not store.has_tokens():
                found.append(name)
        finally:
            store.close()
    return found


def is_loopback(host: str) -> bool:
    """Does ``host`` (an address `lineal server --host` takes) listen on this machine only?"""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
