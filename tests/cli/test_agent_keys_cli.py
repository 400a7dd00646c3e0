"""`lineal agent rotate|revoke|show` as a user runs them: the installed console script over a
workspace made with `lineal init` (agent ``tester``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli_checks import error_and_hint

if TYPE_CHECKING:
    from conftest import Cli


def ok(lineal_cli: Cli, *args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = lineal_cli(*args, cwd=cwd, env=env)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def as_json(lineal_cli: Cli, *args: str, cwd: Path) -> Any:
    return json.loads(ok(lineal_cli, *args, "--json", cwd=cwd))


def _write(lineal_cli: Cli, ws: Path, name: str) -> Any:
    (ws / f"{name}.txt").write_text(name)
    return lineal_cli("add", f"{name}.txt", "--name", name, cwd=ws)


def test_rotate_then_keep_writing_and_the_old_key_is_refused(ws: Path, lineal_cli: Cli) -> None:
    keys = ws / ".lineal" / "keys"
    old_pub = (keys / "tester.pub").read_text().strip()
    assert _write(lineal_cli, ws, "before").returncode == 0
    done = as_json(lineal_cli, "agent", "rotate", cwd=ws)
    assert done["name"] == "tester"
    assert (keys / "tester.pub").read_text().strip() == done["public_key"] != old_pub
    retired = Path(done["retired_key_path"])
    assert retired.parent == keys / "retired"
    assert retired.with_suffix(".pub").read_text().strip() == old_pub
    assert _write(lineal_cli, ws, "after").returncode == 0  # signed with the new key
    shown = as_json(lineal_cli, "agent", "show", "tester", cwd=ws)
    spans = [(k["key_id"], k["until_seq"], k["ended"]) for k in shown["keys"]]
    assert spans == [
        (done["previous_key_id"], done["seq"], "rotated"),
        (done["key_id"], None, None),
    ]
    text = ok(lineal_cli, "agent", "show", cwd=ws)
    assert f"key {done['previous_key_id']}" in text
    assert f"-{done['seq']} (rotated)" in text
    assert f"seq {done['seq']}- (current)  (private key here)" in text
    assert ok(lineal_cli, "verify", cwd=ws).startswith("OK:")
    # Someone who kept the old private key can no longer write as tester.
    shutil.copy(retired, keys / "tester.ed25519")
    shutil.copy(retired.with_suffix(".pub"), keys / "tester.pub")
    error, hint = error_and_hint(_write(lineal_cli, ws, "late"), "add")
    assert f"was rotated at seq {done['seq']}" in error
    assert done["key_id"] in hint
    assert ok(lineal_cli, "verify", cwd=ws).startswith("OK:")


def test_revoke_a_key_then_it_signs_nothing(ws: Path, lineal_cli: Cli) -> None:
    ok(lineal_cli, "agent", "add", "bob", cwd=ws)
    bob = {"LINEAL_AGENT": "bob"}
    bob_key = as_json(lineal_cli, "agent", "show", "bob", cwd=ws)["keys"][0]["key_id"]
    # bob, no admin, may not revoke tester's key: refused, nothing written.
    head = len(as_json(lineal_cli, "log", cwd=ws))
    error, _ = error_and_hint(
        lineal_cli("agent", "revoke", "tester", "--reason", "x", cwd=ws, env=bob), "agent revoke"
    )
    assert "revoking a key of agent tester needs role admin" in error
    assert len(as_json(lineal_cli, "log", cwd=ws)) == head
    said = ok(lineal_cli, "agent", "revoke", bob_key, "--reason", "laptop lost", cwd=ws, env=bob)
    assert f"Key {bob_key} of agent bob revoked by bob" in said
    key = as_json(lineal_cli, "agent", "show", "bob", cwd=ws)["keys"][0]
    assert (key["ended"], key["reason"]) == ("revoked", "laptop lost")
    assert "(revoked: laptop lost)" in ok(lineal_cli, "agent", "show", "bob", cwd=ws)
    (ws / "late.txt").write_text("late")
    error, hint = error_and_hint(
        lineal_cli("add", "late.txt", "--name", "late", cwd=ws, env=bob), "add as revoked"
    )
    assert f"key {bob_key} of agent 'bob' was revoked at seq" in error
    assert "none left" in hint
    assert ok(lineal_cli, "verify", cwd=ws).startswith("OK:")
