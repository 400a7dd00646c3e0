"""The emitter's durable outbox under `.lineal/openlineage/`: one file per event, sent in order.

``outbox/`` holds the events not yet accepted, each written whole (temp file, fsync, rename)
and named so that names sort in the order the events were made. A pass posts them one by one
and deletes each on a 2xx; a network error or a 5xx stops the pass (the rest wait, in order,
for the next); a 4xx moves the event to ``refused/`` beside the receiver's answer, never to be
retried. ``state.json`` keeps the last error. One pass at a time per workspace (a lock file).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineal.errors import InvalidInput
from lineal.settings import OpenLineageConfig

_COUNTER = itertools.count()
_COUNTER_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class PassResult:
    """What one sending pass did."""

    sent: int = 0
    refused: int = 0
    error: str | None = None
    busy: bool = False  # another process was sending: this pass sent nothing


def _write_whole(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
    with contextlib.suppress(OSError):  # the rename itself durable (not on every platform)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


class Outbox:
    """The files of one workspace's emitter (``root``: its `.lineal/` folder)."""

    def __init__(self, root: Path) -> None:
        self.base = root / "openlineage"
        self.pending = self.base / "outbox"
        self.refused = self.base / "refused"
        self.state = self.base / "state.json"

    def put(self, event: Mapping[str, Any]) -> Path:
        """Write ``event`` whole into the outbox; its name sorts after every earlier one."""
        self.pending.mkdir(parents=True, exist_ok=True)
        with _COUNTER_LOCK:
            number = next(_COUNTER)
        kind = str(event.get("eventType", "event")).lower()
        path = self.pending / f"{time.time_ns():020d}-{os.getpid():08d}-{number:08d}-{kind}.json"
        _write_whole(path, json.dumps(event, ensure_ascii=False).encode())
        return path

    def waiting(self) -> list[Path]:
        """The events not yet accepted, oldest first."""
        if not self.pending.is_dir():
            return []
        return sorted(self.pending.glob("*.json"))

    def _oldest(self) -> Path | None:
        waiting = self.waiting()
        return waiting[0] if waiting else None

    def refused_count(self) -> int:
        return len(list(self.refused.glob("*.json"))) if self.refused.is_dir() else 0

    def last_error(self) -> str | None:
        try:
            found = json.loads(self.state.read_text(encoding="utf-8")).get("error")
        except (OSError, ValueError, AttributeError):
            return None
        return found if isinstance(found, str) else None

    def note_error(self, error: str | None) -> None:
        """Keep the last error of a pass (None: the last pass delivered everything)."""
        if error == self.last_error() and (error is not None or self.state.exists()):
            return  # unchanged: no write (a receiver that stays away is asked often)
        with contextlib.suppress(OSError):
            self.base.mkdir(parents=True, exist_ok=True)
            _write_whole(self.state, json.dumps({"error": error}).encode())

    @contextlib.contextmanager
    def _locked(self) -> Iterator[bool]:
        """Hold the workspace's send lock (True), or say another process holds it (False)."""
        import fcntl

        self.base.mkdir(parents=True, exist_ok=True)
        with (self.base / "send.lock").open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def send(self, config: OpenLineageConfig, *, deadline: float | None = None) -> PassResult:
        """Post the waiting events in order until one fails, the outbox is empty or
        ``deadline`` (a time.monotonic()) has passed."""
        import httpx

        with self._locked() as mine:
            if not mine:
                return PassResult(busy=True)
            try:
                headers = _headers(config)
            except InvalidInput as exc:
                self.note_error(exc.message)
                return PassResult(error=exc.message)
            sent = refused = 0
            error: str | None = None
            with httpx.Client(timeout=config.timeout, headers=headers) as client:
                while (path := self._oldest()) is not None:  # what others add meanwhile too
                    if deadline is not None and time.monotonic() > deadline:
                        error = error or "stopped: out of time (the rest wait in the outbox)"
                        break
                    try:
                        body = path.read_bytes()
                    except FileNotFoundError:
                        continue  # gone between the listing and the read
                    try:
                        answer = client.post(config.target, content=body)
                    except httpx.HTTPError as exc:
                        error = f"{config.target}: {type(exc).__name__}: {exc}"[:500]
                        break
                    if answer.is_success:
                        path.unlink(missing_ok=True)
                        sent += 1
                    elif 400 <= answer.status_code < 500 and answer.status_code not in (408, 429):
                        self._refuse(path, answer.status_code, answer.text)
                        refused += 1
                    else:
                        error = f"{config.target}: HTTP {answer.status_code}: {answer.text}"[:500]
                        break
            self.note_error(error)
            return PassResult(sent=sent, refused=refused, error=error)

    def _refuse(self, path: Path, status: int, text: str) -> None:
        """Move an event the receiver refused aside, with its answer beside it."""
        self.refused.mkdir(parents=True, exist_ok=True)
        answer = {"status": status, "answer": text[:4000]}
        _write_whole(self.refused / f"{path.stem}.answer.txt", json.dumps(answer).encode())
        path.replace(self.refused / path.name)


def _headers(config: OpenLineageConfig) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    key = config.api_key
    if config.api_key_env is not None:
        key = os.environ.get(config.api_key_env)
        if not key:
            raise InvalidInput(
                f"[openlineage] api_key_env: the environment variable {config.api_key_env} "
                "is not set",
                hint="set it, or remove api_key_env from lineal.toml",
            )
    if key:
        headers["authorization"] = f"Bearer {key}"
    return headers
