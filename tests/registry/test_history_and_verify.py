"""Who held an alias when, protected aliases, the registry's records on both stores, and
tampering with a promotion caught by `lineal verify`."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from registry_helpers import write_policy

from lineal.client import Lineal
from lineal.errors import NotFound, PermissionDenied
from lineal.model.digests import digest_bytes
from lineal.model.grants import PolicyApply
from lineal.model.ops import ModelApprove, ModelPromote
from lineal.registry.models import register
from lineal.registry.promote import history, promote
from lineal.store.sql.base import SqlStore

#: Reads SQL internals: runs on the SQL backends of ``store_uri`` only (tests/conftest.py).
pytestmark = pytest.mark.sql

if TYPE_CHECKING:
    from conftest import Cli


def _two_versions(repo: Lineal, ws: Path) -> tuple[str, str]:
    refs = []
    for content in ("one", "two"):
        path = ws / f"{content}.pt"
        path.write_text(content)
        refs.append(register(repo, path, "det").artifact.ref)
    return refs[0], refs[1]


def test_history_as_of_shows_who_held_production(repo: Lineal, ws: Path, lineal_cli: Cli) -> None:
    write_policy(ws, '[registry]\nprotected = ["production"]\n')
    v1, v2 = _two_versions(repo, ws)
    first = promote(repo, v1, "production", "first release")
    second = promote(repo, v2, "production", "better recall")
    assert second["previous_ref"] == v1
    assert first["previous_ref"] is None
    then = history(repo, "det", as_of=first["seq"])
    (held,) = then["holders"]
    assert (held["alias"], held["ref"], held["by"]) == ("production", v1, "tester")
    assert held["reason"] == "first release"
    assert [p["ref"] for p in then["promotions"]] == [v1]
    (now,) = history(repo, "det")["holders"]
    assert now["ref"] == v2
    assert history(repo, "det", as_of=first["seq"] - 1)["holders"] == []
    # the CLI, at a past time
    shown = lineal_cli("model", "history", "det", "--as-of", first["time"], cwd=ws)
    assert shown.returncode == 0, shown.stderr
    line = next(li for li in shown.stdout.splitlines() if li.strip().startswith("production"))
    assert v1 in line
    assert "tester" in line
    assert "first release" in line
    assert v2 not in shown.stdout
    # a plain date is the end of that day: both promotions were made by then
    today = lineal_cli("model", "history", "det", "--as-of", second["time"][:10], cwd=ws)
    assert today.returncode == 0, today.stderr
    line = next(li for li in today.stdout.splitlines() if li.strip().startswith("production"))
    assert v2 in line
    # a protected alias moves only through promote
    with pytest.raises(PermissionDenied, match="protected"):
        repo.set_alias(v1, "production")
    repo.set_alias(v1, "canary")  # not protected
    assert history(repo, "det")["holders"][0]["promoted"] is False


def test_tampered_promotion_record_is_caught(repo: Lineal, ws: Path, lineal_cli: Cli) -> None:
    v1, _ = _two_versions(repo, ws)
    seq = promote(repo, v1, "production", "approved by the board")["seq"]
    assert repo.verify().ok
    db = ws / ".lineal" / "lineal.db"
    conn = sqlite3.connect(db)
    (payload,) = conn.execute("SELECT payload FROM ledger WHERE seq = ?", (seq,)).fetchone()
    forged = bytes(payload).replace(b"approved by the board", b"approved by nobody!!!")
    conn.execute("UPDATE ledger SET payload = ? WHERE seq = ?", (forged, seq))
    conn.commit()
    checked = lineal_cli("verify", cwd=ws)
    assert checked.returncode == 1
    assert f"seq {seq}" in checked.stdout + checked.stderr
    # the digest fixed too: the chain hash no longer matches
    conn.execute("UPDATE ledger SET payload_digest = ? WHERE seq = ?", (digest_bytes(forged), seq))
    conn.commit()
    assert f"seq {seq}" in lineal_cli("verify", cwd=ws).stdout + lineal_cli("verify", cwd=ws).stderr
    # the ledger restored, the projection edited instead: the replay differs
    conn.execute(
        "UPDATE ledger SET payload = ?, payload_digest = ? WHERE seq = ?",
        (payload, digest_bytes(bytes(payload)), seq),
    )
    conn.execute("UPDATE promotions SET author = 'mallory' WHERE seq = ?", (seq,))
    conn.commit()
    conn.close()
    report = repo.verify()
    assert report.problem is not None
    assert report.problem.seq == seq
    assert "promotions" in report.problem.what


def test_registry_records_on_every_store(store: SqlStore) -> None:
    lin = Lineal(store)
    v1 = lin.record_artifact("model", digest=digest_bytes(b"m1"), name="det")
    v2 = lin.record_artifact("model", digest=digest_bytes(b"m2"), name="det")
    store.append(PolicyApply(policies={"prod": {"metrics": {"mAP": {"min": 0.5}}}}))
    check = {"check": "metric mAP", "passed": True, "detail": "mAP = 0.9", "fix": None}
    s1 = store.append(
        ModelPromote(
            name="det", alias="prod", digest=v1.digest, reason="r1", policy="prod", checks=(check,)
        )
    )[0].seq
    store.append(ModelApprove(name="det", alias="prod", digest=v2.digest, reason="ok"))
    s2 = store.append(ModelPromote(name="det", alias="dev", digest=v2.digest, reason="r2"))[0].seq
    rows = store.sql().all(
        "SELECT digest, previous, author, reason, checks, override FROM promotions ORDER BY seq"
    )
    assert [tuple(r) for r in rows] == [
        (v1.digest, None, "alice", "r1", '[{"check":"metric mAP","detail":"mAP = 0.9",'
         '"fix":null,"passed":true}]', 0),
        (v2.digest, None, "alice", "r2", "[]", 0),
    ]  # fmt: skip
    aliases = store.sql().all("SELECT digest, seq, until_seq FROM aliases ORDER BY seq")
    assert [tuple(r) for r in aliases] == [(v1.digest, s1, None), (v2.digest, s2, None)]
    assert store.sql().all("SELECT author, digest FROM approvals") == [("alice", v2.digest)]
    head = store.head()
    with pytest.raises(NotFound, match="not a version of model/det"):
        store.append(ModelPromote(name="det", alias="dev", digest=digest_bytes(b"x"), reason="r"))
    assert store.head() == head
    report = store.verify()
    assert report.ok, report.problem
