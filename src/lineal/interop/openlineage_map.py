"""How OpenLineage's nouns become lineal's: run ids, names, dataset versions, code, statuses.

Pure functions of an event's parts (no store, no clock), shared by the ingest and the export so
that what one writes the other reads back:

- a run's ULID *is* its runId's 128 bits (a UUIDv7, which current OpenLineage clients emit,
  keeps its millisecond time where a ULID keeps it); the runId comes back exactly, and events
  of one run, or a ``parent`` facet naming a run not seen yet, all agree without a lookup;
- a dataset ``(namespace, name)`` becomes ``dataset/NAME`` (``model/NAME`` when its
  ``datasetType`` says MODEL), NAME the two joined with other characters than lineal names
  allow turned to ``-``; its digest is the ``version`` facet's ``sha256:…`` as given, else
  the sha256 of its identity and version, else of its identity alone;
- lineal's own nodes travel as namespace ``lineal`` and name ``KIND/NAME`` (or
  ``KIND/sha256:HEX`` when unnamed), and come back as themselves.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lineal.model import canonical
from lineal.model.digests import digest_bytes, is_digest
from lineal.model.entities import artifact_node
from lineal.model.refs import ARTIFACT_KINDS

#: The namespace of lineal's own artifacts and runs in the events it exports.
NAMESPACE = "lineal"
#: Who produced the events lineal exports, and the schema of its metrics run facet.
PRODUCER = "https://pypi.org/project/lineal/"
METRICS_FACET = "lineal_metrics"
METRICS_SCHEMA = (
    "https://pypi.org/project/lineal/spec/facets/1-0-0/LinealMetricsRunFacet.json"
    "#/$defs/LinealMetricsRunFacet"
)
#: The input or output facet holding the role of lineal's edge (train, eval, model…).
ROLE_FACET = "lineal_role"
ROLE_SCHEMA = (
    "https://pypi.org/project/lineal/spec/facets/1-0-0/LinealRoleDatasetFacet.json"
    "#/$defs/LinealRoleDatasetFacet"
)
#: The event types that end a run, and the run status each gives.
FINAL_STATUS = {"COMPLETE": "finished", "FAIL": "failed", "ABORT": "killed"}
#: The facets a dataset's meta keeps from the first event that names it.
_NAME_LIMIT = 128
_NOT_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_OWN_NAME = re.compile(rf"({'|'.join(ARTIFACT_KINDS)})/(.+)")


def run_ulid(run_id: str) -> str:
    """The ULID of an OpenLineage runId (a UUID): the same 128 bits."""
    from ulid import ULID

    return str(ULID.from_bytes(uuid.UUID(run_id).bytes))


def run_uuid(ulid: str) -> str:
    """The OpenLineage runId of a lineal run: its ULID's 128 bits as a UUID."""
    from ulid import ULID

    return str(uuid.UUID(bytes=ULID.from_str(ulid).bytes))


def lineal_name(*parts: str) -> str:
    """A lineal name (``[A-Za-z0-9][A-Za-z0-9._-]{0,127}``) for ``parts`` joined: other
    characters become ``-``; a name too long keeps its start and a digest of the whole."""
    whole = "/".join(parts)
    name = _NOT_NAME.sub("-", whole).strip("-._") or "unnamed"
    if len(name) > _NAME_LIMIT:
        tail = hashlib.sha256(whole.encode()).hexdigest()[:12]
        name = f"{name[: _NAME_LIMIT - len(tail) - 1].rstrip('-._')}-{tail}"
    return name


def event_digest(event: Mapping[str, Any]) -> tuple[str, int]:
    """The digest and size of an event's canonical bytes: the identity of its report."""
    body = canonical.encode(event)
    return digest_bytes(body), len(body)


def facet_body(facet: Mapping[str, Any]) -> dict[str, Any]:
    """A facet without its ``_producer`` and ``_schemaURL``."""
    return {key: value for key, value in facet.items() if not key.startswith("_")}


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetVersion:
    """The artifact an event's dataset stands for."""

    kind: str
    name: str | None
    digest: str
    size: int | None = None
    uri: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def node(self) -> str:
        return artifact_node(self.kind, self.name, self.digest)


def dataset_version(dataset: Mapping[str, Any], *, written_by: str | None = None) -> DatasetVersion:
    """The artifact of an event's input or output (or a DatasetEvent's dataset).

    ``written_by``: the runId of a run whose output, had it no ``version`` facet, would be
    the same node as one of its inputs; the version it wrote is then its own.
    """
    namespace, name = str(dataset["namespace"]), str(dataset["name"])
    facets = dataset.get("facets") or {}
    version = _text(facets.get("version"), "datasetVersion")
    own = _OWN_NAME.fullmatch(name) if namespace == NAMESPACE else None
    if own is not None and version is not None and is_digest(version):
        kind, rest = own.group(1), own.group(2)
        bare = is_digest(rest)
        if bare or _NOT_NAME.search(rest) is None:
            return DatasetVersion(kind=kind, name=None if bare else rest, digest=version)
    kind = (
        "model"
        if (_text(facets.get("datasetType"), "datasetType") or "").upper() == "MODEL"
        else "dataset"
    )
    identity: dict[str, Any] = {"namespace": namespace, "name": name}
    if version is not None and is_digest(version):
        digest = version
    elif version is not None:
        digest = digest_bytes(canonical.encode({**identity, "version": version}))
    elif written_by is not None:
        digest = digest_bytes(canonical.encode({**identity, "written_by": written_by}))
    else:
        digest = digest_bytes(canonical.encode(identity))
    return DatasetVersion(
        kind=kind,
        name=lineal_name(namespace, name),
        digest=digest,
        uri=_uri(namespace, name),
        meta={"openlineage": {"namespace": namespace, "name": name, "facets": dict(facets)}},
    )


def _text(facet: object, key: str) -> str | None:
    if isinstance(facet, Mapping) and isinstance(facet.get(key), str):
        return str(facet[key])
    return None


def _uri(namespace: str, name: str) -> str | None:
    if namespace == "file":
        return f"file://{name}" if name.startswith("/") else None
    if "://" in namespace:
        return f"{namespace.rstrip('/')}/{name.lstrip('/')}"
    return None


def column_sources(dataset: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The ``(namespace, name)`` of every dataset an output's ``columnLineage`` facet names."""
    facet = (dataset.get("facets") or {}).get("columnLineage")
    if not isinstance(facet, Mapping):
        return []
    found: dict[tuple[str, str], None] = {}
    fields = facet.get("fields")
    inputs: list[Any] = []
    if isinstance(fields, Mapping):
        for one in fields.values():
            if isinstance(one, Mapping) and isinstance(one.get("inputFields"), list):
                inputs += one["inputFields"]
    if isinstance(facet.get("dataset"), list):
        inputs += facet["dataset"]
    for one in inputs:
        if (
            isinstance(one, Mapping)
            and isinstance(one.get("namespace"), str)
            and isinstance(one.get("name"), str)
        ):
            found[(one["namespace"], one["name"])] = None
    return list(found)


def code_of(job: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The digest and meta of the code a job's ``sourceCodeLocation`` facet names."""
    facet = (job.get("facets") or {}).get("sourceCodeLocation")
    if not isinstance(facet, Mapping):
        return None
    body = {"openlineage": {"sourceCodeLocation": facet_body(facet)}}
    return digest_bytes(canonical.encode(body)), body


def run_identity(event: Mapping[str, Any]) -> dict[str, Any]:
    """What a run's meta keeps of its OpenLineage identity."""
    job = event["job"]
    return {
        "openlineage": {
            "runId": event["run"]["runId"],
            "job": {"namespace": job["namespace"], "name": job["name"]},
        }
    }


def parent_of(event: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The runId and job of the run a ``parent`` facet names, if it names one."""
    facet = ((event.get("run") or {}).get("facets") or {}).get("parent")
    if not isinstance(facet, Mapping):
        return None
    run, job = facet.get("run"), facet.get("job")
    if not (isinstance(run, Mapping) and isinstance(job, Mapping)):
        return None
    run_id = run.get("runId")
    if not (isinstance(run_id, str) and isinstance(job.get("namespace"), str)):
        return None
    if not isinstance(job.get("name"), str):
        return None
    try:
        uuid.UUID(run_id)
    except ValueError:
        return None
    return run_id, {"namespace": job["namespace"], "name": job["name"]}


def error_of(event: Mapping[str, Any]) -> str | None:
    """The message of a run's ``errorMessage`` facet."""
    facet = ((event.get("run") or {}).get("facets") or {}).get("errorMessage")
    return _text(facet, "message")


def params_of(event: Mapping[str, Any]) -> dict[str, Any]:
    """A run's params from its ``executionParameters`` facet (values that are JSON text,
    as lineal's export writes them, come back as the values they spell)."""
    facet = ((event.get("run") or {}).get("facets") or {}).get("executionParameters")
    found: dict[str, Any] = {}
    if not isinstance(facet, Mapping) or not isinstance(facet.get("parameters"), list):
        return found
    for one in facet["parameters"]:
        if not isinstance(one, Mapping) or not isinstance(one.get("key"), str):
            continue
        value = one.get("value")
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        found[one["key"]] = value
    return found


def metrics_of(event: Mapping[str, Any]) -> dict[str, float]:
    """The metric values of lineal's own ``lineal_metrics`` run facet (numbers only)."""
    facet = ((event.get("run") or {}).get("facets") or {}).get(METRICS_FACET)
    metrics = facet.get("metrics") if isinstance(facet, Mapping) else None
    if not isinstance(metrics, Mapping):
        return {}
    return {
        str(key): value
        for key, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def role_of(dataset: Mapping[str, Any], group: str) -> str | None:
    """The role lineal's own ``lineal_role`` facet gives an input or output, if a valid one."""
    from lineal.model.refs import NAME_PATTERN

    role = _text((dataset.get(group) or {}).get(ROLE_FACET), "role")
    return role if role is not None and re.fullmatch(NAME_PATTERN, role) else None


def role_facet(role: str) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": ROLE_SCHEMA, "role": role}
