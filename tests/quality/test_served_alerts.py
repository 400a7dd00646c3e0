"""Alerts a `lineal server --alerts FILE` sends, whatever its clients' `lineal.toml` says: a
dataset version whose recorded drift names a drifted measure, a promotion that overrode failed
checks (``leakage`` when the failed check is ``no leakage``), a promotion the store refused.
End to end through a real server process and a real command hook; the findings themselves on
decoded batches."""

from __future__ import annotations

import json
import shlex
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from lineal.client import Lineal
from lineal.quality.drift_record import TAG
from lineal.quality.served_alerts import findings, worth_a_look
from lineal.registry.grants import apply
from lineal.registry.promote import promote
from lineal.store.registry import create_project
from server_process import start_server, stop
from shared_data import SHARED_DATA

if TYPE_CHECKING:
    from conftest import Cli

pytest.importorskip("scipy")

COCO = SHARED_DATA / (
    "coco/rafaelpadilla__review_object_detection_metrics/data/database/gts/coco_format_v1/"
    "instances_default.json"
)


def _hook(tmp_path: Path) -> tuple[Path, Path]:
    """An alerts file whose command appends each alert to a file; (alerts file, that file)."""
    got = tmp_path / "got.jsonl"
    hook = tmp_path / "hook.py"
    hook.write_text(
        "import sys, pathlib\n"
        f"with pathlib.Path({str(got)!r}).open('a') as out:\n"
        "    out.write(sys.stdin.read().replace('\\n', ' ') + '\\n')\n"
    )
    alerts = tmp_path / "alerts.toml"
    command = shlex.join([sys.executable, str(hook)])
    alerts.write_text(f"[alerts]\ncommand = {json.dumps(command)}\n")
    return alerts, got


def _received(got: Path, count: int, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if got.exists() and len(lines := got.read_text().splitlines()) >= count:
            return [json.loads(line) for line in lines]
        time.sleep(0.1)
    raise AssertionError(
        f"{count} alert(s) did not arrive: {got.read_text() if got.exists() else ''}"
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, Path, Path]]:
    """A `lineal server --alerts FILE`: (base, url, alerts file, where the hook writes)."""
    alerts, got = _hook(tmp_path)
    base = f"sqlite:///{tmp_path / 'projects'}"
    proc, url = start_server(base, tmp_path, args=["--alerts", str(alerts)])
    try:
        yield base, url, alerts, got
    finally:
        stop(proc)


@pytest.mark.usefixtures("shared_data")
def test_the_server_alerts_on_drift_its_clients_record(
    served: tuple[str, str, Path, Path], lineal_cli: Cli, tmp_path: Path
) -> None:
    base, url, alerts, got = served
    name = f"a{uuid.uuid4().hex[:10]}"
    create_project(base, name)
    ws = tmp_path / "ws"
    ws.mkdir()
    env = {"LINEAL_SPOOL": str(tmp_path / "spool")}

    def cli(*args: str, code: int = 0) -> str:
        done = lineal_cli(*args, cwd=ws, env=env)
        assert done.returncode == code, (args, done.stdout, done.stderr)
        return str(done.stdout)

    cli("init", "--agent", "alice", "--uri", f"{url}/projects/{name}")
    document = json.loads(COCO.read_text())
    (ws / "data").mkdir()
    (ws / "data/instances.json").write_text(json.dumps(document))
    cli("add", "data", "--name", "x")  # no lineal.toml here: the client alerts nobody
    for category in document["categories"]:
        if category["name"] == "cat":
            category["name"] = "kitten"
    (ws / "data/instances.json").write_text(json.dumps(document))
    cli("add", "data", "--name", "x")
    (alert,) = _received(got, 1)
    assert (alert["kind"], alert["store"]) == ("drift", name)
    finding = alert["finding"]
    assert finding["subject"] == "dataset/x@v2"
    assert "schema" in finding["findings"][0]["drifted"]
    assert "(added by alice)" in finding["message"]
    waiting = lineal_cli(
        "server", "alerts", "--alerts", str(alerts), "--uri", base, "--json", cwd=tmp_path
    )
    assert waiting.returncode == 0, waiting.stderr
    (sink,) = json.loads(waiting.stdout)
    assert (sink["sink"], sink["pending"], sink["given_up"]) == ("command", 0, 0)


def test_a_bad_alerts_file_stops_the_server_in_one_line(lineal_cli: Cli, tmp_path: Path) -> None:
    base = f"sqlite:///{tmp_path / 'projects'}"
    for text, said in (
        (None, "cannot read"),
        ("[alerts\n", "is not TOML"),
        ("[drift]\nclass_js = 0.2\n", "has no [alerts] table"),
        ('[alerts]\nwebhook = "ftp://x"\n', "bad [alerts] webhook"),
    ):
        path = tmp_path / "alerts.toml"
        path.unlink(missing_ok=True)
        if text is not None:
            path.write_text(text)
        done = lineal_cli("server", "--uri", base, "--alerts", str(path), cwd=tmp_path)
        assert done.returncode != 0
        assert said in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


POLICY = "[policy.production]\nno_leakage = true\ndeny_classifications = ['pii']\n"


def _batches(repo: Lineal, after: int) -> list[Any]:
    """The records after seq ``after`` as one decoded batch per author."""
    rows = repo.store.records(after=after)
    return [(row.author, [(row.op, json.loads(row.payload or b"null"))]) for row in rows]


def test_findings_in_batches(ws: Path) -> None:
    (ws / "lineal.toml").write_text(POLICY)
    with Lineal.open(path=ws) as repo:
        apply(repo)
        raw = repo.record_artifact("dataset", data=b"faces", name="raw")
        train = repo.start_run("train")
        model = repo.record_artifact("model", data=b"w", name="det")
        repo.link("used", raw, train, role="train")
        repo.link("generated", train, model)
        repo.set_tag(raw, "classification", "pii")
        head = repo.store.head()[0]
        promote(repo, "det@v1", "production", "legal cleared it", override=True)
        repo.set_tag(raw, TAG, json.dumps({"from": "dataset/raw@v0", "drifted": ["class_js"]}))
        repo.set_tag(raw, TAG, "not a fact")
        repo.set_tag(raw, "owner", "vision")
        batches = _batches(repo, head)
        ok = [{"ok": True}] * len(batches)
        found = findings(repo, batches, ok)
        assert [(one.kind, one.subject) for one in found] == [
            ("policy", "model/det:production"),
            ("drift", "dataset/raw@v1"),
        ]
        assert (
            "model/det@v1 promoted to production by tester overriding 1 failed" in found[0].message
        )
        assert "classifications: " in found[0].message
        assert found[1].message.startswith("dataset/raw@v1: drift from dataset/raw@v0: class_js")
        # The same promotion refused by the store: a policy alert naming the refusal.
        refused = findings(repo, batches[:1], [{"ok": False, "error": "checks disagree"}])
        assert [(one.kind, one.message) for one in refused] == [
            (
                "policy",
                "model/det:production: a promotion by tester was refused: checks disagree",
            )
        ]
        # A failed no-leakage check overridden is a leakage alert.
        author, [(op, payload)] = batches[0]
        payload["checks"] = [{"check": "no leakage", "passed": False, "detail": "2 files"}]
        (leak,) = findings(repo, [(author, [(op, payload)])], ok[:1])
        assert leak.kind == "leakage"
    assert worth_a_look(b'{"records":[{"op":"tag.set"}]}')
    assert not worth_a_look(b'{"records":[{"op":"metrics.batch"}]}')
