"""`lineal export openlineage REF`: the OpenLineage events of every run upstream of REF.

Each run gives a START event (its inputs, the job's ``sourceCodeLocation``, its ``parent``
from ``informed_by``, its params as ``executionParameters``) and, once it ended, a COMPLETE,
FAIL or ABORT event at its end with its inputs and outputs (``errorMessage`` when it failed)
and its metrics in a ``lineal_metrics`` run facet of lineal's own schema. Datasets carry a
``version`` facet holding the lineal digest and ``datasetType`` MODEL for models; what came
from OpenLineage gives back its runId, job and dataset names and its dataset facets
(``schema``, ``dataSource``, ``columnLineage``…). Artifacts upstream that no run touched come
as DatasetEvents. Flavors: ``jsonl`` (one event a line) and ``json`` (an array).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lineal.interop import openlineage_map as m
from lineal.model.entities import Artifact, Edge, Run, split_node

if TYPE_CHECKING:
    from lineal.client import Lineal

FLAVORS = ("jsonl", "json")
SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
_FACETS = "https://openlineage.io/spec/facets"
_SCHEMAS = {
    "version": f"{_FACETS}/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
    "datasetType": f"{_FACETS}/1-0-1/DatasetTypeDatasetFacet.json#/$defs/DatasetTypeDatasetFacet",
    "parent": f"{_FACETS}/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
    "errorMessage": f"{_FACETS}/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
    "sourceCodeLocation": (
        f"{_FACETS}/1-1-0/SourceCodeLocationJobFacet.json#/$defs/SourceCodeLocationJobFacet"
    ),
    "executionParameters": (
        f"{_FACETS}/1-0-0/ExecutionParametersRunFacet.json#/$defs/ExecutionParametersRunFacet"
    ),
    "columnLineage": (
        f"{_FACETS}/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
    ),
}
_TERMINAL = {"finished": "COMPLETE", "failed": "FAIL", "killed": "ABORT"}
#: Run inputs that are not datasets: the code (a job facet) and the environment.
_NOT_DATASETS = ("code", "env")


def _facet(name: str, body: Mapping[str, Any]) -> dict[str, Any]:
    return {"_producer": m.PRODUCER, "_schemaURL": _SCHEMAS[name], **body}


class _Exporter:
    def __init__(self, repo: Lineal) -> None:
        self.repo = repo
        self._artifacts: dict[str, Artifact] = {}
        self._runs: dict[str, Run] = {}
        self.touched: set[str] = set()  # artifact nodes some run's event names

    def artifact(self, node: str) -> Artifact:
        found = self._artifacts.get(node)
        if found is None:
            kind, name, digest = split_node(node)
            if name is None:
                unnamed = self.repo.unnamed(digest)
                assert unnamed is not None  # noqa: S101 - an edge names only recorded nodes
                found = unnamed
            else:
                resolved = self.repo.resolve(f"{kind}/{name}@{digest}")
                assert isinstance(resolved, Artifact)  # noqa: S101 - the node names a version
                found = resolved
            self._artifacts[node] = found
        return found

    def run(self, run_id: str) -> Run:
        found = self._runs.get(run_id)
        if found is None:
            found = self._runs[run_id] = self.repo.store.get_run(run_id)
        return found

    def job(self, run: Run) -> dict[str, str]:
        job = (run.meta.get("openlineage") or {}).get("job")
        if isinstance(job, Mapping):
            return {"namespace": str(job["namespace"]), "name": str(job["name"])}
        return {"namespace": m.NAMESPACE, "name": run.name}

    def dataset(self, node: str, *, output: bool = False) -> dict[str, Any]:
        artifact = self.artifact(node)
        self.touched.add(node)
        came = artifact.meta.get("openlineage")
        facets: dict[str, Any] = {}
        if isinstance(came, Mapping) and isinstance(came.get("facets"), Mapping):
            namespace, name = str(came["namespace"]), str(came["name"])
            facets.update(came["facets"])
        else:
            namespace = m.NAMESPACE
            name = f"{artifact.kind}/{artifact.name or artifact.digest}"
        facets["version"] = _facet("version", {"datasetVersion": artifact.digest})
        if artifact.kind == "model":
            facets["datasetType"] = _facet("datasetType", {"datasetType": "MODEL"})
        if output and "columnLineage" not in facets:
            sources = [
                self.dataset_name(edge.parent)
                for edge in self.repo.store.edges(node)
                if edge.kind == "derived_from" and edge.child == node
            ]
            if sources:  # dataset-level lineage: the datasets this one was derived from
                fields = [{"namespace": ns, "name": n, "field": ""} for ns, n in sources]
                facets["columnLineage"] = _facet("columnLineage", {"fields": {}, "dataset": fields})
        return {"namespace": namespace, "name": name, "facets": facets}

    def side(self, node: str, role: str | None, group: str) -> dict[str, Any]:
        """An input or output of a run (its edge's role in lineal's own facet)."""
        found = self.dataset(node, output=group == "outputFacets")
        if role is not None:
            found[group] = {m.ROLE_FACET: m.role_facet(role)}
        return found

    def dataset_name(self, node: str) -> tuple[str, str]:
        artifact = self.artifact(node)
        came = artifact.meta.get("openlineage")
        if isinstance(came, Mapping) and isinstance(came.get("namespace"), str):
            return str(came["namespace"]), str(came["name"])
        return m.NAMESPACE, f"{artifact.kind}/{artifact.name or artifact.digest}"

    def events(self, run: Run) -> list[dict[str, Any]]:
        node = f"run/{run.id}"
        edges = self.repo.store.edges(node)
        inputs: list[Edge] = []
        outputs: list[Edge] = []
        code = parent = None
        for edge in edges:
            if edge.kind == "used" and edge.child == node:
                if edge.role == "code":
                    code = edge.parent
                elif self.artifact(edge.parent).kind not in _NOT_DATASETS:
                    inputs.append(edge)
            elif edge.kind == "generated" and edge.parent == node:
                if edge.role != "openlineage":  # the reports of events it came from
                    outputs.append(edge)
            elif edge.kind == "informed_by" and edge.child == node:
                parent = edge.parent
        job = {**self.job(run), "facets": self.job_facets(run, code)}
        run_facets = self.run_facets(run, parent)
        start = {
            "eventType": "START",
            "eventTime": run.started,
            "run": {"runId": m.run_uuid(run.id), "facets": run_facets},
            "job": job,
            "inputs": [self.side(one.parent, one.role, "inputFacets") for one in inputs],
            "outputs": [],
            "producer": m.PRODUCER,
            "schemaURL": f"{SPEC}#/$defs/RunEvent",
        }
        terminal = _TERMINAL.get(run.status)
        if terminal is None:  # still running (or crashed): what it wrote so far, on START
            start["outputs"] = [self.side(one.child, one.role, "outputFacets") for one in outputs]
            return [start]
        end_facets = dict(run_facets)
        if run.metrics:
            end_facets[m.METRICS_FACET] = {
                "_producer": m.PRODUCER,
                "_schemaURL": m.METRICS_SCHEMA,
                "metrics": dict(run.metrics),
            }
        if terminal == "FAIL":
            message = run.error or "the run failed"
            end_facets["errorMessage"] = _facet(
                "errorMessage", {"message": message, "programmingLanguage": "python"}
            )
        end = {
            **start,
            "eventType": terminal,
            "eventTime": run.ended or run.started,
            "run": {"runId": m.run_uuid(run.id), "facets": end_facets},
            "outputs": [self.side(one.child, one.role, "outputFacets") for one in outputs],
        }
        return [start, end]

    def run_facets(self, run: Run, parent: str | None) -> dict[str, Any]:
        facets: dict[str, Any] = {}
        if parent is not None:
            above = self.run(parent.removeprefix("run/"))
            facets["parent"] = _facet(
                "parent", {"run": {"runId": m.run_uuid(above.id)}, "job": self.job(above)}
            )
        if run.params:
            parameters = [
                {"key": key, "value": json.dumps(value, sort_keys=True)}
                for key, value in sorted(run.params.items())
            ]
            facets["executionParameters"] = _facet(
                "executionParameters", {"parameters": parameters}
            )
        return facets

    def job_facets(self, run: Run, code: str | None) -> dict[str, Any]:
        if code is None:
            return {}
        body = self.artifact(code).meta
        came = (body.get("openlineage") or {}).get("sourceCodeLocation")
        if isinstance(came, Mapping):
            return {"sourceCodeLocation": _facet("sourceCodeLocation", came)}
        git = run.meta.get("code")
        if not isinstance(git, Mapping) or not git.get("remote"):
            return {}  # no URL to name (a repository without a remote)
        location = {"type": "git", "url": git["remote"], "repoUrl": git["remote"]}
        if git.get("commit"):
            location["version"] = git["commit"]
        if git.get("branch"):
            location["branch"] = git["branch"]
        return {"sourceCodeLocation": _facet("sourceCodeLocation", location)}


def events(repo: Lineal, ref: str) -> list[dict[str, Any]]:
    """The events of every run upstream of ``ref`` (and DatasetEvents for the artifacts
    upstream that no run touched), in time order."""
    from lineal.lineage.queries import upstream

    graph = upstream(repo, ref)
    exporter = _Exporter(repo)
    runs = [exporter.run(node.id.removeprefix("run/")) for node in graph.nodes.values()
            if node.type == "run"]  # fmt: skip
    found: list[dict[str, Any]] = []
    for run in sorted(runs, key=lambda one: (one.started or "", one.id)):
        found += exporter.events(run)
    found.sort(key=lambda event: str(event["eventTime"]))  # stable: START before its end
    for node in graph.nodes.values():
        if node.type != "artifact" or node.id in exporter.touched:
            continue
        artifact = exporter.artifact(node.id)
        if artifact.kind in _NOT_DATASETS or (
            artifact.kind == "report" and "openlineage" in artifact.meta
        ):
            continue
        found.append(
            {
                "eventTime": _recorded_time(repo, artifact),
                "dataset": exporter.dataset(node.id),
                "producer": m.PRODUCER,
                "schemaURL": f"{SPEC}#/$defs/DatasetEvent",
            }
        )
    return found


def run_events(repo: Lineal, run: str | Run) -> list[dict[str, Any]]:
    """One run's events as the export writes them: START, and its terminal event once it
    ended (for an emitter sending each run as it happens). ``run``: its id (read from the
    store), or the Run as its writer holds it (a server may not have had its end yet)."""
    exporter = _Exporter(repo)
    return exporter.events(exporter.run(run) if isinstance(run, str) else run)


def _recorded_time(repo: Lineal, artifact: Artifact) -> str:
    """When an artifact was recorded: its ledger record's time."""
    if artifact.seq is not None:
        record = next(repo.store.records(after=artifact.seq - 1, limit=1), None)
        if record is not None and record.seq == artifact.seq:
            return str(record.time)
    return "1970-01-01T00:00:00.000000Z"


def export(repo: Lineal, ref: str, *, flavor: str = "jsonl") -> bytes:
    """The events of REF's upstream as JSON Lines or a JSON array."""
    found = events(repo, ref)
    if flavor == "json":
        return (json.dumps(found, indent=2, ensure_ascii=False) + "\n").encode()
    return "".join(json.dumps(one, ensure_ascii=False) + "\n" for one in found).encode()
