"""Helpers of the OpenLineage tests: the spec folder (../shared/data, never copied), and
events built the way producers send them."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from shared_data import require_shared_data

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"
SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACETS = "https://openlineage.io/spec/facets"


def ol_root() -> Path:
    return require_shared_data() / "openlineage" / "OpenLineage__OpenLineage"


def spec_dir() -> Path:
    return ol_root() / "spec"


def facet(schema: str, **body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{FACETS}/{schema}", **body}


def dataset(namespace: str, name: str, **facets: Any) -> dict[str, Any]:
    return {"namespace": namespace, "name": name, "facets": facets}


def event(
    kind: str,
    run_id: str,
    *,
    job: str = "etl.clean",
    namespace: str = "airflow",
    time: str = "2026-12-01T10:00:00.000Z",
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    run_facets: dict[str, Any] | None = None,
    job_facets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "eventType": kind,
        "eventTime": time,
        "run": {"runId": run_id, "facets": run_facets or {}},
        "job": {"namespace": namespace, "name": job, "facets": job_facets or {}},
        "inputs": inputs or [],
        "outputs": outputs or [],
        "producer": PRODUCER,
        "schemaURL": SCHEMA,
    }


def new_run_id() -> str:
    from openlineage.client.uuid import generate_new_uuid

    return str(generate_new_uuid())


def parent_facet(run_id: str, job: str, namespace: str = "airflow") -> dict[str, Any]:
    return facet(
        "1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
        run={"runId": run_id},
        job={"namespace": namespace, "name": job},
    )


def v4() -> str:
    return str(uuid.uuid4())
