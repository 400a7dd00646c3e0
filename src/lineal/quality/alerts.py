"""Alerts: findings (validation, leakage, drift, policy violations) sent to the command and the
webhook that `lineal.toml`'s ``[alerts]`` names.

:func:`notify` only writes the alert into a durable outbox per receiver under
`.lineal/alerts/` (lineal.outbox) and wakes a daemon thread that delivers it: a receiver
that is slow, failing or away never blocks or fails the write that found something, and a
failure is retried with backoff and given up after ``tries`` with the reason kept (in
`.lineal/alerts/RECEIVER/refused/`). At exit the thread gets at most ``EXIT_WAIT`` seconds;
what is left waits for the next alert or `lineal alerts --send`. Never prints.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from lineal.outbox import Answer, Outbox, PerRoot, Retry, post
from lineal.quality import alerts_config
from lineal.quality.alerts_config import KINDS, AlertsConfig

if TYPE_CHECKING:
    from lineal.client import Lineal
    from lineal.workspace import Workspace

#: How long a process's exit waits for the sending thread, at most.
EXIT_WAIT = 2.0
#: The longest the sending thread sleeps for a backoff before it looks again.
MAX_SLEEP = 30.0


class Finding(Protocol):
    """What can alert: a ``kind`` (one of KINDS) and one ``as_dict()``."""

    @property
    def kind(self) -> str: ...

    def as_dict(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Alert:
    """A finding to alert about: its ``kind`` (one of KINDS), what it is about, one line, and
    the findings behind it (each an ``as_dict()``)."""

    kind: str
    subject: str
    message: str
    findings: tuple[Mapping[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "message": self.message,
            "findings": [dict(one) for one in self.findings],
        }


def message(finding: Finding, store: str | None = None) -> dict[str, Any]:
    """The alert's JSON: what is sent to each receiver."""
    from ulid import ULID

    return {
        "alert": str(ULID()),
        "kind": finding.kind,
        "time": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "store": store,
        "finding": dict(finding.as_dict()),
    }


def _run_command(argv: tuple[str, ...], timeout: float, body: bytes) -> Answer:
    """Run the hook with the alert on stdin: exit status 0 delivers it."""
    try:
        done = subprocess.run(  # noqa: S603 - the project's own lineal.toml names it
            argv, input=body, capture_output=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        return Answer("failed", f"command {argv[0]!r} not found")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Answer("failed", f"command {argv[0]!r}: {exc}")
    if done.returncode == 0:
        return Answer("sent")
    said = done.stderr.decode("utf-8", "replace").strip().splitlines()
    why = f"command {argv[0]!r} exited {done.returncode}"
    return Answer("failed", f"{why}: {said[-1][:300]}" if said else why)


class Sender:
    """One workspace's alert receivers: their outboxes and the sending thread."""

    def __init__(self, config: AlertsConfig, root: Path) -> None:
        self.config = config
        self.outboxes = {sink: Outbox(root / "alerts" / sink) for sink in config.sinks}
        self.retry = Retry(tries=config.tries, backoff=config.backoff)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False

    def put(self, alert: Mapping[str, Any]) -> list[Path]:
        return [box.put(alert, str(alert["kind"])) for box in self.outboxes.values()]

    def send(self, sink: str, deadline: float | None = None) -> tuple[int, float | None, bool]:
        """One pass over ``sink``'s outbox: (delivered, seconds until a held-back alert is
        due, whether another process was sending)."""
        config = self.config
        if sink == "command":
            assert config.command is not None  # noqa: S101 - a sink only when set
            argv = config.command
            found = self.outboxes[sink].drain(
                lambda body: _run_command(argv, config.timeout, body),
                retry=self.retry,
                deadline=deadline,
            )
        else:
            import httpx

            assert config.webhook is not None  # noqa: S101
            target = config.webhook
            headers = {"content-type": "application/json"}
            with httpx.Client(timeout=config.timeout, headers=headers) as client:
                found = self.outboxes[sink].drain(
                    lambda body: post(client, target, body), retry=self.retry, deadline=deadline
                )
        return found.sent, found.retry_in, found.busy

    def kick(self) -> None:
        """Deliver what waits, in a daemon thread (one at a time; a kick while it runs makes
        it take another pass)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._again = True
                return
            self._again = False
            self._thread = threading.Thread(target=self._loop, name="lineal-alerts", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            due: list[float] = []
            for sink in self.outboxes:
                with contextlib.suppress(Exception):  # never let the thread die noisily
                    _, retry_in, busy = self.send(sink)
                    if retry_in is not None:
                        due.append(retry_in)
                    elif busy:
                        due.append(0.1)  # another process's pass: ours then sends what it left
            with self._lock:
                if not due and not self._again:
                    self._thread = None
                    return
                self._again = False
            time.sleep(min(MAX_SLEEP, *due) if due else 0)

    def wait(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the sending thread."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)


_SENDERS: PerRoot[Sender] = PerRoot(EXIT_WAIT)
_exit_hook = False


def _workspace(repo: Lineal | None) -> Workspace | None:
    if repo is not None:
        return repo.workspace
    from lineal import workspace

    try:
        return workspace.locate()
    except Exception:
        return None


def sender(repo: Lineal | None = None) -> Sender | None:
    """The alert sender of ``repo``'s workspace (or the one here), None without ``[alerts]``;
    InvalidInput, one line, for a bad table."""
    found = _workspace(repo)
    config = alerts_config.load(found)
    if config is None or found is None or found.root is None:
        return None
    root = found.root
    return _SENDERS.get(root, config, lambda: Sender(config, root))[0]


def sender_at(config: AlertsConfig, root: Path) -> Sender:
    """This process's sender to ``config``'s receivers, outboxes under ``root / "alerts"``."""
    return _SENDERS.get(root, config, lambda: Sender(config, root))[0]


def notify(finding: Finding, repo: Lineal | None = None) -> list[Path]:
    """Queue an alert about ``finding`` for each receiver `lineal.toml`'s ``[alerts]`` names
    (``repo``'s workspace, else the one here) and wake the sender; the files written (none
    without ``[alerts]``, or for a kind it leaves out). Never raises and never waits for a
    receiver: a failure is kept as the receiver's last error (`lineal alerts`)."""
    root = None
    with contextlib.suppress(Exception):
        found = _workspace(repo)
        root = found.root if found is not None else None
    try:
        made = sender(repo)
        if made is None:
            return []
        return _queue(made, finding, repo.store.uri if repo is not None else None)
    except Exception as exc:
        note_error(root, exc)
        return []


def notify_to(
    config: AlertsConfig, root: Path, finding: Finding, store: str | None = None
) -> list[Path]:
    """:func:`notify` for a process with no workspace: the receivers ``config`` names, their
    outboxes under ``root / "alerts"`` (`lineal server --alerts FILE`). Never raises."""
    try:
        return _queue(sender_at(config, root), finding, store)
    except Exception as exc:
        note_error(root, exc)
        return []


def _queue(made: Sender, finding: Finding, store: str | None) -> list[Path]:
    if finding.kind not in KINDS:
        raise ValueError(f"unknown finding kind {finding.kind!r}: expected {', '.join(KINDS)}")
    if finding.kind not in made.config.kinds:
        return []
    written = made.put(message(finding, store))
    made.kick()
    return written


def note_error(root: Path | None, exc: Exception) -> None:
    """Keep ``exc`` as the last error of the outboxes under ``root`` (`lineal alerts` says it)."""
    if root is not None:
        with contextlib.suppress(Exception):
            Outbox(root / "alerts").note_error(f"alert not queued: {exc}"[:500])


@dataclass(frozen=True, slots=True)
class SinkStatus:
    """What waits for one receiver (`lineal alerts`)."""

    sink: str
    target: str
    pending: int
    given_up: int
    error: str | None
    sent: int = 0
    #: why the newest alerts given up were (at most five, newest first)
    reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "sink": self.sink,
            "target": self.target,
            "pending": self.pending,
            "given_up": self.given_up,
            "error": self.error,
            "sent": self.sent,
            "given_up_reasons": list(self.reasons),
        }


def status(repo: Lineal, *, send: bool = False, timeout: float | None = None) -> list[SinkStatus]:
    """Each receiver's waiting and given-up alerts and last error; with ``send``, one pass
    each first (for up to ``timeout`` seconds; an alert held back by its backoff waits)."""
    made = sender(repo)
    return [] if made is None else sink_status(made, send=send, timeout=timeout)


def sink_status(
    made: Sender, *, send: bool = False, timeout: float | None = None
) -> list[SinkStatus]:
    """:func:`status` of the receivers ``made`` sends to."""
    deadline = None if timeout is None else time.monotonic() + timeout
    found = []
    for sink, box in made.outboxes.items():
        sent = made.send(sink, deadline)[0] if send else 0
        target = made.config.webhook if sink == "webhook" else " ".join(made.config.command or ())
        waiting, given_up = len(box.waiting()), box.refused_count()
        reasons = tuple(str(one.get("reason") or one.get("answer")) for one in box.refusals())
        found.append(
            SinkStatus(sink, str(target), waiting, given_up, box.last_error(), sent, reasons)
        )
    return found
