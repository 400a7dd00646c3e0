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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lineal.errors import Conflict, InvalidInput, LinealError, NotFound
from lineal.interop import openlineage_map as m
from lineal.interop.openlineage_files import Sourced
from lineal.interop.openlineage_validate import Validator, parse_event_time, validator
from lineal.model import canonical
from lineal.model.ops import ArtifactRecord, EdgeRecord, Op, RunFinish, RunStart

if TYPE_CHECKING:
    from lineal.client import Lineal

#: The role of the edge from a run to the report of one of its events.
EVENT_ROLE = "openlineage"
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


class Known:
    """What a store is known to hold: only what exists (it never stops existing), so a
    cache kept across ingests never says a record is missing that another writer made.
    ``base``: a longer-lived cache read through (a group's writes join it once committed)."""

    def __init__(self, base: Known | None = None, limit: int = 200_000) -> None:
        self.base = base
        self.nodes: set[str] = set()
        self.edges: set[tuple[str, str, str, str | None]] = set()
        self.finished: set[str] = set()  # run ids
        self.running: set[str] = set()
        self.limit = limit

    def has_node(self, node: str) -> bool:
        return node in self.nodes or (self.base is not None and self.base.has_node(node))

    def has_edge(self, key: tuple[str, str, str, str | None]) -> bool:
        return key in self.edges or (self.base is not None and self.base.has_edge(key))

    def status(self, run_id: str) -> str | None:
        if run_id in self.finished:
            return "finished"
        if run_id in self.running:
            return "running"
        return None if self.base is None else self.base.status(run_id)

    def merge(self, other: Known) -> None:
        if len(self.nodes) + len(self.edges) > self.limit:
            self.nodes.clear()
            self.edges.clear()
            self.finished.clear()
            self.running.clear()
        self.nodes |= other.nodes
        self.edges |= other.edges
        self.finished |= other.finished
        self.running = (self.running | other.running) - self.finished

    def forget_run(self, run_id: str) -> None:
        """Read this run again (another writer may have started or finished it)."""
        for known in (self, self.base):
            if known is not None:
                known.running.discard(run_id)
                known.finished.discard(run_id)
                known.nodes.discard(f"run/{run_id}")


class _Plan:
    """The ops of one event, and what they add (merged into Known once they commit)."""

    def __init__(self, repo: Lineal, known: Known) -> None:
        self.repo, self.known = repo, known
        self.ops: list[Op] = []
        self.added = Known(base=known)
        self.counts = {"runs": 0, "finished": 0, "datasets": 0, "edges": 0}

    # -- reads (what exists is remembered; what does not is asked again next time) --------
    def has_node(self, node: str, kind: str, name: str | None, digest: str) -> bool:
        if self.added.has_node(node):
            return True
        store = self.repo.store
        found = (
            store.unnamed(digest) is not None
            if name is None
            else store.version_of(kind, name, digest) is not None
        )
        if found:
            self.known.nodes.add(node)
        return found

    def run_status(self, run_id: str) -> str | None:
        status = self.added.status(run_id)
        if status is not None:
            return status
        try:
            status = self.repo.store.get_run(run_id).status
        except NotFound:
            return None
        (self.known.running if status == "running" else self.known.finished).add(run_id)
        if status == "running" and not self.known.has_node(f"run/{run_id}"):
            self.known.nodes.add(f"run/{run_id}")
            for edge in self.repo.store.edges(f"run/{run_id}"):
                self.known.edges.add((edge.kind, edge.parent, edge.child, edge.role))
        return status

    # -- writes --------------------------------------------------------------------------
    def artifact(self, version: m.DatasetVersion) -> str:
        if not self.has_node(version.node, version.kind, version.name, version.digest):
            self.ops.append(
                ArtifactRecord(
                    kind=version.kind,
                    digest=version.digest,
                    name=version.name,
                    size=version.size,
                    uri=version.uri,
                    meta=version.meta,
                )
            )
            self.added.nodes.add(version.node)
            self.counts["datasets"] += version.kind in ("dataset", "model")
        return version.node

    def edge(self, kind: str, parent: str, child: str, role: str | None = None) -> None:
        key = (kind, parent, child, role)
        if parent == child or self.added.has_edge(key):
            return
        self.ops.append(EdgeRecord(kind=kind, parent=parent, child=child, role=role))
        self.added.edges.add(key)
        self.counts["edges"] += 1

    def run(self, run_id: str, job: Mapping[str, Any], when: str, meta: dict[str, Any]) -> str:
        ulid = m.run_ulid(run_id)
        if self.run_status(ulid) is None:
            name = m.lineal_name(str(job["name"]))
            self.ops.append(RunStart(id=ulid, name=name, started=when, meta=meta))
            self.added.running.add(ulid)
            self.added.nodes.add(f"run/{ulid}")
            self.counts["runs"] += 1
        return ulid

    def finish(self, ulid: str, status: str, when: str, error: str | None) -> None:
        if self.run_status(ulid) != "running":
            return  # finished by an earlier event: this one is kept as its report
        self.ops.append(RunFinish(id=ulid, status=status, ended=when, error=error))
        self.added.running.discard(ulid)
        self.added.finished.add(ulid)
        self.counts["finished"] += 1


def plan_event(
    repo: Lineal, known: Known, event: Mapping[str, Any], kind: str, mode: str, sender: str | None
) -> _Plan:
    """The ops that record ``event`` (validated, of ``kind``), given what the store holds."""
    plan = _Plan(repo, known)
    when = canonical.format_time(parse_event_time(event["eventTime"]))
    digest, size = m.event_digest(event)
    run = None
    if kind == "run":
        run_id = event["run"]["runId"]
        ulid = plan.run(run_id, event["job"], when, m.run_identity(event))
        run = f"run/{ulid}"
        parent = m.parent_of(event)
        if parent is not None and parent[0] != run_id:
            meta = {"openlineage": {"runId": parent[0], "job": parent[1]}}
            parent_ulid = plan.run(parent[0], parent[1], when, meta)
            plan.edge("informed_by", f"run/{parent_ulid}", run)
        final = m.FINAL_STATUS.get(str(event.get("eventType")))
        if final is not None:
            plan.finish(ulid, final, when, m.error_of(event) if final == "failed" else None)
    if kind == "dataset":
        plan.artifact(m.dataset_version(event["dataset"]))
    elif mode != "no-edges" or run is None:
        _datasets(plan, event, run, mode)
    if run is not None and (code := m.code_of(event["job"])) is not None:
        code_digest, body = code
        node = plan.artifact(m.DatasetVersion(kind="code", name=None, digest=code_digest, meta=body))
        plan.edge("used", node, run, "code")
    meta: dict[str, Any] = {"event": dict(event)}
    if sender is not None:
        meta["sent_by"] = sender
    report = {"openlineage": meta}
    plan.artifact(m.DatasetVersion(kind="report", name=None, digest=digest, size=size, meta=report))
    if run is not None:
        plan.edge("generated", run, digest, EVENT_ROLE)
    return plan


def _datasets(plan: _Plan, event: Mapping[str, Any], run: str | None, mode: str) -> None:
    inputs = {}
    for one in event.get("inputs") or []:
        version = m.dataset_version(one)
        inputs[(one["namespace"], one["name"])] = node = plan.artifact(version)
        if run is not None:
            plan.edge("used", node, run)
    input_nodes = set(inputs.values())
    run_id = event["run"]["runId"] if run is not None else None
    for one in event.get("outputs") or []:
        version = m.dataset_version(one)
        if run_id is not None and (mode == "own-outputs" or version.node in input_nodes):
            version = m.dataset_version(one, written_by=run_id)
        node = plan.artifact(version)
        if run is not None:
            plan.edge("generated", run, node)
        for source in m.column_sources(one):
            parent = inputs.get(source)
            if parent is None:
                ns, name = source
                parent = plan.artifact(m.dataset_version({"namespace": ns, "name": name}))
            plan.edge("derived_from", parent, node)


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
    """Record an event ``check`` has passed (as ``kind``): 'created' or 'duplicate'."""
    digest, _ = m.event_digest(event)
    if known.has_node(digest) or repo.store.unnamed(digest) is not None:
        known.nodes.add(digest)
        result.duplicates += 1
        return "duplicate"
    modes, tries = list(_MODES), 0
    while True:
        plan = plan_event(repo, known, event, kind, modes[0], sender)
        try:
            with repo.atomic():
                repo.store.append(plan.ops)
        except Conflict as exc:  # a cycle, or another writer was first: read again, retry
            tries += 1
            for op in plan.ops:
                if isinstance(op, RunStart | RunFinish):
                    known.forget_run(op.id)
            if "cycle" in exc.message and len(modes) > 1:
                modes.pop(0)
            elif tries >= _TRIES:
                raise
            continue
        known.merge(plan.added)
        _count(result, event, kind, plan, check, own=modes[0] == "own-outputs")
        return "created"


def _count(
    result: IngestResult, event: Mapping[str, Any], kind: str, plan: _Plan, check: Validator,
    *, own: bool,
) -> None:  # fmt: skip
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
            status = ingest_one(
                repo, event, check=check, known=known, result=result, sender=sender
            )
        except (InvalidInput, Conflict) as exc:
            if not keep_going:
                label = where or f"event {index + 1}"
                raise type(exc)(f"{label}: {exc.message}", hint=exc.hint) from exc
            failed = {"index": index, "status": "invalid", "error": exc.message}
            result.outcomes.append(failed if where is None else {**failed, "where": where})
            continue
        result.outcomes.append({"index": index, "status": status})
    return result
