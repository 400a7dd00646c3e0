"""Taking in OpenLineage events: each one validated, mapped onto the graph and written whole.

``ingest(repo, events)`` works on any store. Each event lands in its own transaction (an
interrupted import re-run finishes the rest), with:

- its run (``run.start`` when first seen, from START or whichever event comes first; a
  ``parent`` facet's run too, so the ``informed_by`` edge has both ends) and, for COMPLETE,
  FAIL and ABORT, the ``run.finish`` (finished, failed, killed) at the event's time;
- its inputs (``used``) and outputs (``generated``) as dataset or model versions,
  ``derived_from`` edges from the inputs an output's ``columnLineage`` names, and the code a
  ``sourceCodeLocation`` names (``used``, role ``code``);
- the event itself, whole, as an unnamed ``report`` artifact (digest: its canonical bytes)
  the run ``generated`` (role ``openlineage``): what has no mapping is kept, and a second
  ingest of the same event finds it and appends nothing.

Never prints; reads the store only through the Store protocol.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lineal.errors import Conflict, InvalidInput
from lineal.interop import openlineage_map as m
from lineal.interop.openlineage_files import Sourced
from lineal.interop.openlineage_plan import Known, Plan, first_stale, plan_event
from lineal.interop.openlineage_validate import Validator, validator
from lineal.model.ops import RunFinish, RunStart

if TYPE_CHECKING:
    from lineal.client import Lineal

#: How many ways an event is tried before it is refused: as it comes; its outputs as
#: versions of their own (a job that reads and writes one table); without dataset edges.
_MODES = ("plain", "own-outputs", "no-edges")
_TRIES = 5


@dataclass(slots=True)
class IngestResult:
    """What an ingest took in (counts of new records; ``duplicates``: events seen before)."""

    events: int = 0
    duplicates: int = 0
    runs: int = 0
    finished: int = 0
    jobs: int = 0
    datasets: int = 0
    edges: int = 0
    facets: int = 0
    #: facets whose ``_schemaURL`` names no schema in the spec folder (custom facets):
    #: checked as BaseFacet only, and kept
    unchecked_facets: int = 0
    #: events whose outputs became versions of their own (else the graph had a cycle)
    own_outputs: int = 0
    validation: str = "basic"
    #: per event, in order: "created", "duplicate" or the error's one line
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    _jobs: set[tuple[str, str]] = field(default_factory=set, repr=False)

    @property
    def failed(self) -> int:
        return sum(1 for one in self.outcomes if one["status"] == "invalid")

    def as_dict(self) -> dict[str, Any]:
        body = {
            "events": self.events,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "runs": self.runs,
            "finished": self.finished,
            "jobs": self.jobs,
            "datasets": self.datasets,
            "edges": self.edges,
            "facets": self.facets,
            "unchecked_facets": self.unchecked_facets,
            "own_outputs": self.own_outputs,
            "validation": self.validation,
        }
        if self.validation == "basic":
            body["validation_note"] = (
                "full schema validation was off: set LINEAL_OPENLINEAGE_SPEC (or --spec) to "
                "the OpenLineage spec/ folder to check each event and facet against its schema"
            )
        return body

    def outcome(self, index: int) -> dict[str, Any]:
        return self.outcomes[index]


def ingest_one(
    repo: Lineal,
    event: object,
    *,
    check: Validator,
    known: Known,
    result: IngestResult,
    sender: str | None = None,
) -> str:
    """Validate and record one event in its own transaction (nested in the caller's, if any):
    'created' or 'duplicate'; raise the one-line error of an invalid event."""
    kind = check.check(event)
    assert isinstance(event, Mapping)  # noqa: S101 - check() refuses anything else
    return record_checked(repo, event, kind, check=check, known=known, result=result, sender=sender)


class _Stale(Exception):
    """A plan another writer overtook (found inside the transaction, before any write)."""


def is_duplicate(repo: Lineal, known: Known, digest: str, absent: Set[str] = frozenset()) -> bool:
    """Whether the event of ``digest`` was recorded before (its report is there);
    ``absent``: nodes just found missing."""
    if known.has_node(digest):
        return True
    if digest not in absent and repo.store.unnamed(digest) is not None:
        known.nodes.add(digest)
        return True
    return False


def record_checked(
    repo: Lineal,
    event: Mapping[str, Any],
    kind: str,
    *,
    check: Validator,
    known: Known,
    result: IngestResult,
    sender: str | None = None,
) -> str:
    """Record an event ``check`` has passed (as ``kind``) in its own transaction (nested in
    the caller's, if any): 'created' or 'duplicate'."""
    digest = m.event_digest(event)
    if is_duplicate(repo, known, digest[0]):
        result.duplicates += 1
        return "duplicate"
    modes, tries = list(_MODES), 0
    while True:
        plan = plan_event(repo, known, event, kind, modes[0], sender, digest=digest)
        try:
            with repo.atomic():
                if first_stale(repo, [plan]) is not None:
                    raise _Stale
                repo.store.append(plan.ops)
        except (Conflict, _Stale) as exc:  # a cycle, or another writer was first: read again
            tries += 1
            for op in plan.ops:
                if isinstance(op, RunStart | RunFinish):
                    known.forget_run(op.id)
            if isinstance(exc, Conflict) and "cycle" in exc.message and len(modes) > 1:
                modes.pop(0)
            elif tries >= _TRIES:
                raise Conflict(
                    f"event of run {event.get('run', {}).get('runId')} kept meeting other "
                    "writers' changes",
                    hint="send it again",
                ) from exc
            continue
        known.merge(plan.added)
        count_event(result, event, plan, check, own=modes[0] == "own-outputs")
        return "created"


def count_event(
    result: IngestResult, event: Mapping[str, Any], plan: Plan, check: Validator, *, own: bool
) -> None:
    """Add what ``plan`` recorded for ``event`` to ``result``."""
    result.events += 1
    for key, value in plan.counts.items():
        setattr(result, key, getattr(result, key) + value)
    result.own_outputs += own
    if "job" in event:
        job = (str(event["job"]["namespace"]), str(event["job"]["name"]))
        if job not in result._jobs:
            result._jobs.add(job)
            result.jobs += 1
    facets = _all_facets(event)
    result.facets += len(facets)
    result.unchecked_facets += sum(1 for facet in facets if not check.facet_checked(facet))


def _all_facets(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    holders = [event.get(key) for key in ("run", "job", "dataset")]
    holders += list(event.get("inputs") or []) + list(event.get("outputs") or [])
    return [
        facet
        for holder in holders
        if isinstance(holder, Mapping)
        for group in ("facets", "inputFacets", "outputFacets")
        for facet in (holder.get(group) or {}).values()
        if isinstance(facet, Mapping)
    ]


def ingest(
    repo: Lineal,
    events: Iterable[object],
    *,
    spec: str | None = None,
    sender: str | None = None,
    keep_going: bool = False,
    known: Known | None = None,
) -> IngestResult:
    """Validate and record ``events`` (each in its own transaction) in order.

    An invalid event stops the ingest with its one-line error (naming which event), those
    before it recorded; ``keep_going``: record the others and say in ``outcomes`` what
    each became. ``spec``: the OpenLineage spec folder (else ``LINEAL_OPENLINEAGE_SPEC``).
    """
    check = validator(spec)
    known = known if known is not None else Known()
    result = IngestResult(validation="full" if check.full else "basic")
    for index, item in enumerate(events):
        where, event = (item.where, item.event) if isinstance(item, Sourced) else (None, item)
        try:
            status = ingest_one(repo, event, check=check, known=known, result=result, sender=sender)
        except (InvalidInput, Conflict) as exc:
            if not keep_going:
                label = where or f"event {index + 1}"
                raise type(exc)(f"{label}: {exc.message}", hint=exc.hint) from exc
            failed = {"index": index, "status": "invalid", "error": exc.message}
            result.outcomes.append(failed if where is None else {**failed, "where": where})
            continue
        result.outcomes.append({"index": index, "status": status})
    return result
