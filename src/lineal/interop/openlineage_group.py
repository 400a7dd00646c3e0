"""Group commit of OpenLineage events: many callers' events, one transaction.

A server takes events from many requests at once; one transaction each would cap it at the
rate the ledger commits (a signed, hash-chained append). ``GroupWriter`` keeps one thread per
store that takes whatever events are waiting, records each in a nested transaction (a bad
event rolls back alone) inside one outer transaction, commits, and only then answers every
caller: an answer still means the events are durable.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lineal.errors import Conflict, InvalidInput
from lineal.interop.openlineage_ingest import IngestResult, record_checked
from lineal.interop.openlineage_plan import Known

if TYPE_CHECKING:
    from lineal.client import Lineal
    from lineal.interop.openlineage_validate import Validator

#: The most events one transaction takes (the rest wait for the next).
GROUP_LIMIT = 512


@dataclass(slots=True)
class _Request:
    events: Sequence[tuple[Mapping[str, Any], str]]  # (event, kind), validated
    sender: str | None
    result: IngestResult
    future: Future[IngestResult] = field(default_factory=Future)


class GroupWriter:
    """Records validated events for many threads, grouped into shared transactions."""

    def __init__(self, repo: Lineal, check: Validator, *, limit: int = GROUP_LIMIT) -> None:
        self.repo, self.check, self.limit = repo, check, limit
        self.known = Known()
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="openlineage-writer", daemon=True)
        self._thread.start()

    def submit(
        self, events: Sequence[tuple[Mapping[str, Any], str]], sender: str | None
    ) -> Future[IngestResult]:
        """Queue validated ``(event, kind)`` pairs; the future holds their result once the
        transaction holding them has committed (or the error that kept it from committing)."""
        request = _Request(
            events=events,
            sender=sender,
            result=IngestResult(validation="full" if self.check.full else "basic"),
        )
        self._queue.put(request)
        return request.future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group, size = [first], len(first.events)
            while size < self.limit:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # finish this group, then stop
                    break
                group.append(more)
                size += len(more.events)
            self._write(group)

    def _write(self, group: list[_Request]) -> None:
        known = Known(base=self.known)
        try:
            with self.repo.atomic():
                for request in group:
                    self._record(request, known)
        except Exception as exc:  # the commit failed: no caller's events are recorded
            for request in group:
                request.future.set_exception(exc)
            return
        self.known.merge(known)
        for request in group:
            request.future.set_result(request.result)

    def _record(self, request: _Request, known: Known) -> None:
        result = request.result
        for index, (event, kind) in enumerate(request.events):
            try:
                status = record_checked(
                    self.repo,
                    event,
                    kind,
                    check=self.check,
                    known=known,
                    result=result,
                    sender=request.sender,
                )
            except (InvalidInput, Conflict) as exc:
                result.outcomes.append({"index": index, "status": "invalid", "error": exc.message})
                continue
            result.outcomes.append({"index": index, "status": status})
