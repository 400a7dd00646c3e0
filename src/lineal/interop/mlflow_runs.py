"""One MLflow run into lineal, whole, in one transaction: what is already there is skipped.

The run (params, tags, status), its metric points, dataset inputs, files and the models it
logged (MLflow 2's ``mlflow.log-model.history``) are compared with what the store holds; only
what is missing is appended, so a re-import records nothing and an interrupted one finishes.
"""

from __future__ import annotations

import json
from array import array
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal.errors import NotFound
from lineal.interop import mlflow_mapping as mapping
from lineal.interop import mlflow_source as mlsource
from lineal.model.entities import artifact_node
from lineal.model.masking import mask_params

if TYPE_CHECKING:
    from lineal.cas.objects import ObjectCache
    from lineal.client import Lineal
    from lineal.interop.mlflow_result import MlflowImport
    from lineal.model.ops import Op


@dataclass
class Importing:
    """What every unit of one import shares."""

    repo: Lineal
    source: mlsource.Source
    result: MlflowImport
    cache: ObjectCache | None = None
    #: MLflow run id → lineal run id, for every run of the import (parents, models).
    run_ids: dict[str, str] = field(default_factory=dict)
    #: The lineal ids of the runs the store holds so far.
    landed: set[str] = field(default_factory=set)
    #: Where the files are of the runs whose files this machine cannot read.
    elsewhere: list[str] = field(default_factory=list)

    def holding(self) -> AbstractContextManager[None]:
        """The object cache held against gc until what was put in it is recorded."""
        return nullcontext() if self.cache is None else self.cache.writing()


@dataclass
class Unit:
    """The ops of one unit, and what the store already holds of it."""

    ops: list[Op] = field(default_factory=list)
    edges: set[tuple[str, str, str, str | None]] = field(default_factory=set)
    named: set[tuple[str, str, str]] = field(default_factory=set)
    unnamed: set[str] = field(default_factory=set)

    def edge(self, kind: str, parent: str, child: str, role: str | None = None) -> bool:
        """Add the edge unless it is there; True if added."""
        from lineal.model.ops import EdgeRecord

        if (kind, parent, child, role) in self.edges:
            return False
        self.edges.add((kind, parent, child, role))
        self.ops.append(EdgeRecord(kind=kind, parent=parent, child=child, role=role))
        return True

    def artifact(
        self, repo: Lineal, kind: str, name: str | None, digest: str, **fields: Any
    ) -> bool:
        """Record the artifact unless the store (or this unit) has it; True if recorded."""
        from lineal.model.ops import ArtifactRecord

        if name is None:
            if digest in self.unnamed or repo.store.unnamed(digest) is not None:
                return False
            self.unnamed.add(digest)
        else:
            if (kind, name, digest) in self.named:
                return False
            self.named.add((kind, name, digest))
            if repo.store.version_of(kind, name, digest) is not None:
                return False
        self.ops.append(ArtifactRecord(kind=kind, digest=digest, name=name, **fields))
        return True

    def known_edges(self, repo: Lineal, node: str) -> None:
        self.edges |= {(e.kind, e.parent, e.child, e.role) for e in repo.store.edges(node)}


def lineal_run_id(run: Any) -> str:
    info = run.info
    return mapping.run_ulid(info.start_time or 0, info.experiment_id, info.run_id)


def run_meta(run: Any, experiment_name: str, uri: str) -> dict[str, Any]:
    info = run.info
    meta = {
        "run_id": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "experiment": experiment_name,
        "user": info.user_id,
        "source": uri,
    }
    return {"mlflow": {k: v for k, v in meta.items() if v is not None}}


def import_run(job: Importing, run: Any, experiment_name: str) -> None:
    """Bring one run in, whole: read MLflow (and hash files) first, then one transaction."""
    info = run.info
    run_id = job.run_ids[info.run_id]
    histories = {
        key: mlsource.metric_history(job.source, info.experiment_id, info.run_id, key)
        for key in run.data.metrics
    }
    with job.holding():
        files = _hashed_files(job, run)
        with job.repo.atomic():
            unit = Unit()
            _run_itself(job, unit, run, run_id, experiment_name)
            _inputs(job, unit, run, run_id)
            _files_and_models(job, unit, run, run_id, files)
            _metrics(job, unit, run_id, histories)
            _finish(job, unit, run, run_id)
            if unit.ops:
                job.result.records += len(job.repo.store.append(unit.ops))
        if job.cache is not None:
            job.cache.sync()
    job.landed.add(run_id)


def _run_itself(job: Importing, unit: Unit, run: Any, run_id: str, experiment_name: str) -> None:
    from lineal.model.ops import RunParams, RunStart, TagSet

    info, store, node = run.info, job.repo.store, f"run/{run_id}"
    params = mask_params(dict(run.data.params))
    done, tally = job.result.imported, job.result.already
    try:
        existing = store.get_run(run_id)
    except NotFound:
        unit.ops.append(
            RunStart(
                id=run_id,
                name=mapping.lineal_name(experiment_name),
                started=mapping.time_of(info.start_time or 0),
                params=params,
                meta=run_meta(run, experiment_name, job.source.uri),
            )
        )
        done.runs += 1
        done.params += len(params)
        tags: dict[str, str] = {}
    else:
        tally.runs += 1
        missing = {k: v for k, v in params.items() if k not in existing.params}
        if missing:
            unit.ops.append(RunParams(id=run_id, params=missing))
        done.params += len(missing)
        tally.params += len(params) - len(missing)
        tags = store.tags(node)
        unit.known_edges(job.repo, node)
    for mlflow_key, value in sorted(run.data.tags.items()):
        key = mapping.tag_key(mlflow_key)
        if tags.get(key) == value:
            tally.tags += 1
            continue
        unit.ops.append(TagSet(target=node, key=key, value=value))
        done.tags += 1
    # The parent, once it is in (runs come oldest first; one that comes later, from another
    # experiment, is linked by the next import).
    parent = job.run_ids.get(run.data.tags.get("mlflow.parentRunId", ""))
    if parent is not None and parent in job.landed:
        unit.edge("informed_by", f"run/{parent}", node)


def _inputs(job: Importing, unit: Unit, run: Any, run_id: str) -> None:
    inputs = getattr(run.inputs, "dataset_inputs", None) or []
    for one in inputs:
        dataset = one.dataset
        name = mapping.lineal_name(dataset.name, "dataset")
        digest = mapping.dataset_digest(
            dataset.name, dataset.digest, dataset.source_type, dataset.source
        )
        role = next((t.value for t in one.tags if t.key == "mlflow.data.context"), None) or None
        meta = {"mlflow": {"name": dataset.name}, **mapping.dataset_meta(dataset)}
        recorded = unit.artifact(job.repo, "dataset", name, digest, meta=meta)
        linked = unit.edge("used", artifact_node("dataset", name, digest), f"run/{run_id}", role)
        counts = job.result.imported if recorded or linked else job.result.already
        counts.inputs += 1


def _hashed_files(job: Importing, run: Any) -> list[tuple[str, str, int, Path]]:
    """``(relative path, digest, size, path)`` of each file the run logged, each put in the
    workspace's object store when there is one."""
    from lineal.model.digests import PREFIX

    info = run.info
    folder = mlsource.local_dir(job.source, info.artifact_uri, info.experiment_id, info.run_id)
    if folder is None:
        if info.artifact_uri and not info.artifact_uri.startswith(("file:", "/")):
            job.elsewhere.append(info.artifact_uri)
        return []
    hashed = []
    for relative, path in mlsource.files_under(folder):
        if job.cache is not None:
            digest, size, _ = job.cache.add_file(path)
        else:
            import hashlib

            with path.open("rb") as handle:
                digest = PREFIX + hashlib.file_digest(handle, "sha256").hexdigest()
            size = path.stat().st_size
        hashed.append((relative, digest, size, path))
    return hashed


def _files_and_models(
    job: Importing, unit: Unit, run: Any, run_id: str, files: list[tuple[str, str, int, Path]]
) -> None:
    node = f"run/{run_id}"
    for relative, digest, size, path in files:
        recorded = unit.artifact(
            job.repo, "file", None, digest, size=size, uri=path.as_uri(),
            meta={"mlflow": {"path": relative, "run_id": run.info.run_id}},
        )  # fmt: skip
        linked = unit.edge("generated", node, digest)
        (job.result.imported if recorded or linked else job.result.already).artifacts += 1
    by_path = {relative: digest for relative, digest, _, _ in files}
    for entry in _logged_history(run):
        where = str(entry.get("artifact_path") or "model")
        model_id = entry.get("model_uuid") or entry.get("model_id")
        digest = by_path.get(f"{where}/MLmodel") or mapping.json_digest(
            {"model_id": model_id, "run_id": run.info.run_id, "version": None}
        )
        name = mapping.lineal_name(where, "model")
        meta = {
            "mlflow": {
                "model_id": model_id,
                "source": f"runs:/{run.info.run_id}/{where}",
                "run_id": run.info.run_id,
                "flavors": sorted(entry.get("flavors") or {}),
            }
        }
        recorded = unit.artifact(job.repo, "model", name, digest, meta=meta)
        linked = unit.edge("generated", node, artifact_node("model", name, digest))
        (job.result.imported if recorded or linked else job.result.already).models += 1


def _logged_history(run: Any) -> list[dict[str, Any]]:
    """MLflow 2's record of the models a run logged (MLflow 3 has logged models instead)."""
    text = run.data.tags.get("mlflow.log-model.history")
    if not text:
        return []
    try:
        entries = json.loads(text)
    except ValueError:
        return []
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _metrics(job: Importing, unit: Unit, run_id: str, histories: dict[str, list[Any]]) -> None:
    from lineal.model.ops import MetricsBatch
    from lineal.model.series import Series

    if not histories:
        return
    have = job.repo.store.metric_series(run_id) if _exists(unit) else {}
    series = []
    for key, points in sorted(histories.items()):
        lineal_key = mapping.metric_key(key)
        known = len(have[lineal_key]) if lineal_key in have else 0
        new = points[known:]
        job.result.already.metric_points += min(known, len(points))
        if not new:
            continue
        job.result.imported.metric_points += len(new)
        series.append(
            Series(
                lineal_key,
                array("q", (m.step for m in new)),
                array("d", (m.value for m in new)),
                array("d", (m.timestamp / 1000 for m in new)),
            )
        )
    if series:
        unit.ops.append(MetricsBatch(run=run_id, series=tuple(series)))


def _exists(unit: Unit) -> bool:
    from lineal.model.ops import RunStart

    return not any(isinstance(op, RunStart) for op in unit.ops)


def _finish(job: Importing, unit: Unit, run: Any, run_id: str) -> None:
    from lineal.model.ops import RunFinish

    status = mapping.STATUSES.get(run.info.status)
    if status is None:
        return
    if _exists(unit) and job.repo.store.get_run(run_id).status != "running":
        return
    ended = run.info.end_time or run.info.start_time or 0
    unit.ops.append(RunFinish(id=run_id, status=status, ended=mapping.time_of(ended)))
