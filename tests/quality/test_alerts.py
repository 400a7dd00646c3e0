"""Alerts (lineal.quality.alerts): a webhook on a real HTTP server on 127.0.0.1 that fails and
recovers, refuses, or never answers in time; a command hook run as a real subprocess; retries
with backoff, giving up with the reason kept; and a refused promotion alerting."""

from __future__ import annotations

import json
import shlex
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.quality import alerts


@dataclass(frozen=True)
class Finding:
    kind: str = "drift"
    detail: str = "class balance moved"

    def as_dict(self) -> dict[str, Any]:
        return {"dataset": "dataset/x@v2", "detail": self.detail}


@dataclass
class Receiver:
    """A webhook on 127.0.0.1: answers each POST with the next status of ``statuses`` (the
    last one from then on), after ``gate`` is set."""

    statuses: list[int]
    url: str = ""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    delivered: threading.Event = field(default_factory=threading.Event)
    gate: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(statuses=[200])
    state.gate.set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            state.gate.wait(30)
            status = state.statuses[min(len(state.answered), len(state.statuses) - 1)]
            state.answered.append(status)
            state.bodies.append(body)
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b'{"ok": false}' if status >= 400 else b"{}")
            if status < 300:
                state.delivered.set()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.gate.set()
        server.shutdown()
        server.server_close()


def _open(ws: Path, table: str) -> Lineal:
    (ws / "lineal.toml").write_text(f"[alerts]\n{table}\n")
    return Lineal.open(path=ws)


def _settle(repo: Lineal) -> alerts.Sender:
    """The sender, once its thread has nothing more to do."""
    made = alerts.sender(repo)
    assert made is not None
    made.wait(30)
    return made


def test_a_webhook_that_fails_then_recovers_gets_the_alert(ws: Path, receiver: Receiver) -> None:
    receiver.statuses = [503, 500, 200]
    with _open(ws, f'webhook = "{receiver.url}"\nbackoff = 0.05\ntries = 5') as repo:
        written = alerts.notify(Finding(), repo)
        assert len(written) == 1
        assert written[0].parent == ws / ".lineal/alerts/webhook/outbox"
        assert receiver.delivered.wait(30)
        made = _settle(repo)
        (found,) = alerts.status(repo)
    assert receiver.answered == [503, 500, 200]  # retried with backoff until delivered
    body = receiver.bodies[-1]
    assert (body["kind"], body["finding"]) == ("drift", Finding().as_dict())
    assert body["store"].startswith("sqlite:///") or body["store"].startswith("http")
    assert receiver.bodies[0]["alert"] == body["alert"]  # one alert, tried three times
    assert made.outboxes["webhook"].waiting() == []
    assert (found.pending, found.given_up, found.error) == (0, 0, None)


def test_an_alert_is_given_up_after_its_tries_with_the_reason_kept(
    ws: Path, receiver: Receiver
) -> None:
    receiver.statuses = [500]
    with _open(ws, f'webhook = "{receiver.url}"\nbackoff = 0.01\ntries = 3') as repo:
        alerts.notify(Finding(), repo)
        made = _settle(repo)
        (found,) = alerts.status(repo)
    assert receiver.answered == [500, 500, 500]
    box = made.outboxes["webhook"]
    assert box.waiting() == []
    (answer,) = [json.loads(p.read_text()) for p in box.refused.glob("*.answer.txt")]
    assert answer["given_up"] is True
    assert answer["tries"] == 3
    assert "HTTP 500" in answer["reason"]
    assert (found.pending, found.given_up) == (0, 1)
    assert found.error is not None
    assert found.error.startswith("given up after 3 tries")


def test_a_refusing_webhook_is_not_asked_again(ws: Path, receiver: Receiver) -> None:
    receiver.statuses = [422]
    with _open(ws, f'webhook = "{receiver.url}"\nbackoff = 0.01') as repo:
        alerts.notify(Finding(), repo)
        made = _settle(repo)
    assert receiver.answered == [422]
    (answer,) = [json.loads(p.read_text()) for p in made.outboxes["webhook"].refused.glob("*.txt")]
    assert answer == {"status": 422, "answer": '{"ok": false}'}


def test_a_slow_receiver_never_blocks_the_caller(ws: Path, receiver: Receiver) -> None:
    receiver.gate.clear()  # the receiver holds every answer until released
    with _open(ws, f'webhook = "{receiver.url}"') as repo:
        started = time.monotonic()
        alerts.notify(Finding(kind="leakage"), repo)
        alerts.notify(Finding(kind="validation"), repo)
        assert time.monotonic() - started < 1.0
        made = alerts.sender(repo)
        assert made is not None
        assert len(made.outboxes["webhook"].waiting()) >= 1
        receiver.gate.set()
        _settle(repo)
    assert [b["kind"] for b in receiver.bodies] == ["leakage", "validation"]  # in order


def _hook(tmp_path: Path, code: str) -> str:
    script = tmp_path / "hook.py"
    script.write_text(code)
    return shlex.join([sys.executable, str(script)])


def test_the_command_hook_gets_the_alert_on_stdin(ws: Path, tmp_path: Path) -> None:
    got = tmp_path / "got.json"
    code = f"import sys, pathlib; pathlib.Path({str(got)!r}).write_bytes(sys.stdin.buffer.read())"
    command = _hook(tmp_path, code)
    with _open(ws, f'command = {json.dumps(command)}\nkinds = ["drift"]') as repo:
        assert alerts.notify(Finding(kind="policy"), repo) == []  # a kind left out
        alerts.notify(Finding(), repo)
        _settle(repo)
    body = json.loads(got.read_text())
    assert (body["kind"], body["finding"]["detail"]) == ("drift", "class balance moved")


def test_a_failing_command_is_retried_then_given_up(ws: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs.txt"
    code = (
        f"import sys; open({str(runs)!r}, 'a').write('x')\n"
        "sys.stderr.write('no route to the pager\\n'); sys.exit(3)\n"
    )
    command = _hook(tmp_path, code)
    with _open(ws, f"command = {json.dumps(command)}\nbackoff = 0.01\ntries = 2") as repo:
        alerts.notify(Finding(), repo)
        made = _settle(repo)
        (found,) = alerts.status(repo)
    assert runs.read_text() == "xx"
    (answer,) = [json.loads(p.read_text()) for p in made.outboxes["command"].refused.glob("*.txt")]
    assert answer["reason"].endswith("exited 3: no route to the pager")
    assert found.given_up == 1


def test_a_bad_table_never_fails_notify_but_is_reported(ws: Path) -> None:
    with _open(ws, 'webhook = "ftp://nowhere"') as repo:
        assert alerts.notify(Finding(), repo) == []
        with pytest.raises(InvalidInput, match=r"bad \[alerts\] webhook"):
            alerts.status(repo)
    state = json.loads((ws / ".lineal/alerts/state.json").read_text())
    assert "not an http:// or https:// URL" in state["error"]


def test_no_alerts_table_sends_nothing(ws: Path) -> None:
    with Lineal.open(path=ws) as repo:
        assert alerts.notify(Finding(), repo) == []
        assert alerts.status(repo) == []
    assert not (ws / ".lineal/alerts").exists()


def test_a_refused_promotion_alerts(ws: Path, tmp_path: Path) -> None:
    from lineal.registry.grants import apply
    from lineal.registry.promote import PolicyRefused, promote

    got = tmp_path / "got.json"
    code = f"import sys, pathlib; pathlib.Path({str(got)!r}).write_bytes(sys.stdin.buffer.read())"
    (ws / "lineal.toml").write_text(
        '[policy.production]\ndeny_classifications = ["pii"]\n\n'
        f"[alerts]\ncommand = {json.dumps(_hook(tmp_path, code))}\n"
    )
    with Lineal.open(path=ws) as repo:
        apply(repo)
        raw = repo.record_artifact("dataset", data=b"faces", name="raw")
        train = repo.start_run("train")
        repo.link("used", raw, train, role="train")
        repo.link("generated", train, repo.record_artifact("model", data=b"w", name="det"))
        repo.set_tag(raw, "classification", "pii")
        with pytest.raises(PolicyRefused):
            promote(repo, "det@v1", "production", "ship it")
        _settle(repo)
    body = json.loads(got.read_text())
    assert body["kind"] == "policy"
    assert (body["finding"]["ref"], body["finding"]["alias"]) == ("model/det@v1", "production")
    (failed,) = body["finding"]["failed"]
    assert failed["check"] == "classifications"
    assert failed["detail"] == "model/det@v1 carries pii from dataset/raw@v1 (2 edges up)"
