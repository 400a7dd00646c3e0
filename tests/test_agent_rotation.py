"""`lineal.agents.rotate_key` and `revoke_key` on a workspace: the key files follow the
ledger, and a refused rotation leaves both as they were."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineal.agents import agent_info, revoke_key, rotate_key
from lineal.client import Lineal
from lineal.errors import InvalidInput, NotFound, PermissionDenied
from lineal.ledger.keys import Signer, load_signer, save_signer


def test_rotate_puts_the_new_key_in_place_and_writes_on_with_it(repo: Lineal, ws: Path) -> None:
    keys = ws / ".lineal" / "keys"
    old = load_signer(keys, "tester")
    done = rotate_key(repo)
    assert load_signer(keys, "tester").public_key == done.public_key != old.public_key
    assert load_signer(done.retired_path.parent, done.retired_path.stem).public_key == (
        old.public_key
    )  # the retired key is whole, where it says
    repo.record_artifact("dataset", data=b"after", name="after")  # this process, new key
    held = [(k.key_id, k.current) for k in agent_info(repo, "tester").keys]
    assert held == [(old.key_id, False), (done.as_dict()["key_id"], True)]
    assert repo.verify().ok


def test_a_refused_rotation_leaves_the_ledger_and_the_key_files_alone(
    repo: Lineal, ws: Path
) -> None:
    keys = ws / ".lineal" / "keys"
    (keys / "tester.ed25519").unlink()  # someone replaced the key file under the store
    (keys / "tester.pub").unlink()
    stranger = save_signer(keys, Signer.generate("tester"))
    head = repo.store.head()
    with pytest.raises(InvalidInput, match="does not hold agent 'tester'"):
        rotate_key(repo)
    assert repo.store.head() == head
    assert sorted(p.name for p in keys.iterdir()) == ["tester.ed25519", "tester.pub"]
    assert stranger.read_bytes() == (keys / "tester.ed25519").read_bytes()


def test_revoke_by_name_or_key_id(repo: Lineal) -> None:
    done = revoke_key(repo, "tester", "moving on")
    assert (done.name, done.by, done.reason) == ("tester", "tester", "moving on")
    with pytest.raises(NotFound, match="no agent or current key 'carol'"):
        revoke_key(repo, "carol", "no")
    with pytest.raises(PermissionDenied, match="was revoked at seq"):
        repo.record_artifact("dataset", data=b"late", name="late")


def test_an_admin_revokes_another_agents_key_and_nobody_else_may(repo: Lineal, ws: Path) -> None:
    """bob's laptop is stolen: bob cannot sign a revocation, the admin (the store's first
    agent) can; bob, no admin, cannot revoke the admin's key."""
    from lineal.agents import add_agent
    from lineal.workspace import Workspace

    add_agent(repo, "bob")
    keys = ws / ".lineal" / "keys"
    found = Workspace(uri=repo.store.uri, agent="bob", keys=keys, root=ws / ".lineal")
    bob = Lineal(found.open(), found)
    try:
        bob.record_artifact("dataset", data=b"before", name="before")
        with pytest.raises(PermissionDenied, match="needs role admin"):
            revoke_key(bob, "tester", "mine now")
        bob_id = agent_info(repo, "bob").keys[0].key_id
        done = revoke_key(repo, bob_id, "laptop stolen")
        assert (done.name, done.by) == ("bob", "tester")
        with pytest.raises(PermissionDenied, match="was revoked at seq"):
            bob.record_artifact("dataset", data=b"after", name="after")
    finally:
        bob.close()
    report = repo.verify()
    assert report.ok, report.problem
