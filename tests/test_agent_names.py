"""An agent name that could be taken for a registered one (case, look-alike characters) is
refused, by `lineal agent add` and by `lineal init --uri` on a store others already use."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import lineal
from cli_checks import error_and_hint
from lineal.agents import add_agent
from lineal.client import Lineal
from lineal.errors import Conflict
from lineal.lookalikes import confusable_agent
from store_origin import Origin

if TYPE_CHECKING:
    from conftest import Cli


@pytest.mark.parametrize("name", ["aIice", "ALICE", "Alice", "AIice", "a1ice", "A1ice"])
def test_a_look_alike_of_alice_is_refused(repo: Lineal, name: str) -> None:
    add_agent(repo, "alice")
    with pytest.raises(Conflict, match="could be taken for the registered agent 'alice'"):
        add_agent(repo, name)
    assert name not in {agent.name for agent in repo.store.agents()}
    assert repo.store.verify().ok


@pytest.mark.parametrize("name", ["bob", "alicia", "alice2", "al", "ci-bot", "al1ce"])
def test_names_that_differ_are_accepted(repo: Lineal, name: str) -> None:
    add_agent(repo, "alice")
    assert add_agent(repo, name).name == name


def test_look_alikes_across_the_alphabet() -> None:
    assert confusable_agent("rnallory", ["mallory"]) == "mallory"  # rn looks like m
    assert confusable_agent("b0b", ["bob"]) == "bob"
    assert confusable_agent("bob", ["bob"]) is None  # the same name is not a look-alike
    assert confusable_agent("carol", ["bob", "alice"]) is None
    # UTS #39 skeletons, not chains of look-alikes: s is no f, though the long s looks like f
    assert confusable_agent("sam", ["fam"]) is None
    assert confusable_agent("\u017fam", ["fam"]) == "fam"


def test_the_cli_says_which_agent_it_looks_like(ws: Path, lineal_cli: Cli) -> None:
    assert lineal_cli("agent", "add", "alice", cwd=ws).returncode == 0
    lines = error_and_hint(lineal_cli("agent", "add", "aIice", cwd=ws), "agent add")
    assert lines[0] == "error: agent name 'aIice' could be taken for the registered agent 'alice'"
    assert not (ws / ".lineal" / "keys" / "aIice.ed25519").exists()


def test_init_on_a_shared_store_refuses_a_look_alike(tmp_path: Path, store_uri: str) -> None:
    lineal.init(tmp_path / "first", uri=store_uri, agent="alice")
    with pytest.raises(Conflict, match="could be taken for the registered agent 'alice'"):
        lineal.init(tmp_path / "second", uri=store_uri, agent="ALICE")
    assert not (tmp_path / "second" / ".lineal").exists()
    with Lineal.open(path=tmp_path / "first") as repo:
        ahead = Origin.of(repo.store, "alice").agents  # a server's own agent, on a server
        assert [agent.name for agent in repo.store.agents()] == [*ahead, "alice"]
