"""A durable outbox for a receiver that may be away: one file per message, sent in order,
retried with backoff, given up after a number of tries with the reason kept.

``outbox/`` holds the messages not yet delivered, each written whole (temp file, fsync,
rename) and named so that names sort in the order they were made. A pass hands them one by
one to a ``deliver`` function (an HTTP post, a command) and deletes each it delivered. A
transient failure stops the pass (the rest wait, in order) and, with a :class:`Retry`, counts
a try in ``NAME.tries`` beside the message and holds it back for a doubling wait; after the
last try it is given up. A permanent refusal, and a message given up, move to ``refused/``
beside an ``.answer.txt`` saying why, never to be retried. ``state.json`` keeps the last
error. One pass at a time per outbox (a lock file). Used by the OpenLineage emitter
(lineal.interop.openlineage_emit) and alerts (lineal.quality.alerts); never prints.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    import httpx

_COUNTER = itertools.count()
_COUNTER_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Retry:
    """How often a message that failed is tried again: ``tries`` in all (None: until it is
    delivered), waiting ``backoff`` seconds before the second, doubling up to ``max_wait``."""

    tries: int | None = None
    backoff: float = 0.0
    max_wait: float = 300.0

    def wait(self, failed: int) -> float:
        """Seconds to hold a message back after its ``failed``-th failed try."""
        return min(self.max_wait, self.backoff * 2.0 ** max(0, failed - 1))

    @property
    def counts(self) -> bool:
        """Whether tries are counted at all (a plain outbox just tries again next pass)."""
        return self.tries is not None or self.backoff > 0


@dataclass(frozen=True, slots=True)
class Answer:
    """What a receiver did with one message: ``sent``, ``refused`` (for good: never retried)
    or ``failed`` (for now: tried again); ``reason`` says why, ``detail`` is kept beside a
    refused message."""

    outcome: str
    reason: str | None = None
    detail: Mapping[str, Any] | None = None


#: Hands one message's bytes to its receiver.
Deliver = Callable[[bytes], Answer]


@dataclass(frozen=True, slots=True)
class PassResult:
    """What one sending pass did (``refused`` counts the messages given up too)."""

    sent: int = 0
    refused: int = 0
    error: str | None = None
    busy: bool = False  # another process was sending: this pass sent nothing
    given_up: int = 0
    #: seconds until the oldest waiting message may be tried again (None: nothing held back)
    retry_in: float | None = None


def post(client: httpx.Client, target: str, body: bytes) -> Answer:
    """Post one JSON message to ``target``: a 2xx delivers it; a network error, a 5xx, 408 or
    429 fails for now; any other 4xx refuses it for good, with the receiver's answer kept."""
    import httpx

    try:
        answer = client.post(target, content=body)
    except httpx.HTTPError as exc:
        return Answer("failed", f"{target}: {type(exc).__name__}: {exc}"[:500])
    if answer.is_success:
        return Answer("sent")
    if 400 <= answer.status_code < 500 and answer.status_code not in (408, 429):
        detail = {"status": answer.status_code, "answer": answer.text[:4000]}
        return Answer("refused", f"HTTP {answer.status_code}", detail)
    return Answer("failed", f"{target}: HTTP {answer.status_code}: {answer.text}"[:500])


def write_whole(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically and durably (temp file, fsync, rename)."""
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
    """The files of one outbox under ``base``."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.pending = base / "outbox"
        self.refused = base / "refused"
        self.state = base / "state.json"

    def put(self, message: Mapping[str, Any], kind: str = "message") -> Path:
        """Write ``message`` (JSON) whole into the outbox; its name sorts after every earlier
        one. ``kind`` ends the file's name, for whoever lists the folder."""
        self.pending.mkdir(parents=True, exist_ok=True)
        with _COUNTER_LOCK:
            number = next(_COUNTER)
        path = self.pending / f"{time.time_ns():020d}-{os.getpid():08d}-{number:08d}-{kind}.json"
        write_whole(path, json.dumps(message, ensure_ascii=False).encode())
        return path

    def waiting(self) -> list[Path]:
        """The messages not yet delivered, oldest first."""
        if not self.pending.is_dir():
            return []
        return sorted(self.pending.glob("*.json"))

    def _oldest(self) -> Path | None:
        waiting = self.waiting()
        return waiting[0] if waiting else None

    def refused_count(self) -> int:
        return len(list(self.refused.glob("*.json"))) if self.refused.is_dir() else 0

    def refusals(self, limit: int = 5) -> list[dict[str, Any]]:
        """Why the newest ``limit`` messages set aside were refused or given up, newest first."""
        if not self.refused.is_dir():
            return []
        found = []
        for path in sorted(self.refused.glob("*.answer.txt"), reverse=True)[:limit]:
            with contextlib.suppress(OSError, ValueError):
                found.append(json.loads(path.read_text(encoding="utf-8")))
        return found

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
            write_whole(self.state, json.dumps({"error": error}).encode())

    def tries(self, path: Path) -> tuple[int, float]:
        """``(failed tries, time.time() before which not to try again)`` of a message."""
        try:
            body = json.loads(path.with_name(path.name + ".tries").read_text(encoding="utf-8"))
            return int(body["tries"]), float(body["next"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0, 0.0

    @contextlib.contextmanager
    def _locked(self) -> Iterator[bool]:
        """Hold the outbox's send lock (True), or say another process holds it (False)."""
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

    def drain(
        self, deliver: Deliver, *, retry: Retry | None = None, deadline: float | None = None
    ) -> PassResult:
        """Hand the waiting messages to ``deliver`` in order until one fails (or is held
        back by its backoff), the outbox is empty or ``deadline`` (a time.monotonic()) has
        passed; a message failing its last try is given up and the pass goes on."""
        retry = retry or Retry()
        with self._locked() as mine:
            if not mine:
                return PassResult(busy=True)
            sent = refused = given_up = 0
            error: str | None = None
            retry_in: float | None = None
            while (path := self._oldest()) is not None:  # what others add meanwhile too
                if deadline is not None and time.monotonic() > deadline:
                    error = error or "stopped: out of time (the rest wait in the outbox)"
                    break
                failed, due = self.tries(path) if retry.counts else (0, 0.0)
                if due > time.time():
                    retry_in, error = due - time.time(), self.last_error()
                    break
                try:
                    body = path.read_bytes()
                except FileNotFoundError:
                    continue  # gone between the listing and the read
                answer = deliver(body)
                if answer.outcome == "sent":
                    self._forget(path)
                    sent += 1
                elif answer.outcome == "refused":
                    self._refuse(path, dict(answer.detail or {"reason": answer.reason}))
                    refused += 1
                elif retry.tries is not None and failed + 1 >= retry.tries:
                    why = {"given_up": True, "tries": failed + 1, "reason": answer.reason}
                    self._refuse(path, why)
                    refused += 1
                    given_up += 1
                    error = f"given up after {failed + 1} tries: {answer.reason}"[:500]
                else:
                    error = (answer.reason or "failed")[:500]
                    if retry.counts:
                        retry_in = retry.wait(failed + 1)
                        self._count(path, failed + 1, time.time() + retry_in, error)
                    break
            self.note_error(error)
            return PassResult(sent, refused, error, False, given_up, retry_in)

    def _count(self, path: Path, tries: int, due: float, error: str) -> None:
        body = {"tries": tries, "next": due, "error": error}
        with contextlib.suppress(OSError):
            write_whole(path.with_name(path.name + ".tries"), json.dumps(body).encode())

    def _forget(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".tries").unlink(missing_ok=True)

    def _refuse(self, path: Path, answer: Mapping[str, Any]) -> None:
        """Move a message that is not to be sent again aside, with why beside it."""
        self.refused.mkdir(parents=True, exist_ok=True)
        write_whole(self.refused / f"{path.stem}.answer.txt", json.dumps(answer).encode())
        path.replace(self.refused / path.name)
        path.with_name(path.name + ".tries").unlink(missing_ok=True)


class _Sends(Protocol):
    """What PerRoot keeps: a sender with its config and its thread to wait for."""

    @property
    def config(self) -> Any: ...

    def wait(self, timeout: float) -> None: ...


S = TypeVar("S", bound=_Sends)


class PerRoot(Generic[S]):
    """This process's senders, one per workspace root, each made again when its config
    changes; at exit they get at most ``wait`` seconds in all to finish, and a forked child
    starts with none (it makes its own when it sends)."""

    def __init__(self, wait: float) -> None:
        self.wait = wait
        self._made: dict[Path, S] = {}
        self._lock = threading.Lock()
        self._hooked = False
        os.register_at_fork(after_in_child=self._forked)

    def get(self, root: Path, config: Any, make: Callable[[], S]) -> tuple[S, bool]:
        """The sender of ``root`` with ``config`` and whether it was made now."""
        with self._lock:
            found = self._made.get(root)
            fresh = found is None or found.config != config
            if found is None or fresh:
                found = self._made[root] = make()
            if not self._hooked:
                atexit.register(self._at_exit)
                self._hooked = True
        return found, fresh

    def _at_exit(self) -> None:
        deadline = time.monotonic() + self.wait
        for made in list(self._made.values()):
            made.wait(max(0.0, deadline - time.monotonic()))

    def _forked(self) -> None:
        self._lock = threading.Lock()  # another thread may have held it at the fork
        self._made.clear()
