"""`lineal redact` and `lineal retention apply` as a user runs them: admin only, asked before
erasing, one-line errors for bad rules, and every answer saying what was erased afterwards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import lineal
from lineal.model.ops import RunStart

if TYPE_CHECKING:
    from conftest import Cli


@pytest.fixture
def cli(lineal_cli: Cli) -> Cli:
    return lineal_cli


def ok(cli: Cli, *args: str, cwd: Path) -> str:
    done = cli(*args, cwd=cwd)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return str(done.stdout)


def failure(cli: Cli, *args: str, cwd: Path) -> list[str]:
    """A command that must fail cleanly: its stderr lines (error:, then hint:)."""
    done = cli(*args, cwd=cwd)
    assert done.returncode == 1, (args, done.stdout, done.stderr)
    lines = str(done.stderr).splitlines()
    assert lines, args
    assert lines[0].startswith("error: "), lines
    assert all(line.startswith(("error: ", "hint: ")) for line in lines), lines
    return lines


def _old_run(ws: Path, name: str, started: str = "2020-01-02T03:04:05.000000Z") -> str:
    """A run started long ago, with one logged batch and an email in a tag."""
    from ulid import ULID

    run_id = str(ULID())
    with lineal.open(path=ws) as repo:
        repo.store.append(RunStart(id=run_id, name=name, started=started))
        repo.log_metrics(f"run/{run_id}", {"loss": 0.9}, step=0)
        repo.set_tag(f"run/{run_id}", "owner", f"{name}@example.com")
    return run_id


def test_redact_a_tag_and_a_run(ws: Path, cli: Cli) -> None:
    run_id = _old_run(ws, "train")
    tag_seq = next(
        r["seq"] for r in json.loads(ok(cli, "log", "--json", cwd=ws)) if r["op"] == "tag.set"
    )
    ok(cli, "agent", "add", "bob", cwd=ws)  # no role: may not redact
    bob = {"LINEAL_AGENT": "bob"}
    done = cli("redact", str(tag_seq), "--reason", "gdpr", "--yes", cwd=ws, env=bob)
    assert done.returncode == 1, done.stderr
    assert str(done.stderr).splitlines() == [
        "error: agent 'bob' may not redact: only the admin role may",
        "hint: ask an admin (`lineal role list` shows them) to redact, or to run "
        "`lineal role grant bob admin`",
    ]
    # not a terminal and no --yes: nothing erased, the way to go on named
    assert failure(cli, "redact", f"run/{run_id}", "--reason", "gdpr", cwd=ws) == [
        f"error: erasing 2 payload(s) of run/{run_id} needs confirmation",
        "hint: pass --yes to erase without asking",
    ]
    assert failure(cli, "redact", "1", "--reason", "x", "--yes", cwd=ws)[0] == (
        "error: record 1 (agent.register) is one later records depend on: it stays"
    )
    done = json.loads(
        ok(cli, "redact", str(tag_seq), "--reason", "gdpr request 17", "--yes", "--json", cwd=ws)
    )
    assert done["applied"] is True
    assert [(e["seq"], e["op"], e["subject"]) for e in done["erase"]] == [
        (tag_seq, "tag.set", f"run/{run_id}")
    ]
    text = ok(cli, "redact", f"run/{run_id}", "--reason", "retention", "--yes", cwd=ws)
    assert text.splitlines()[0] == f"erased 1 payload(s) of run/{run_id}: retention"
    assert "metrics.batch  logged points of run/" in text
    assert ok(cli, "redact", f"run/{run_id}", "--reason", "again", "--yes", cwd=ws).strip() == (
        f"nothing to erase for run/{run_id}"
    )

    shown = ok(cli, "show", f"run/{run_id}", cwd=ws)
    redacted = [line for line in shown.splitlines() if line.startswith("redacted")]
    assert len(redacted) == 2
    assert "(metrics.batch) by tester at " in redacted[0]  # in the erased records' order
    assert redacted[0].endswith(": retention")
    assert f"record {tag_seq} (tag.set) by tester at " in redacted[1]
    assert redacted[1].endswith(": gdpr request 17")
    metrics = cli("metrics", f"run/{run_id}", cwd=ws)
    assert metrics.returncode == 0
    assert metrics.stdout == "key\tpoints\tfirst step\tlast step\tlast\tmin\tmax\n"
    assert "note: redacted metrics batch: record" in metrics.stderr
    log = ok(cli, "log", cwd=ws)
    assert "(redacted by tester at " in log
    assert ": gdpr request 17)" in log
    assert "@example.com" not in log
    assert "2 redacted" in ok(cli, "verify", cwd=ws)


def test_retention_apply(ws: Path, cli: Cli) -> None:
    old, kept = _old_run(ws, "old"), _old_run(ws, "kept")
    _old_run(ws, "recent", started="2999-01-01T00:00:00.000000Z")
    with lineal.open(path=ws) as repo:
        model = repo.record_artifact("model", data=b"weights", name="net")
        repo.link("generated", f"run/{kept}", model)
    (ws / "lineal.toml").write_text(
        '[[retention]]\nname = "old-metrics"\nkind = "metrics"\n'
        'older_than = "90d"\nunless = "registered"\n'
    )
    dry = ok(cli, "retention", "apply", "--dry-run", cwd=ws)
    assert dry.splitlines()[0] == (
        "old-metrics: would erase 1 payload(s) of 1 run(s), 1 kept (unless registered)"
    )
    assert f"of run/{old}" in dry
    assert dry.splitlines()[-1] == "would erase 1 payload(s) in all"
    done = json.loads(ok(cli, "retention", "apply", "--json", cwd=ws))
    assert done["erased"] == 1
    (rule,) = done["rules"]
    assert rule["kept"] == [f"run/{kept}"]
    assert rule["reason"] == (
        "retention rule old-metrics: metrics of runs older than 90d, unless registered"
    )
    again = json.loads(ok(cli, "retention", "apply", "--json", cwd=ws))
    assert again["erased"] == 0  # what went is gone: nothing more to erase
    with lineal.open(path=ws) as repo:
        assert repo.store.metric_series(old) == {}
        assert list(repo.store.metric_series(kept)) == ["loss"]
        assert repo.verify().ok


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            'kind = "params"\nolder_than = "90d"',
            "bad [[retention]] retention-1 kind: 'params'",
        ),
        (
            'kind = "metrics"\nolder_than = "3 months"',
            "bad [[retention]] retention-1 older_than: '3 months'",
        ),
        (
            'name = "m"\nkind = "metrics"\nolder_than = "9d"\nunless = "promoted"',
            "bad [[retention]] m unless: 'promoted'",
        ),
        (
            'name = "m"\nkind = "metrics"\nolder_than = "9d"\nkeep = 3',
            "bad [[retention]] m: unknown keys ['keep']",
        ),
        (
            'name = "m"\nkind = "tags"\nolder_than = "9d"\nwhere = "metrics.acc >"',
            "bad [[retention]] m where: ",
        ),
    ],
)
def test_a_bad_rule_is_one_line_naming_it_and_the_fix(
    ws: Path, cli: Cli, rule: str, expected: str
) -> None:
    (ws / "lineal.toml").write_text("[[retention]]\n" + rule + "\n")
    lines = failure(cli, "retention", "apply", "--dry-run", cwd=ws)
    assert expected in lines[0], lines
    assert lines[1].startswith("hint: ")


def test_no_rules_says_how_to_add_one(ws: Path, cli: Cli) -> None:
    assert failure(cli, "retention", "apply", cwd=ws) == [
        "error: no retention rules",
        "hint: add [[retention]] rules to lineal.toml (see README)",
    ]
