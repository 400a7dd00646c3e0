"""The OpenLineage emitter: runs' START and COMPLETE/FAIL/ABORT events, sent as runs happen.

With ``[openlineage] url = …`` in `lineal.toml`, a run tracked by the SDK (``lineal.start_run``,
``@lineal.step``, ``lineal run -- CMD``) puts its events (lineal.interop.openlineage_export's
``run_events``, exactly what `lineal export openlineage` writes) into the workspace's durable
outbox when it starts and when it ends (openlineage_emit_outbox). A daemon thread posts them;
the run's own calls only write files, so a receiver that is slow or away never blocks or fails
training. At exit the thread gets at most ``EXIT_WAIT`` seconds; what is left waits for the
next run's start or `lineal sync`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lineal import settings
from lineal.interop import openlineage_map as m
from lineal.interop.openlineage_emit_outbox import Outbox, PassResult
from lineal.outbox import PerRoot

if TYPE_CHECKING:
    from lineal.client import Lineal
    from lineal.model.entities import Run

#: How long a process's exit waits for the sending thread, at most.
EXIT_WAIT = 2.0
#: How long the sending thread waits for another process's pass to end before giving up.
BUSY_WAIT = 60.0


@dataclass(frozen=True, slots=True)
class EmitStatus:
    """What waits for the OpenLineage receiver (`lineal sync --status`)."""

    target: str
    pending: int
    refused: int
    error: str | None
    sent: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "pending": self.pending,
            "refused": self.refused,
            "error": self.error,
            "sent": self.sent,
        }


class Emitter:
    """One workspace's emitter: its settings, outbox and sending thread."""

    def __init__(self, config: settings.OpenLineageConfig, outbox: Outbox) -> None:
        self.config = config
        self.outbox = outbox
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False
        self._queued: dict[str, set[str]] = {}  # run id -> event types already in the outbox

    def run_changed(self, repo: Lineal, run: Run, *, ended: bool = False) -> None:
        """Put the events of ``run`` (as the SDK recorded it: a server may not have had its
        start or finish yet) not yet queued into the outbox and wake the sender. Never
        raises: a failure is kept as the last error for `lineal sync --status`."""
        run_id = run.id
        try:
            from lineal.interop.openlineage_export import run_events

            events = run_events(repo, run)  # from this record, not the store's
        except Exception as exc:
            with contextlib.suppress(Exception):
                self.outbox.note_error(f"run/{run_id}: events not built: {exc}"[:500])
            if ended:  # nothing more will come for this run
                self._queued.pop(run_id, None)
            return
        queued = self._queued.setdefault(run_id, set())
        try:
            for event in events:
                kind = str(event["eventType"])
                if kind not in queued:
                    self.outbox.put(self._renamed(event))
                    queued.add(kind)
        except OSError as exc:
            with contextlib.suppress(Exception):
                self.outbox.note_error(f"the outbox {self.outbox.pending}: {exc}"[:500])
        finally:
            if ended:
                self._queued.pop(run_id, None)
        self.kick()

    def _renamed(self, event: dict[str, Any]) -> dict[str, Any]:
        """The event with lineal's own job namespace replaced by ``[openlineage] namespace``."""
        namespace = self.config.namespace
        if namespace is None:
            return event
        job = event.get("job")
        if isinstance(job, dict) and job.get("namespace") == m.NAMESPACE:
            event["job"] = {**job, "namespace": namespace}
        facets = event.get("run", {}).get("facets", {})
        parent = facets.get("parent") if isinstance(facets, dict) else None
        if isinstance(parent, dict) and parent.get("job", {}).get("namespace") == m.NAMESPACE:
            parent["job"] = {**parent["job"], "namespace": namespace}
        return event

    def kick(self) -> None:
        """Send what waits, in a daemon thread (one at a time; a kick while it runs makes it
        take another pass)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._again = True
                return
            self._again = False
            self._thread = threading.Thread(
                target=self._loop, name="lineal-openlineage", daemon=True
            )
            self._thread.start()

    def _loop(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # never let the thread die noisily
                give_up = time.monotonic() + BUSY_WAIT
                while self.outbox.send(self.config).busy and time.monotonic() < give_up:
                    time.sleep(0.1)  # another process's pass: ours then sends what it left
            with self._lock:
                if not self._again:
                    self._thread = None
                    return
                self._again = False

    def wait(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the sending thread."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)


_EMITTERS: PerRoot[Emitter] = PerRoot(EXIT_WAIT)


def for_repo(repo: Lineal) -> Emitter | None:
    """The emitter of ``repo``'s workspace (None without ``[openlineage]``, or without a
    `.lineal/` folder); InvalidInput, one line, for a bad table. Called when a run starts,
    before anything is recorded, which also sends what an earlier process left."""
    found = repo.workspace
    config = settings.load_openlineage(found)
    if config is None or found is None or found.root is None:
        return None
    root = found.root
    emitter, fresh = _EMITTERS.get(root, config, lambda: Emitter(config, Outbox(root)))
    if fresh:
        emitter.kick()  # what an earlier process left, first
    return emitter


def status(repo: Lineal) -> EmitStatus | None:
    """What waits in the outbox (None when the workspace has no ``[openlineage]``)."""
    found = repo.workspace
    config = settings.load_openlineage(found)
    if config is None or found is None or found.root is None:
        return None
    outbox = Outbox(found.root)
    return EmitStatus(
        target=config.target,
        pending=len(outbox.waiting()),
        refused=outbox.refused_count(),
        error=outbox.last_error(),
    )


def sync(repo: Lineal, timeout: float | None = None) -> EmitStatus | None:
    """Send what waits in the outbox now (for up to ``timeout`` seconds) and say what is left;
    None when the workspace has no ``[openlineage]``."""
    found = repo.workspace
    config = settings.load_openlineage(found)
    if config is None or found is None or found.root is None:
        return None
    outbox = Outbox(found.root)
    deadline = None if timeout is None else time.monotonic() + timeout
    result = PassResult(busy=True)
    while result.busy:  # another process is sending: wait for its pass, then take ours
        result = outbox.send(config, deadline=deadline)
        if result.busy and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.05)
        elif result.busy:
            break
    left = status(repo)
    assert left is not None  # noqa: S101 - the same settings, read again
    return EmitStatus(
        target=left.target,
        pending=left.pending,
        refused=left.refused,
        error=left.error,
        sent=result.sent,
    )


def describe(found: Mapping[str, Any]) -> str:
    """One line of `lineal sync` for the emitter's state (an EmitStatus's as_dict())."""
    waiting, target = found["pending"], found["target"]
    line = (
        f"{waiting} OpenLineage events pending for {target}"
        if waiting
        else f"no OpenLineage events pending for {target}"
    )
    if found["refused"]:
        line += f"; {found['refused']} refused (see .lineal/openlineage/refused/)"
    return line
