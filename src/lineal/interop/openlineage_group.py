"""Group commit of OpenLineage events: many callers' events, one transaction.

A server takes events from many requests at once; one transaction each would cap it at the
rate the ledger commits (a signed, hash-chained append). ``GroupWriter`` keeps one thread per
store that takes whatever events are waiting, records each in a nested transaction (a bad
event rolls back alone) inside one outer transaction, commits, and only then answers every
caller: an answer still means the events are durable.

A request may come with its admission still to check (a server's token check): the writer
asks it once per group, just before the group's transaction, each credential read once.
"""

from __future__ import annotations

import copy
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lineal.errors import Conflict, InvalidInput, LinealError, NotFound
from lineal.interop.openlineage_ingest import (
    IngestResult,
    count_event,
    is_duplicate,
    record_checked,
)
from lineal.interop.openlineage_map import event_digest
from lineal.interop.openlineage_plan import (
    Known,
    Plan,
    Versions,
    first_stale,
    plan_event,
    prefetch,
)
from lineal.model.ops import ArtifactRecord, EdgeRecord, Op, RunFinish, RunStart

if TYPE_CHECKING:
    from lineal.client import Lineal
    from lineal.interop.openlineage_validate import Validator
    from lineal.store.base import Store

#: Checks whether a request may write (raising the LinealError that refuses it) with the
#: writer's store, and names the agent that sent it. Its second argument is shared by the
#: group's requests: what one check read, for the next to reuse.
Admission = Callable[["Store", dict[Any, Any]], "str | None"]

#: The most events one transaction takes (the rest wait for the next).
GROUP_LIMIT = 512
#: How many times a group's events are planned again after another writer overtook some.
ROUNDS = 3


@dataclass(slots=True)
class _Request:
    events: Sequence[tuple[Mapping[str, Any], str]]  # (event, kind), validated
    sender: str | None
    result: IngestResult
    admit: Admission | None = None
    future: Future[IngestResult] = field(default_factory=Future)
    outcomes: dict[int, dict[str, Any]] = field(default_factory=dict)


_Item = tuple[_Request, int, Mapping[str, Any]]  # an event: its request, index, body
_Planned = tuple[_Request, int, Mapping[str, Any], Plan]
#: The order a group's ops are appended in: each kind after what it needs (an edge after its
#: nodes, a run's end after its start), so the store projects each kind in one statement.
_KIND_ORDER = {ArtifactRecord: 0, RunStart: 1, RunFinish: 2, EdgeRecord: 3}


def _in_kind_order(planned: list[_Planned]) -> list[Op]:
    ops = [op for *_, plan in planned for op in plan.ops]
    return sorted(ops, key=lambda op: _KIND_ORDER[type(op)])  # stable: each kind in order


def _own_copy(exc: Exception) -> Exception:
    """The error for one caller: each raises its own (raising one object from many threads
    would tangle their tracebacks)."""
    try:
        return copy.copy(exc)
    except Exception:  # an error that does not copy: the same one
        return exc


class GroupWriter:
    """Records validated events for many threads, grouped into shared transactions."""

    def __init__(self, repo: Lineal, check: Validator, *, limit: int = GROUP_LIMIT) -> None:
        self.repo, self.check, self.limit = repo, check, limit
        self.known = Known()
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="openlineage-writer", daemon=True)
        self._thread.start()

    def submit(
        self,
        events: Sequence[tuple[Mapping[str, Any], str]],
        sender: str | None,
        admit: Admission | None = None,
    ) -> Future[IngestResult]:
        """Queue validated ``(event, kind)`` pairs; the future holds their result once the
        transaction holding them has committed (or the error that kept it from committing,
        or the one ``admit`` refused the request with; what it returns is the sender)."""
        request = _Request(
            events=events,
            sender=sender,
            result=IngestResult(validation="full" if self.check.full else "basic"),
            admit=admit,
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
        """Record the group's events in shared transactions, then answer every caller.

        Each round plans the events still to record (reads, outside any transaction: the
        ledger's lock is not held while they run) and appends their ops in one transaction.
        What another writer overtook meanwhile (found under the lock, before any write) and
        what follows it is planned again, read afresh, in the next round; after the last
        round, or when a group is refused as a whole, each event is recorded alone."""
        alone: list[_Item] = []
        try:
            group = self._admitted(group)
            items = [(r, i, e) for r in group for i, (e, _) in enumerate(r.events)]
            for _ in range(ROUNDS):
                items, alone = self._round(items)
                if not items:
                    break
        except Exception as exc:  # the store failed: no caller's events are recorded
            for request in group:
                if not request.future.done():  # not refused already
                    request.future.set_exception(_own_copy(exc))
            return
        self._one_by_one(alone + items)
        for request in group:
            request.result.outcomes = [
                {"index": index, **request.outcomes[index]} for index in sorted(request.outcomes)
            ]
            request.future.set_result(request.result)

    def _admitted(self, group: list[_Request]) -> list[_Request]:
        """The group's requests that may write (each refused one answered with its error)."""
        asked: dict[Any, Any] = {}
        admitted = []
        for request in group:
            if request.admit is not None:
                try:
                    request.sender = request.admit(self.repo.store, asked)
                except LinealError as exc:
                    request.future.set_exception(exc)
                    continue
            admitted.append(request)
        return admitted

    def _round(self, items: list[_Item]) -> tuple[list[_Item], list[_Item]]:
        """Plan ``items`` and append what still holds in one transaction: the items to plan
        again (overtaken, and those after them), and those to record alone (the group was
        refused: a cycle, each its own way)."""
        known = Known(base=self.known)
        planned = self._planned(items, known)
        if not planned:
            return [], []
        try:
            with self.repo.atomic():
                done = self._append(planned)
        except (InvalidInput, Conflict, NotFound):
            return [], [(request, index, event) for request, index, event, _ in planned]
        for request, index, event, plan in done:
            self.known.merge(plan.added)
            count_event(request.result, event, plan, self.check, own=False)
            request.outcomes[index] = {"status": "created"}
        return [(request, index, event) for request, index, event, _ in planned[len(done) :]], []

    def _append(self, planned: list[_Planned]) -> list[_Planned]:
        """Append the plans that still hold, in the open transaction: those before the first
        another writer overtook. Tried at once first, in a nested transaction: a store
        refuses a run op the projections contradict (a run started or finished since the
        plan read it), and that rolls back alone, to check the plans then and append those
        that hold. The check first would cost every group a read with the ledger's lock
        held; meeting another writer's run is the rare case."""
        ops = _in_kind_order(planned)
        try:
            with self.repo.atomic():
                self.repo.store.append(ops)
            return planned
        except (Conflict, NotFound):
            pass
        stale = first_stale(self.repo, [plan for *_, plan in planned])
        done = planned if stale is None else planned[:stale]
        if done:
            self.repo.store.append(_in_kind_order(done))
        return done

    def _planned(self, items: list[_Item], known: Known) -> list[_Planned]:
        """The plans of the new events among ``items`` (each after those before it); the
        outcome of the others (seen before, or refused) set on their requests."""
        digests = [event_digest(event) for _, _, event in items]
        versions = Versions()  # each dataset's, worked out once for the round
        found = [d for d, _ in digests]
        absent = prefetch(self.repo, known, [e for _, _, e in items], found, versions)
        planned: list[_Planned] = []
        for (request, index, event), digest in zip(items, digests, strict=True):
            if is_duplicate(self.repo, known, digest[0], absent):
                request.result.duplicates += 1
                request.outcomes[index] = {"status": "duplicate"}
                continue
            kind = request.events[index][1]
            try:
                plan = plan_event(
                    self.repo, known, event, kind, "plain", request.sender,
                    digest=digest, absent=absent, versions=versions,
                )  # fmt: skip
            except (InvalidInput, Conflict, NotFound) as exc:
                request.outcomes[index] = {"status": "invalid", "error": exc.message}
                continue
            known.merge(plan.added)  # the group's later events build on it
            planned.append((request, index, event, plan))
        return planned

    def _one_by_one(self, items: list[_Item]) -> None:
        for request, index, event in items:
            try:
                status = record_checked(
                    self.repo,
                    event,
                    self.check.kind_of(event),
                    check=self.check,
                    known=self.known,
                    result=request.result,
                    sender=request.sender,
                )
            except (InvalidInput, Conflict, NotFound) as exc:
                request.outcomes[index] = {"status": "invalid", "error": exc.message}
                continue
            request.outcomes[index] = {"status": status}
