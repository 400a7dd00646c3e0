"""A project's API tokens in its SQL store: made with a salted hash only, found by their public
id, refused once revoked or expired, listed without secrets.

Runs on the SQL backends (a server's projects); the HTTP door is tests/server/test_token_use.py.
"""

from __future__ import annotations

import pytest

from lineal.errors import InvalidInput, NotFound, Unauthenticated
from lineal.model import tokens
from lineal.store.sql.base import SqlStore

pytestmark = pytest.mark.sql


def test_a_token_is_checked_by_its_secret_and_kept_as_a_salted_hash(store: SqlStore) -> None:
    assert not store.has_tokens()
    made = store.issue_token("alice", "contributor", "30d", by="root")
    assert store.has_tokens()
    token_id, secret = tokens.split(made.token) or ("", "")
    assert token_id == made.info.id
    assert len(secret) >= 43  # 256 bits, base64
    found = store.authenticate(made.token)
    assert (found.agent, found.role, found.created_by) == ("alice", "contributor", "root")
    rows = store.sql().all("SELECT * FROM tokens")
    assert len(rows) == 1
    assert not any(secret in str(cell) for cell in rows[0])
    assert made.token not in repr(store.tokens())
    assert secret not in repr(store.tokens())
    same = store.issue_token("alice", "contributor")  # another token: another salt
    salts = [row[0] for row in store.sql().all("SELECT salt FROM tokens")]
    assert len(set(salts)) == 2
    assert same.info.expires is not None  # every token expires: 90 days unless asked


def test_every_token_expires_within_a_year(store: SqlStore) -> None:
    from datetime import datetime, timedelta

    made = store.issue_token("alice", "viewer")
    created = datetime.fromisoformat(made.info.created)
    assert datetime.fromisoformat(str(made.info.expires)) - created == timedelta(days=90)
    for asked, why in (("never", "every token expires"), ("400d", "longer than a year")):
        with pytest.raises(InvalidInput, match=why):
            store.issue_token("alice", "viewer", asked)
    assert len(store.tokens()) == 1  # nothing made by a refused request


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the secret, one character off
        lambda t: "lnl_" + "0" * 16 + t[20:],  # an id this project never gave
        lambda t: t.replace("lnl_", "xyz_"),  # not a lineal token at all
        lambda t: t + "x",
    ],
)
def test_a_wrong_token_is_refused_without_echoing_it(store: SqlStore, change: object) -> None:
    made = store.issue_token("alice", "viewer")
    wrong = change(made.token)  # type: ignore[operator]
    with pytest.raises(Unauthenticated) as refused:
        store.authenticate(wrong)
    assert wrong not in str(refused.value)
    assert made.token.split("_", 2)[2] not in str(refused.value)


def test_a_revoked_or_expired_token_is_refused(store: SqlStore) -> None:
    made = store.issue_token("alice", "admin", "1h")
    assert store.revoke_token(made.info.id).revoked is not None
    with pytest.raises(Unauthenticated, match="revoked"):
        store.authenticate(made.token)
    later = store.issue_token("alice", "admin", "1h")
    store.sql().execute(
        "UPDATE tokens SET expires = '2020-01-01T00:00:00+00:00' WHERE id = ?", (later.info.id,)
    )
    with pytest.raises(Unauthenticated, match="expired"):
        store.authenticate(later.token)
    with pytest.raises(NotFound):
        store.revoke_token("0" * 16)
    assert {t.id for t in store.tokens()} == {made.info.id, later.info.id}


@pytest.mark.parametrize(
    ("agent", "role", "expires"),
    [("alice", "root", None), ("alice", "admin", "30 days"), ("bad name!", "viewer", None)],
)
def test_bad_token_requests_are_refused(
    store: SqlStore, agent: str, role: str, expires: str | None
) -> None:
    with pytest.raises(InvalidInput):
        store.issue_token(agent, role, expires)
    assert not store.has_tokens()
