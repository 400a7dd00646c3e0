"""OpenLineage events onto lineal's graph: runs, jobs, datasets, parents, code and column
lineage; every event kept; idempotent, order-free and resumable; the real sample events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openlineage_support import (
    dataset,
    event,
    facet,
    new_run_id,
    ol_root,
    parent_facet,
    spec_dir,
    v4,
)

from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.interop.openlineage_ingest import ingest
from lineal.interop.openlineage_map import lineal_name, run_ulid, run_uuid
from lineal.lineage.queries import upstream
from lineal.model import canonical
from lineal.model.digests import digest_bytes
from lineal.store.base import Store

SCHEMA = "1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
LINEAGE = "1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"


def _pipeline(run_id: str, parent_id: str) -> list[dict[str, Any]]:
    """A training step under a DAG run: reads a table, writes a model (column lineage too)."""
    source = dataset(
        "postgres://db:5432",
        "public.images",
        schema=facet(SCHEMA, fields=[{"name": "id", "type": "int"}]),
        dataSource=facet(
            "1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet",
            name="db",
            uri="postgres://db:5432",
        ),
        version=facet(
            "1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
            datasetVersion="42",
        ),
    )
    lineage = facet(
        LINEAGE,
        fields={
            "w": {
                "inputFields": [
                    {"namespace": "postgres://db:5432", "name": "public.images", "field": "id"}
                ]
            }
        },
    )
    model = dataset(
        "s3://models",
        "detector/weights.pt",
        datasetType=facet(
            "1-0-1/DatasetTypeDatasetFacet.json#/$defs/DatasetTypeDatasetFacet", datasetType="MODEL"
        ),
        columnLineage=lineage,
    )
    code = facet(
        "1-1-0/SourceCodeLocationJobFacet.json#/$defs/SourceCodeLocationJobFacet",
        type="git",
        url="https://github.com/acme/train",
        version="abc123",
    )
    parent = {"parent": parent_facet(parent_id, "nightly")}
    return [
        event("START", run_id, job="train model", inputs=[source], run_facets=parent,
              job_facets={"sourceCodeLocation": code}),
        event("COMPLETE", run_id, job="train model", time="2026-12-01T10:05:00Z",
              inputs=[source], outputs=[model], run_facets=parent),
    ]  # fmt: skip


def test_events_map_onto_runs_datasets_and_edges(repo: Lineal) -> None:
    run_id, parent_id = new_run_id(), new_run_id()
    result = ingest(repo, _pipeline(run_id, parent_id), spec=str(spec_dir()))
    assert result.as_dict() | {"validation": "full"} == result.as_dict()
    assert (result.events, result.runs, result.finished, result.jobs) == (2, 2, 1, 1)
    assert result.datasets == 2
    assert result.unchecked_facets == 0
    run = repo.store.get_run(run_ulid(run_id))
    assert run_uuid(run.id) == run_id  # the runId comes back exactly
    assert (run.name, run.status) == ("train-model", "finished")
    assert (run.started, run.ended) == (
        "2026-12-01T10:00:00.000000Z",
        "2026-12-01T10:05:00.000000Z",
    )
    assert run.meta["openlineage"] == {
        "runId": run_id,
        "job": {"namespace": "airflow", "name": "train model"},
    }
    name = lineal_name("postgres://db:5432", "public.images")
    assert name == "postgres-db-5432-public.images"
    identity = {"namespace": "postgres://db:5432", "name": "public.images", "version": "42"}
    table = repo.resolve(f"dataset/{name}")
    assert table.digest == digest_bytes(canonical.encode(identity))
    assert set(table.meta["openlineage"]["facets"]) == {"schema", "dataSource", "version"}
    model = repo.resolve("model/s3-models-detector-weights.pt")
    assert model.uri == "s3://models/detector/weights.pt"
    graph = upstream(repo, "model/s3-models-detector-weights.pt")
    edges = {
        (e.kind, graph.nodes[e.parent].kind, graph.nodes[e.child].kind, e.role) for e in graph.edges
    }
    assert edges == {
        ("generated", "run", "model", None),
        ("used", "dataset", "run", None),
        ("used", "code", "run", "code"),
        ("informed_by", "run", "run", None),
        ("derived_from", "dataset", "model", None),
    }
    parent = repo.store.get_run(run_ulid(parent_id))
    assert parent.name == "nightly"
    assert parent.meta["openlineage"]["runId"] == parent_id
    # Every event is kept whole: a report the run generated, its digest the event's bytes.
    reports = [e for e in repo.edges(f"run/{run.id}") if e.role == "openlineage"]
    kept = sorted(repo.unnamed(e.child).meta["openlineage"]["event"]["eventType"] for e in reports)
    assert kept == ["COMPLETE", "START"]


def test_a_second_ingest_appends_nothing(store: Store) -> None:
    repo = Lineal(store)
    events = _pipeline(new_run_id(), new_run_id())
    first = ingest(repo, events)
    assert first.events == 2
    assert first.validation == "basic"
    assert "full schema validation was off" in first.as_dict()["validation_note"]
    head = repo.store.head()
    again = ingest(repo, events)
    assert (again.events, again.duplicates, again.runs, again.edges) == (0, 2, 0, 0)
    assert repo.store.head() == head


def _graph(repo: Lineal, ref: str) -> set[tuple[str, str, str, str | None]]:
    graph = upstream(repo, ref)
    return {(e.kind, e.parent, e.child, e.role) for e in graph.edges if e.role != "openlineage"}


def test_events_may_come_in_any_order(tmp_path: Path) -> None:
    import lineal

    run_id, parent_id = new_run_id(), v4()  # a UUIDv4 run id maps as well
    events = _pipeline(run_id, parent_id)
    graphs = []
    for name, order in (("in", events), ("out", events[::-1])):
        lineal.init(tmp_path / name, agent="tester")
        with Lineal.open(path=tmp_path / name) as repo:
            ingest(repo, order)
            graphs.append(_graph(repo, "model/s3-models-detector-weights.pt"))
            run = repo.store.get_run(run_ulid(run_id))
            assert run.status == "finished"  # COMPLETE first: the run starts and ends there
    assert graphs[0] == graphs[1]
    # The parent's own events, later: its run is the one the facet made.
    lineal.init(tmp_path / "late", agent="tester")
    with Lineal.open(path=tmp_path / "late") as repo:
        ingest(repo, events)
        late = ingest(
            repo,
            [event("START", parent_id, job="nightly"), event("COMPLETE", parent_id, job="nightly")],
        )
        assert (late.runs, late.finished) == (0, 1)
        assert repo.store.get_run(run_ulid(parent_id)).status == "finished"


def test_a_job_reading_and_writing_one_table_stays_acyclic(repo: Lineal) -> None:
    table = dataset("warehouse", "daily")
    other = dataset("warehouse", "other")
    first, second = new_run_id(), new_run_id()
    result = ingest(repo, [
        event("COMPLETE", first, inputs=[table], outputs=[table]),  # INSERT INTO t SELECT … t
        event("COMPLETE", second, job="b", inputs=[table], outputs=[other]),
        event("COMPLETE", new_run_id(), job="c", inputs=[other], outputs=[table]),  # a loop
    ])  # fmt: skip
    assert result.events == 3
    assert result.own_outputs == 1
    versions = repo.versions("dataset", "warehouse-daily")
    assert len(versions) == 3  # as read; as the first run wrote it; as the third did


def _completed(one: dict[str, Any], index: int) -> dict[str, Any]:
    """An integration's expected event (a matcher template) made a whole event: the fields a
    matcher leaves out, a real run id, and each facet's _producer and _schemaURL."""
    filled = json.loads(json.dumps(one).replace("{{ any(result) }}", "x"))
    filled.setdefault("eventTime", f"2026-06-01T21:13:{index:02d}Z")
    filled["eventTime"] = f"2026-06-01T21:13:{index:02d}Z"
    filled.update(
        producer="https://github.com/OpenLineage/OpenLineage",
        schemaURL=event("START", v4())["schemaURL"],
    )
    if "run" in filled:
        filled["run"]["runId"] = v4()
        parent = filled["run"].get("facets", {}).get("parent", {})
        if "run" in parent:
            parent["run"]["runId"] = v4()
        elif parent:
            parent["run"] = {"runId": v4()}
    filled.setdefault("job", {"namespace": "spark", "name": f"job{index}"})
    datasets = [*filled.get("inputs", []), *filled.get("outputs", [])]
    for named in datasets:
        named.setdefault("namespace", "jdbc://test")  # a matcher may leave it out too
    for holder in [filled.get("run", {}), filled["job"], *datasets]:
        for group in ("facets", "inputFacets", "outputFacets"):
            for body in holder.get(group, {}).values():
                body.setdefault("_producer", "https://github.com/OpenLineage/OpenLineage")
                body.setdefault("_schemaURL", "https://example.com/custom-facet.json")
    return filled


def test_the_real_sample_events_ingest_completely(repo: Lineal) -> None:
    root = ol_root()
    spec = str(spec_dir())
    examples = ("spec/tests/example_full_event.json", "client/python/tests/example_full_event.json")
    whole = [json.loads((root / p).read_text()) for p in examples]
    # The spec's facet examples, each as an output's (or the job's) facet.
    wrapped = event("COMPLETE", v4(), outputs=[dataset("SnowflakeOpenLineage", "REPORT")])
    for name, group, schema in (
        ("ColumnLineageDatasetFacet", wrapped["outputs"][0]["facets"], LINEAGE),
        ("SchemaDatasetFacet", wrapped["outputs"][0]["facets"], SCHEMA),
    ):
        ((key, body),) = json.loads((root / "spec/tests" / name / "1.json").read_text()).items()
        group[key] = facet(schema, **body)
    lineage = json.loads((root / "spec/tests/LineageFacet/job-to-dataset.json").read_text())
    wrapped["job"]["facets"].update(lineage)
    result = ingest(repo, [*whole, wrapped], spec=spec)
    assert result.events == 3
    assert result.failed == 0
    report = repo.resolve("dataset/SnowflakeOpenLineage-REPORT")
    sources = {e.parent.split("@")[0] for e in repo.edges(report) if e.kind == "derived_from"}
    assert sources == {
        "dataset/SnowflakeOpenLineage-CUSTOMERS",
        "dataset/SnowflakeOpenLineage-DISCOUNTS",
    }
    assert set(report.meta["openlineage"]["facets"]) == {"columnLineage", "schema"}
    # The integrations' files are matcher templates (no producer, no time, "{{ any }}" ids):
    # refused, each naming what is missing; made whole, they ingest completely.
    templates = sorted((root / "integration").rglob("*.json"))
    assert len(templates) >= 6
    found: list[dict[str, Any]] = []
    for path in templates:
        loaded = json.loads(path.read_text())
        found += loaded if isinstance(loaded, list) else [loaded]
    for one in found:
        with pytest.raises(InvalidInput, match="is required"):
            ingest(repo, [one], spec=spec)
    filled = [_completed(one, i) for i, one in enumerate(found)]
    result = ingest(repo, filled, spec=spec)
    assert result.events == len(filled)
    assert result.failed == 0
    named = sum(len(one.get("inputs", [])) + len(one.get("outputs", [])) for one in filled)
    assert named > 10
    for one in filled:
        for side in ("inputs", "outputs"):
            for ds in one.get(side, []):
                kind = "model" if ds.get("facets", {}).get("datasetType") else "dataset"
                assert repo.names(kind).count(lineal_name(ds["namespace"], ds["name"])) == 1
