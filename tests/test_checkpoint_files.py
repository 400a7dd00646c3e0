"""Checkpoints kept outside the database find a deleted tail of the ledger and a deleted commit;
a checkpoint is trusted only when signed by a key the ledger (or --key) gives its agent.

Each store-level case runs on SQLite and PostgreSQL: the workspace's store is ``store_uri``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import lineal
from cli_checks import error_and_hint
from lineal import checkpoint_files
from lineal.agents import add_agent
from lineal.client import Lineal
from lineal.ledger.checkpoint import make_checkpoint
from lineal.ledger.keys import Signer, load_signer
from lineal.store.registry import open_store
from lineal.store.sql.migrations import PROJECTION_TABLES
from lineal.verification import verify

#: Reads SQL internals: runs on the SQL backends of ``store_uri`` only (tests/conftest.py).
pytestmark = pytest.mark.sql

if TYPE_CHECKING:
    from conftest import Cli


def raw(uri: str, *statements: str) -> None:
    """Run SQL on the store behind lineal's back, as someone editing the database would."""
    if uri.startswith("sqlite:///"):
        with closing(sqlite3.connect(uri.removeprefix("sqlite:///"))) as db, db:
            for statement in statements:
                db.execute(statement)
        return
    import psycopg

    with psycopg.connect(uri, autocommit=True) as db:
        for statement in statements:
            db.execute(statement)


def delete_tail(uri: str, seq: int) -> None:
    """Every row from ``seq`` on, in the ledger, the commits and every projection: what
    `lineal verify` alone cannot tell from a ledger that simply ended there."""
    raw(
        uri,
        f"DELETE FROM ledger WHERE seq >= {seq}",
        f"DELETE FROM commits WHERE last_seq >= {seq}",
        *(f"DELETE FROM {table} WHERE seq >= {seq}" for table in PROJECTION_TABLES),
    )


@pytest.fixture
def space(tmp_path: Path, store_uri: str) -> Path:
    """A workspace (agent alice) whose store is ``store_uri``, with records at seq 2, 3, 4
    written in three transactions."""
    lineal.init(tmp_path, uri=store_uri, agent="alice")
    with Lineal.open(path=tmp_path) as repo:
        for i in range(3):
            repo.record_artifact("dataset", data=b"%d" % i, name="d")
    return tmp_path


@pytest.fixture
def repo(space: Path) -> Iterator[Lineal]:
    with Lineal.open(path=space) as opened:
        yield opened


def test_a_deleted_tail_is_found_against_the_kept_checkpoint(
    space: Path, repo: Lineal, store_uri: str, lineal_cli: Cli
) -> None:
    _, kept = checkpoint_files.make(repo)
    assert kept is not None
    assert kept.parent == space / ".lineal" / "checkpoints"
    assert verify(repo).ok
    delete_tail(store_uri, 3)
    assert repo.verify().ok  # the ledger alone still looks whole: this is what needs the tail
    found = verify(repo)
    assert not found.ok
    assert found.checkpoint.result is not None
    assert (found.checkpoint.result.size, found.checkpoint.result.current_size) == (4, 2)
    lines = error_and_hint(lineal_cli("verify", cwd=space), "verify")
    assert "ends at seq 2" in lines[0]
    assert "seq 3..4 were deleted" in lines[0]
    assert str(kept) in lines[0]


def test_without_a_checkpoint_verify_says_a_deleted_tail_cannot_be_seen(
    space: Path, store_uri: str, lineal_cli: Cli
) -> None:
    delete_tail(store_uri, 3)
    done = lineal_cli("verify", cwd=space)
    assert done.returncode == 0, done.stderr
    assert "No checkpoint known: a deleted tail of the ledger cannot be detected" in done.stdout
    assert "run `lineal checkpoint`" in done.stdout
    report = json.loads(lineal_cli("verify", "--json", cwd=space).stdout)
    assert report["checkpoint"]["known"] is False
    assert report["checkpoint"]["reason"] == "none kept"


def test_a_store_without_a_workspace_has_no_checkpoint_known(
    space: Path, store_uri: str, lineal_cli: Cli, tmp_path_factory: pytest.TempPathFactory
) -> None:
    lineal_cli("checkpoint", cwd=space)
    elsewhere = tmp_path_factory.mktemp("no-workspace")
    done = lineal_cli("verify", cwd=elsewhere, env={"LINEAL_URI": store_uri})
    assert done.returncode == 0, done.stderr
    assert "No checkpoint known (a store opened without a workspace keeps none)" in done.stdout
    assert "Objects not checked" in done.stdout


def test_a_deleted_commit_is_found_against_the_kept_checkpoint(
    space: Path, repo: Lineal, store_uri: str, lineal_cli: Cli
) -> None:
    checkpoint_files.make(repo)
    raw(store_uri, "DELETE FROM commits WHERE last_seq = 3")  # seq 3 and 4: one transaction
    # Both were alice's, but commits chain: the next one names the deleted one.
    report = repo.verify()
    assert report.problem is not None
    assert report.problem.seq == 3
    assert "the commit ending at seq 3 was deleted" in report.problem.what
    out = lineal_cli("verify", cwd=space)
    assert out.returncode == 1
    assert "the commit ending at seq 3 was deleted" in out.stdout + out.stderr
    done = lineal_cli(
        "checkpoint", "--verify", str(sorted(space.glob(".lineal/checkpoints/*"))[0]), cwd=space
    )
    assert "a commit was deleted" in error_and_hint(done, "checkpoint")[0]


def test_a_deleted_commit_between_two_agents_is_found_by_the_chain(
    store_uri: str, tmp_path: Path
) -> None:
    lineal.init(tmp_path, uri=store_uri, agent="alice")
    with Lineal.open(path=tmp_path) as repo:
        add_agent(repo, "bob")  # seq 2, alice's
        repo.record_artifact("dataset", data=b"a", name="a")  # seq 3, alice's
    as_bob = open_store(store_uri, load_signer(tmp_path / ".lineal" / "keys", "bob"))
    try:
        Lineal(as_bob).record_artifact("dataset", data=b"b", name="b")  # seq 4, bob's
        raw(store_uri, "DELETE FROM commits WHERE last_seq = 3")
        problem = as_bob.verify().problem
    finally:
        as_bob.close()
    assert problem is not None
    assert problem.seq == 3
    assert "inside a commit by 'bob'" in problem.what
    assert "a commit before it was deleted" in problem.what


# -- whose key signed a checkpoint --------------------------------------------------------------


def test_a_checkpoint_signed_by_a_fresh_key_named_alice_is_refused(
    space: Path, repo: Lineal, lineal_cli: Cli
) -> None:
    leaves, (_, head) = repo.store.leaf_hashes(), repo.store.head()
    impostor = Signer.generate("alice")  # the same name, a key the ledger never recorded
    forged = make_checkpoint(
        leaves, head, "2026-01-01T00:00:00.000000Z", impostor, repo.store.commits()
    )
    (space / "forged.json").write_text(json.dumps(forged))
    lines = error_and_hint(lineal_cli("checkpoint", "--verify", "forged.json", cwd=space), "x")
    assert f"signed by key {impostor.key_id}" in lines[0]
    assert "which the ledger does not record for agent 'alice'" in lines[0]
    alice = repo.store.signer
    assert alice is not None
    assert alice.key_id in lines[0]  # the keys alice does have are named
    # Pinned, the same file is accepted: whoever pins a key vouches for it.
    done = lineal_cli(
        "checkpoint", "--verify", "forged.json", "--key", impostor.public_key, cwd=space
    )
    assert done.returncode == 0, done.stderr
    assert f"signed by the pinned key {impostor.key_id} (it names alice)" in done.stdout


def test_a_checkpoint_signed_by_alices_key_says_so(
    space: Path, repo: Lineal, lineal_cli: Cli
) -> None:
    assert lineal_cli("checkpoint", "--out", "cp.json", cwd=space).returncode == 0
    alice = repo.store.signer
    assert alice is not None
    done = lineal_cli("checkpoint", "--verify", "cp.json", cwd=space)
    assert done.returncode == 0, done.stderr
    assert f"signed by alice (key {alice.key_id})" in done.stdout
    result = json.loads(lineal_cli("checkpoint", "--verify", "cp.json", "--json", cwd=space).stdout)
    assert result["signed_by"] == {"agent": "alice", "key_id": alice.key_id, "trusted": "ledger"}
    # --key pins one key (or key id), or one agent's keys
    for pin in (alice.key_id, alice.public_key, "alice"):
        done = lineal_cli("checkpoint", "--verify", "cp.json", "--key", pin, cwd=space)
        assert done.returncode == 0, (pin, done.stderr)
    other = Signer.generate("carol")
    lines = error_and_hint(
        lineal_cli("checkpoint", "--verify", "cp.json", "--key", other.key_id, cwd=space), "pin"
    )
    assert f"not by the pinned key {other.key_id}" in lines[0]
    lines = error_and_hint(
        lineal_cli("checkpoint", "--verify", "cp.json", "--key", "bob", cwd=space), "agent"
    )
    assert "names agent 'alice' as its signer, not 'bob'" in lines[0]


@pytest.mark.parametrize("store_uri", ["sqlite"], indirect=True)
def test_dev_zero_is_refused_in_one_line(space: Path, lineal_cli: Cli) -> None:
    lines = error_and_hint(lineal_cli("checkpoint", "--verify", "/dev/zero", cwd=space), "zero")
    assert lines[0] == (
        "error: /dev/zero is not a lineal checkpoint: it is bigger than 1 MiB "
        "(a checkpoint is a few kilobytes)"
    )
    (space / "binary").write_bytes(bytes(range(256)))
    lines = error_and_hint(lineal_cli("checkpoint", "--verify", "binary", cwd=space), "binary")
    assert lines[0].endswith("binary is not a lineal checkpoint: it is not JSON text")
    (space / "deep.json").write_text("[" * 100_000)
    lines = error_and_hint(lineal_cli("checkpoint", "--verify", "deep.json", cwd=space), "deep")
    assert "is not a lineal checkpoint" in lines[0]


def test_a_checkpoint_signed_with_a_rotated_in_key_is_the_agents(
    space: Path, lineal_cli: Cli
) -> None:
    before = lineal_cli("checkpoint", "--out", "old.json", cwd=space)
    assert before.returncode == 0, before.stderr
    rotated = json.loads(lineal_cli("agent", "rotate", "--json", cwd=space).stdout)
    assert lineal_cli("checkpoint", "--out", "new.json", cwd=space).returncode == 0
    for name, key in (("old.json", rotated["previous_key_id"]), ("new.json", rotated["key_id"])):
        done = lineal_cli("checkpoint", "--verify", name, "--json", cwd=space)
        assert done.returncode == 0, (name, done.stderr)
        signed = json.loads(done.stdout)["signed_by"]
        assert signed == {"agent": "alice", "key_id": key, "trusted": "ledger"}
