"""Roles and policies as ledger facts: the store refuses what an author's roles do not allow
(on every backend), and `verify` names every such record written behind the store's back."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from registry_helpers import as_agent, write_policy

from lineal.client import Lineal
from lineal.errors import Conflict, PermissionDenied
from lineal.ledger.chain import commit_message, record_hash
from lineal.ledger.keys import Signer
from lineal.model.digests import digest_bytes
from lineal.model.grants import PolicyApply, RoleGrant, RoleRevoke
from lineal.model.ops import AgentRegister, AliasSet, ModelApprove, ModelPromote, Op
from lineal.registry import grants
from lineal.registry.promote import promote
from lineal.store.base import Store

if TYPE_CHECKING:
    from conftest import Cli

POLICY = PolicyApply(
    protected=("production",),
    policies={"production": {"metrics": {"mAP": {"min": 0.8}}, "approvers": {"lead": 1}}},
)
PASSED = [
    {"check": "metric mAP", "passed": True, "detail": "mAP = 0.99", "fix": None},
    {"check": "approvers lead", "passed": True, "detail": "1 of 1", "fix": None},
]


def _forgeries(digest: str) -> list[Op]:
    """What a red-team run appended straight through the store: a promotion with forged
    checks, a move of the protected alias, a self-approval, itself made admin, a policy."""
    return [
        ModelPromote(
            name="det", alias="production", digest=digest, reason="trust me",
            policy="production", checks=tuple(PASSED),
        ),
        AliasSet(kind="model", name="det", alias="production", digest=digest),
        ModelApprove(name="det", alias="production", digest=digest, reason="me"),
        RoleGrant(agent="mallory", role="admin"),
        PolicyApply(),
    ]  # fmt: skip


@pytest.fixture
def mallory() -> Signer:
    return Signer.generate("mallory")


@pytest.fixture
def scene(store: Store, mallory: Signer) -> str:
    """``store`` with a policy in force (by alice, its first agent and so its admin), a model
    version, and mallory registered without any role; the version's digest."""
    lin = Lineal(store)
    digest = lin.record_artifact("model", digest=digest_bytes(b"weights"), name="det").digest
    store.append([AgentRegister(name="mallory", public_key=mallory.public_key), POLICY])
    return digest


def test_the_first_agent_is_admin_and_roles_change_only_by_an_admin(
    store: Store, scene: str, reopen: Callable[[Signer], Store], mallory: Signer
) -> None:
    assert [(a, r, by) for a, r, by, _ in store.role_holders()] == [("alice", "admin", None)]
    seq = store.append(RoleGrant(agent="mallory", role="contributor"))[0].seq
    assert ("mallory", "contributor", "alice", seq) in store.role_holders()
    as_mallory = reopen(mallory)
    try:
        head = as_mallory.head()
        with pytest.raises(PermissionDenied, match="needs role admin") as caught:
            as_mallory.append(RoleGrant(agent="mallory", role="admin"))
        assert "lineal role grant mallory admin" in (caught.value.hint or "")
        assert as_mallory.head() == head
    finally:
        as_mallory.close()
    store.append(RoleRevoke(agent="mallory", role="contributor"))
    assert store.role_holders(as_of=seq) == [*store.role_holders(), ("mallory", "contributor",
                                                                    "alice", seq)]  # fmt: skip
    with pytest.raises(Conflict, match="last admin"):
        store.append(RoleRevoke(agent="alice", role="admin"))
    assert store.verify().ok


def test_forged_writes_through_the_store_are_refused_whole(
    store: Store, scene: str, reopen: Callable[[Signer], Store], mallory: Signer
) -> None:
    as_mallory = reopen(mallory)
    try:
        head = as_mallory.head()
        needs = ["contributor", "admin", "approver or lead", "admin", "admin"]
        for op, role in zip(_forgeries(scene), needs, strict=True):
            with pytest.raises(PermissionDenied, match=f"needs role {role}"):
                as_mallory.append(op)
        tag = Lineal(as_mallory)

        def batch() -> None:  # one batch: nothing of it is written
            with as_mallory.atomic():
                tag.set_tag(tag.resolve("model/det@v1"), "note", "fine on its own")
                as_mallory.append(_forgeries(scene)[0])

        with pytest.raises(PermissionDenied):
            batch()
        assert as_mallory.head() == head
        # A contributor's promotion must carry the checks of the policy in force, truly.
        store.append(RoleGrant(agent="mallory", role="contributor"))
        with pytest.raises(PermissionDenied, match="approvers lead as passed; 0 of 1"):
            as_mallory.append(_forgeries(scene)[0])
        with pytest.raises(PermissionDenied, match="the policy in force is 'production'"):
            as_mallory.append(ModelPromote(name="det", alias="production", digest=scene,
                                           reason="no policy", checks=()))  # fmt: skip
        with pytest.raises(PermissionDenied, match="without an override"):
            as_mallory.append(ModelPromote(
                name="det", alias="production", digest=scene, reason="failing",
                policy="production",
                checks=(PASSED[0], {**PASSED[1], "passed": False}),
            ))  # fmt: skip
    finally:
        as_mallory.close()
    assert store.verify().ok


# -- behind the store's back -----------------------------------------------------------------
def _connect(uri: str) -> Any:
    if uri.startswith("sqlite:///"):
        return sqlite3.connect(uri.removeprefix("sqlite:///"), isolation_level=None)
    import psycopg

    return psycopg.connect(uri, autocommit=True)


def _raw_append(uri: str, signer: Signer, ops: Sequence[Op]) -> list[int]:
    """Append ``ops`` as ``signer`` with raw SQL, chained and signed as a store would, but
    with none of its checks: what a writer with database access and its own key can do."""
    conn = _connect(uri)
    mark = "?" if isinstance(conn, sqlite3.Connection) else "%s"
    try:
        seq, prev = conn.execute(
            "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        (previous,) = conn.execute("SELECT MAX(last_seq) FROM commits").fetchone()
        time, seqs = "2026-12-07T00:00:00.000000Z", []
        for op in ops:
            seq += 1
            payload = op.encode()
            digest = digest_bytes(payload)
            prev = record_hash(prev, seq, time, signer.name, op.OP, digest)
            conn.execute(
                f"INSERT INTO ledger (seq, time, author, op, payload_digest, hash, payload) "
                f"VALUES ({', '.join([mark] * 7)})",
                (seq, time, signer.name, op.OP, digest, prev, payload),
            )
            seqs.append(seq)
        conn.execute(
            f"INSERT INTO commits (last_seq, last_hash, author, key_id, sig) "
            f"VALUES ({', '.join([mark] * 5)})",
            (seq, prev, signer.name, signer.key_id,
             signer.sign(commit_message(seq, prev, previous))),
        )  # fmt: skip
    finally:
        conn.close()
    return seqs


@pytest.mark.sql
def test_verify_names_every_record_forged_into_the_database(
    store: Store, scene: str, store_uri: str, mallory: Signer
) -> None:
    assert store.verify().ok
    forged = _raw_append(store_uri, mallory, _forgeries(scene))
    report = store.verify()
    assert report.problem is not None
    assert report.problem.seq == forged[0]
    assert f"{len(forged)} record(s) the store must refuse" in report.problem.what
    for seq in forged:
        assert f"record {seq} by mallory refused" in report.problem.what


# -- through the workspace and the CLI -------------------------------------------------------
def test_editing_lineal_toml_makes_nobody_admin(repo: Lineal, ws: Path, lineal_cli: Cli) -> None:
    write_policy(ws, '[registry]\nprotected = ["production"]\n')
    assert grants.apply(repo).seq is None  # the ledger holds these already: nothing recorded
    (ws / "m.pt").write_text("m")
    assert lineal_cli("model", "register", "m.pt", "--name", "det", cwd=ws).returncode == 0
    mallory = as_agent(repo, ws, "mallory")
    (ws / "lineal.toml").write_text('[roles]\nadmin = ["mallory"]\n[policy.production]\n')
    try:
        with pytest.raises(PermissionDenied, match="needs role admin"):
            grants.grant(mallory, "mallory", "admin")
        with pytest.raises(PermissionDenied, match="needs role admin"):
            grants.apply(mallory)
        with pytest.raises(PermissionDenied, match="needs role contributor"):
            promote(mallory, "det@v1", "production", "ship it")
    finally:
        mallory.close()
    shown = lineal_cli("policy", "show", cwd=ws)
    assert shown.returncode == 1
    assert "role admin: mallory holds it in lineal.toml only" in shown.stdout
    assert "policy production: only in lineal.toml" in shown.stdout
    applied = grants.apply(repo)  # by tester, the admin; the file's roles stay the file's
    assert (applied.seq, applied.roles_in_file) == (repo.store.head()[0], [("mallory", "admin")])
    assert grants.in_force(repo).policies.keys() == {"production"}
    assert grants.in_force(repo, as_of=applied.seq - 1).policies == {}
    listed = lineal_cli("role", "list", "--json", cwd=ws)
    assert '"agent": "mallory"' not in listed.stdout
    granted = lineal_cli("role", "grant", "mallory", "contributor", cwd=ws)
    assert granted.returncode == 0, granted.stderr
    assert "mallory holds role contributor" in granted.stdout
    assert '"agent": "mallory"' in lineal_cli("role", "list", "--json", cwd=ws).stdout
    assert lineal_cli("verify", cwd=ws).returncode == 0
