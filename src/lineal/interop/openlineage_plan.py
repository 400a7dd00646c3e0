"""Planning how one OpenLineage event lands: the ops that record it, given what the store holds.

``plan_event`` reads the store (through the Store protocol) for what the event names, and
``Known`` remembers only what exists (so it never goes stale: a record, once there, stays):
a writer may keep one across events and requests. See lineal.interop.openlineage_ingest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from typing import TYPE_CHECKING, Any

from lineal.errors import NotFound
from lineal.interop import openlineage_map as m
from lineal.interop.openlineage_validate import parse_event_time
from lineal.model import canonical
from lineal.model.ops import ArtifactRecord, EdgeRecord, Op, RunFinish, RunStart

if TYPE_CHECKING:
    from lineal.client import Lineal

#: The role of the edge from a run to the report of one of its events.
EVENT_ROLE = "openlineage"


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


class Versions:
    """The artifact each dataset (and job's code) of a group's events stands for, worked out
    once: prefetch and plan_event both ask (each costs a canonical encoding and a hash).
    Holds each dataset it answered for, so its key (the object's id) stays its own."""

    def __init__(self) -> None:
        self._found: dict[tuple[int, str | None], tuple[object, m.DatasetVersion]] = {}
        self._named: dict[tuple[str, str], m.DatasetVersion] = {}
        self._code: dict[int, tuple[object, tuple[str, dict[str, Any]] | None]] = {}

    def of(self, dataset: Mapping[str, Any], written_by: str | None = None) -> m.DatasetVersion:
        key = (id(dataset), written_by)
        found = self._found.get(key)
        if found is not None and found[0] is dataset:
            return found[1]
        version = m.dataset_version(dataset, written_by=written_by)
        self._found[key] = (dataset, version)
        return version

    def code(self, job: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """The code a job's facet names (lineal.interop.openlineage_map.code_of)."""
        found = self._code.get(id(job))
        if found is not None and found[0] is job:
            return found[1]
        code = m.code_of(job)
        self._code[id(job)] = (job, code)
        return code

    def named(self, namespace: str, name: str) -> m.DatasetVersion:
        """The version of a dataset known by its name alone (a column's source)."""
        version = self._named.get((namespace, name))
        if version is None:
            version = m.dataset_version({"namespace": namespace, "name": name})
            self._named[(namespace, name)] = version
        return version


class Plan:
    """The ops of one event, and what they add (merged into Known once they commit)."""

    def __init__(self, repo: Lineal, known: Known, versions: Versions | None = None) -> None:
        self.repo, self.known = repo, known
        self.versions = Versions() if versions is None else versions
        self.ops: list[Op] = []
        self.added = Known(base=known)
        #: nodes the caller has just found missing (not to be asked again)
        self.absent: set[str] = set()
        self.counts = {"runs": 0, "finished": 0, "datasets": 0, "edges": 0}

    # -- reads (what exists is remembered; what does not is asked again next time) --------
    def has_node(self, node: str, kind: str, name: str | None, digest: str) -> bool:
        if self.added.has_node(node):
            return True
        if node in self.absent:  # just read, and missing
            return False
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
        if f"run/{run_id}" in self.absent:
            return None
        try:
            status = self.repo.store.get_run(run_id).status
        except NotFound:
            return None
        (self.known.running if status == "running" else self.known.finished).add(run_id)
        if not self.known.has_node(f"run/{run_id}"):  # its edges, not to record them twice
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

    def run(
        self,
        run_id: str,
        job: Mapping[str, Any],
        when: str,
        meta: dict[str, Any],
        params: Mapping[str, Any] | None = None,
    ) -> str:
        ulid = m.run_ulid(run_id)
        if self.run_status(ulid) is None:
            name = m.lineal_name(str(job["name"]))
            start = RunStart(id=ulid, name=name, started=when, params=params or {}, meta=meta)
            self.ops.append(start)
            self.added.running.add(ulid)
            self.added.nodes.add(f"run/{ulid}")
            self.counts["runs"] += 1
        return ulid

    def finish(
        self, ulid: str, status: str, when: str, error: str | None, summary: Mapping[str, float]
    ) -> None:
        if self.run_status(ulid) != "running":
            return  # finished by an earlier event: this one is kept as its report
        self.ops.append(RunFinish(id=ulid, status=status, ended=when, error=error, summary=summary))
        self.added.running.discard(ulid)
        self.added.finished.add(ulid)
        self.counts["finished"] += 1


def plan_event(
    repo: Lineal,
    known: Known,
    event: Mapping[str, Any],
    kind: str,
    mode: str,
    sender: str | None,
    *,
    digest: tuple[str, int] | None = None,
    absent: Set[str] = frozenset(),
    versions: Versions | None = None,
) -> Plan:
    """The ops that record ``event`` (validated, of ``kind``), given what the store holds.
    ``digest``: the event's digest and size, when the caller has just found no report of it;
    ``absent``: nodes the caller has just found missing (see ``prefetch``); ``versions``:
    the datasets' versions worked out so far (prefetch's)."""
    plan = Plan(repo, known, versions)
    plan.absent |= absent
    when = canonical.format_time(parse_event_time(event["eventTime"]))
    if digest is not None:
        plan.absent.add(digest[0])
    report, size = digest or m.event_digest(event)
    run = None
    if kind == "run":
        run_id = event["run"]["runId"]
        ulid = plan.run(run_id, event["job"], when, m.run_identity(event), m.params_of(event))
        run = f"run/{ulid}"
        parent = m.parent_of(event)
        if parent is not None and parent[0] != run_id:
            above = {"openlineage": {"runId": parent[0], "job": parent[1]}}
            parent_ulid = plan.run(parent[0], parent[1], when, above)
            plan.edge("informed_by", f"run/{parent_ulid}", run)
        final = m.FINAL_STATUS.get(str(event.get("eventType")))
        if final is not None:
            error = m.error_of(event) if final == "failed" else None
            plan.finish(ulid, final, when, error, m.metrics_of(event))
    if kind == "dataset":
        plan.artifact(plan.versions.of(event["dataset"]))
    elif mode != "no-edges" or run is None:
        _datasets(plan, event, run, mode)
    if run is not None and (code := plan.versions.code(event["job"])) is not None:
        code_digest, body = code
        node = plan.artifact(
            m.DatasetVersion(kind="code", name=None, digest=code_digest, meta=body)
        )
        plan.edge("used", node, run, "code")
    meta: dict[str, Any] = {"event": dict(event)}
    if sender is not None:
        meta["sent_by"] = sender
    kept = m.DatasetVersion(
        kind="report", name=None, digest=report, size=size, meta={"openlineage": meta}
    )
    plan.artifact(kept)
    if run is not None:
        plan.edge("generated", run, report, EVENT_ROLE)
    return plan


def _datasets(plan: Plan, event: Mapping[str, Any], run: str | None, mode: str) -> None:
    inputs = {}
    for one in event.get("inputs") or []:
        version = plan.versions.of(one)
        inputs[(one["namespace"], one["name"])] = node = plan.artifact(version)
        if run is not None:
            plan.edge("used", node, run, m.role_of(one, "inputFacets"))
    input_nodes = set(inputs.values())
    run_id = event["run"]["runId"] if run is not None else None
    for one in event.get("outputs") or []:
        version = plan.versions.of(one)
        if run_id is not None and (mode == "own-outputs" or version.node in input_nodes):
            version = plan.versions.of(one, written_by=run_id)
        node = plan.artifact(version)
        if run is not None:
            plan.edge("generated", run, node, m.role_of(one, "outputFacets"))
        for source in m.column_sources(one):
            parent = inputs.get(source)
            if parent is None:
                ns, name = source
                parent = plan.artifact(plan.versions.named(ns, name))
            plan.edge("derived_from", parent, node)


def first_stale(repo: Lineal, plans: Sequence[Plan]) -> int | None:
    """The index of the first plan whose run ops the store now contradicts (a run another
    writer started or finished since the plan read it), or None. Asked inside the write
    transaction, with the ledger's lock held, in one read: a plan that passes cannot fail
    for it, and a store never has to refuse (and roll back) a run op."""
    ids = {op.id for plan in plans for op in plan.ops if isinstance(op, RunStart | RunFinish)}
    if not ids:
        return None
    found, _ = repo.store.presence([f"run/{one}" for one in ids])
    status = {node[4:]: state for node, state in found.items()}
    for index, plan in enumerate(plans):
        for op in plan.ops:
            if isinstance(op, RunStart):
                if op.id in status:
                    return index
                status[op.id] = "running"
            elif isinstance(op, RunFinish):
                if status.get(op.id) != "running":
                    return index
                status[op.id] = op.status
    return None


def prefetch(
    repo: Lineal,
    known: Known,
    events: Sequence[Mapping[str, Any]],
    digests: Sequence[str] | None = None,
    versions: Versions | None = None,
) -> set[str]:
    """Read at once what ``events`` (validated; ``digests``: theirs, if known) name: which of
    their reports, datasets, code and runs exist (added to ``known``, with the edges of those
    runs), in one read for the lot instead of several each. Returns the nodes found
    missing, for plan_event."""
    nodes = set(digests if digests is not None else (m.event_digest(e)[0] for e in events))
    runs: set[str] = set()
    versions = Versions() if versions is None else versions
    for event in events:
        _named_by(event, nodes, runs, versions)
    wanted = [node for node in nodes if not known.has_node(node)]
    asked = [run for run in runs if not known.has_node(run)]
    if not wanted and not asked:
        return set()
    # The runs with the edges into and out of them (not to record one twice), in one read.
    found, edges = repo.store.presence(wanted + asked, edges_of=asked)
    known.edges.update((e.kind, e.parent, e.child, e.role) for e in edges)
    absent = set(wanted + asked) - found.keys()
    for node, state in found.items():
        known.nodes.add(node)
        if node in runs:
            (known.running if state == "running" else known.finished).add(node[4:])
    return absent


def _named_by(
    event: Mapping[str, Any], nodes: set[str], runs: set[str], versions: Versions
) -> None:
    """Add the artifact nodes and run nodes an event may record to ``nodes`` and ``runs``."""
    run_id = None
    if isinstance(event.get("run"), Mapping):
        run_id = event["run"]["runId"]
        runs.add(f"run/{m.run_ulid(run_id)}")
        parent = m.parent_of(event)
        if parent is not None:
            runs.add(f"run/{m.run_ulid(parent[0])}")
        if (code := versions.code(event["job"])) is not None:
            nodes.add(code[0])
    inputs = list(event.get("inputs") or [])
    named = [(one, False) for one in inputs]
    named += [(one, True) for one in event.get("outputs") or []]
    if isinstance(event.get("dataset"), Mapping):
        named.append((event["dataset"], False))
    read = {versions.of(one).node for one in inputs}
    for one, output in named:
        node = versions.of(one).node
        nodes.add(node)
        # An output that would be one of its run's inputs is the version the run wrote
        # (plan_event's plain mode; another mode reads what this did not).
        if output and run_id is not None and node in read:
            nodes.add(versions.of(one, written_by=run_id).node)
        for ns, name in m.column_sources(one):
            nodes.add(versions.named(ns, name).node)
