"""`lineal alias`, `lineal agent` and `lineal ls` as a user runs them: the installed console
script in a subprocess, over a workspace made with `lineal init` (agent ``tester``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import lineal
from cli_checks import error_and_hint
from lineal.registry.promote import promote

if TYPE_CHECKING:
    from conftest import Cli


def ok(lineal_cli: Cli, *args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = lineal_cli(*args, cwd=cwd, env=env)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def failure(lineal_cli: Cli, *args: str, cwd: Path, env: dict[str, str] | None = None) -> list[str]:
    """A command that must fail cleanly: exit 1, an ``error:`` line and a ``hint:`` line."""
    return error_and_hint(lineal_cli(*args, cwd=cwd, env=env), *args)


def as_json(lineal_cli: Cli, *args: str, cwd: Path, env: dict[str, str] | None = None) -> Any:
    return json.loads(ok(lineal_cli, *args, "--json", cwd=cwd, env=env))


@pytest.fixture
def named(ws: Path) -> Path:
    """dataset/holdout v1 (MIT) and v2, dataset/train v1, model/det v1 and v2."""
    with lineal.open(path=ws) as repo:
        repo.record_artifact("dataset", data=b"h1", name="holdout", meta={"license": "MIT"})
        repo.record_artifact("dataset", data=b"h2", name="holdout")
        repo.record_artifact("dataset", data=b"t1", name="train", meta={"license": "CC-BY-4.0"})
        repo.record_artifact("model", data=b"m1", name="det")
        repo.record_artifact("model", data=b"m2", name="det")
    return ws


# -- alias ---------------------------------------------------------------------------------------


def test_alias_set_unset_and_list_round_trip(named: Path, lineal_cli: Cli) -> None:
    ws = named
    said = ok(lineal_cli, "alias", "set", "dataset/holdout@v1", "eval-approved", cwd=ws)
    assert said.strip() == "dataset/holdout:eval-approved -> dataset/holdout@v1"
    assert as_json(lineal_cli, "show", "dataset/holdout:eval-approved", cwd=ws)["version"] == 1
    moved = ok(lineal_cli, "alias", "set", "dataset/holdout", "eval-approved", cwd=ws)
    assert moved.strip() == (
        "dataset/holdout:eval-approved -> dataset/holdout@v2 (was dataset/holdout@v1)"
    )
    again = as_json(lineal_cli, "alias", "set", "dataset/holdout@v2", "eval-approved", cwd=ws)
    assert again["changed"] is False  # nothing recorded twice
    ok(lineal_cli, "alias", "set", "model/det@v1", "canary", cwd=ws)
    listed = as_json(lineal_cli, "alias", "list", cwd=ws)
    assert [(e["ref"], e["target"]) for e in listed] == [
        ("dataset/holdout:eval-approved", "dataset/holdout@v2"),
        ("model/det:canary", "model/det@v1"),
    ]
    assert [e["ref"] for e in as_json(lineal_cli, "alias", "list", "model", cwd=ws)] == [
        "model/det:canary"
    ]
    text = ok(lineal_cli, "alias", "list", "dataset/holdout", cwd=ws)
    assert text.split() == ["dataset/holdout:eval-approved", "dataset/holdout@v2"]
    # Removed, spelt whole or in two words; each change is a signed alias.set record.
    gone = ok(lineal_cli, "alias", "unset", "dataset/holdout:eval-approved", cwd=ws)
    assert gone.strip() == "dataset/holdout:eval-approved removed (it named dataset/holdout@v2)"
    ok(lineal_cli, "alias", "unset", "model/det", "canary", cwd=ws)
    assert as_json(lineal_cli, "alias", "list", cwd=ws) == []
    assert ok(lineal_cli, "alias", "list", cwd=ws).strip() == "no aliases"
    records = as_json(lineal_cli, "log", "--op", "alias.set", cwd=ws)
    assert [(r["payload"]["alias"], r["payload"]["digest"] is None) for r in records] == [
        ("canary", True), ("eval-approved", True), ("canary", False),
        ("eval-approved", False), ("eval-approved", False),
    ]  # fmt: skip
    assert {r["author"] for r in records} == {"tester"}
    shown = lineal_cli("show", "dataset/holdout:eval-approved", cwd=ws)
    assert shown.returncode == 1
    assert "dataset/holdout has no alias 'eval-approved'" in shown.stderr
    assert ok(lineal_cli, "verify", cwd=ws).startswith("OK")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("alias", "unset", "dataset/holdout:nope"), "dataset/holdout has no alias 'nope'"),
        (("alias", "unset", "dataset/ghost", "x"), "no dataset named 'ghost'"),
        (("alias", "list", "dataset/ghost"), "no dataset named 'ghost'"),
        (("alias", "set", "dataset/holdout@v9", "x"), "dataset/holdout@v9 does not exist"),
        (("alias", "set", "dataset/holdout", "v3"), "alias 'v3' is reserved"),
    ],
)
def test_alias_errors_name_the_problem(
    named: Path, lineal_cli: Cli, args: tuple[str, ...], says: str
) -> None:
    done = lineal_cli(*args, cwd=named)
    assert done.returncode == 1, done.stdout
    assert says in done.stderr.splitlines()[0]
    assert "Traceback" not in done.stderr


def test_a_protected_model_alias_is_refused_with_the_promote_hint(
    named: Path, lineal_cli: Cli
) -> None:
    ws = named
    (ws / "lineal.toml").write_text('[registry]\nprotected = ["production"]\n')
    ok(lineal_cli, "alias", "set", "model/det@v1", "canary", cwd=ws)  # only in the file: free
    ok(lineal_cli, "policy", "apply", cwd=ws)  # tester, the store's first agent, is admin
    lines = failure(lineal_cli, "alias", "set", "model/det@v1", "production", cwd=ws)
    assert lines[0] == "error: model/det:production is protected: it moves only through a promotion"
    assert "lineal model promote det@v" in lines[1]
    assert "--to production --reason TEXT" in lines[1]
    with lineal.open(path=ws) as repo:
        promote(repo, "model/det@v1", "production", "first release")
    lines = failure(lineal_cli, "alias", "unset", "model/det:production", cwd=ws)
    assert "is protected" in lines[0]
    assert "lineal model promote det@vN --to production" in lines[1]
    held = as_json(lineal_cli, "alias", "list", "model/det", cwd=ws)
    assert [(e["alias"], e["version"]) for e in held] == [("canary", 1), ("production", 1)]
    # An alias with a policy is protected too; a dataset alias of the same word is not.
    (ws / "lineal.toml").write_text("[policy.staging]\nlineage_complete = true\n")
    ok(lineal_cli, "policy", "apply", cwd=ws)
    failure(lineal_cli, "alias", "set", "model/det@v2", "staging", cwd=ws)
    ok(lineal_cli, "alias", "set", "dataset/holdout", "staging", cwd=ws)


# -- agent ---------------------------------------------------------------------------------------

TOML = """\
# Who may do what in this project (reviewed like code).
[roles]
admin = ["tester"]   # the one who set this up

[registry]
protected = ["production"]
"""


def test_a_second_agent_signs_its_own_writes(named: Path, lineal_cli: Cli) -> None:
    ws = named
    (ws / "lineal.toml").write_text(TOML)
    bob = {"LINEAL_AGENT": "bob"}
    before = len(as_json(lineal_cli, "log", cwd=ws))
    # No key for bob yet: said so, with the fix; reads still work; nothing is written.
    lines = failure(lineal_cli, "tag", "dataset/holdout", "checked=yes", cwd=ws, env=bob)
    assert lines[0] == f"error: no signing key for agent 'bob' in {ws / '.lineal' / 'keys'}"
    assert "lineal agent add bob" in lines[1]
    assert len(as_json(lineal_cli, "log", cwd=ws, env=bob)) == before
    lines = failure(lineal_cli, "init", "--agent", "bob", cwd=ws)
    assert "already a lineal workspace" in lines[0]
    assert lines[1] == "hint: to let another agent write here, run `lineal agent add bob`"

    said = ok(lineal_cli, "agent", "add", "bob", "--role", "approver", cwd=ws)
    assert "Agent bob (key " in said
    assert "registered by tester" in said
    assert "LINEAL_AGENT=bob" in said
    key = ws / ".lineal" / "keys" / "bob.ed25519"
    assert (key.stat().st_mode & 0o777) == 0o600
    assert "bob holds role approver (granted by tester" in said  # in the ledger
    assert (ws / "lineal.toml").read_text() == TOML  # the file is the user's, left alone

    ok(lineal_cli, "tag", "dataset/holdout", "checked=yes", cwd=ws, env=bob)
    newest, granted, registered = as_json(lineal_cli, "log", "-n", "3", cwd=ws)
    assert (newest["op"], newest["author"]) == ("tag.set", "bob")
    assert granted["payload"] == {"agent": "bob", "role": "approver"}
    assert (registered["op"], registered["author"]) == ("agent.register", "tester")
    assert registered["payload"]["name"] == "bob"
    assert ok(lineal_cli, "verify", cwd=ws).startswith("OK")

    agents = {a["name"]: a for a in as_json(lineal_cli, "agent", "list", cwd=ws)}
    agents.pop("lineal-server", None)  # through a server: its own agent, which commits batches
    assert list(agents) == ["tester", "bob"]
    assert agents["bob"]["roles"] == ["approver"]
    assert agents["tester"]["roles"] == ["admin"]
    assert agents["tester"]["current"] is True
    assert agents["bob"]["current"] is False
    assert agents["bob"]["local_key"] == agents["bob"]["keys"][0]["key_id"]
    listed = ok(lineal_cli, "agent", "list", cwd=ws, env=bob).splitlines()
    listed = [line for line in listed if "lineal-server" not in line]  # see above
    assert listed[1].startswith("* bob")
    assert "private key here" in listed[1]
    assert "roles: approver" in listed[1]

    public = registered["payload"]["public_key"]
    assert ok(lineal_cli, "agent", "key", "bob", cwd=ws).strip() == public
    assert ok(lineal_cli, "agent", "key", cwd=ws, env=bob).strip() == public
    registers = as_json(lineal_cli, "log", "--op", "agent.register", cwd=ws)
    mine = next(r for r in registers if r["payload"]["name"] == "tester")
    assert ok(lineal_cli, "agent", "key", cwd=ws).strip() == mine["payload"]["public_key"]

    lines = failure(lineal_cli, "agent", "add", "bob", cwd=ws)
    assert lines[0] == "error: agent 'bob' is already registered"
    lines = failure(lineal_cli, "agent", "key", "carol", cwd=ws)
    assert "lineal agent add carol" in lines[1]


def test_agent_add_leaves_nothing_behind_when_refused(named: Path, lineal_cli: Cli) -> None:
    ws = named
    before = len(as_json(lineal_cli, "log", cwd=ws))
    failure(lineal_cli, "agent", "add", "no spaces", cwd=ws)
    done = lineal_cli("agent", "add", "bob", "--role", "not a role", cwd=ws)
    assert done.returncode == 1
    assert "bad role" in done.stderr
    assert len(as_json(lineal_cli, "log", cwd=ws)) == before
    assert not (ws / ".lineal" / "keys" / "bob.ed25519").exists()
    # A role only an admin may grant: bob, no admin, adds carol as one; nothing is left.
    ok(lineal_cli, "agent", "add", "bob", cwd=ws)
    lines = failure(lineal_cli, "agent", "add", "carol", "--role", "approver", cwd=ws,
                    env={"LINEAL_AGENT": "bob"})  # fmt: skip
    assert "needs role admin, which bob does not hold" in lines[0]
    assert lines[1] == "hint: an admin runs: lineal role grant bob admin"
    assert not (ws / ".lineal" / "keys" / "carol.ed25519").exists()
    assert "carol" not in ok(lineal_cli, "agent", "list", cwd=ws)


# -- ls ------------------------------------------------------------------------------------------


def test_ls_lists_names_with_versions_aliases_and_licences(named: Path, lineal_cli: Cli) -> None:
    ws = named
    ok(lineal_cli, "alias", "set", "dataset/holdout@v1", "eval-approved", cwd=ws)
    ok(lineal_cli, "tag", "dataset/train", "license=Apache-2.0", cwd=ws)  # the tag wins
    rows = [line.split() for line in ok(lineal_cli, "ls", cwd=ws).splitlines()]
    assert rows == [
        ["name", "latest", "versions", "aliases", "license"],
        ["dataset/holdout", "v2", "2", "eval-approved=v1", "-"],  # v2 states no licence
        ["dataset/train", "v1", "1", "Apache-2.0"],
        ["model/det", "v2", "2", "-"],
    ]
    datasets = as_json(lineal_cli, "ls", "dataset", cwd=ws)
    assert [d["ref"] for d in datasets] == ["dataset/holdout", "dataset/train"]
    holdout, train = datasets
    assert holdout["latest"] == "dataset/holdout@v2"
    assert (holdout["version"], holdout["versions"]) == (2, 2)
    assert holdout["aliases"] == {"eval-approved": "dataset/holdout@v1"}
    assert holdout["license"] is None
    assert holdout["digest"].startswith("sha256:")
    assert (train["license"], train["aliases"]) == ("Apache-2.0", {})
    assert as_json(lineal_cli, "ls", "scene", cwd=ws) == []
    assert ok(lineal_cli, "ls", "scene", cwd=ws).strip() == "no named scenes yet"
    done = lineal_cli("ls", "datasets", cwd=ws)
    assert done.returncode == 1
    assert "bad artifact kind 'datasets'" in done.stderr
