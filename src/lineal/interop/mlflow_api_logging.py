"""Logging into an MLflow run over a ``Lineal``: metrics, batches, dataset inputs, history.

A metric point keeps MLflow's step and timestamp (ms, kept as seconds); ``log-batch`` lands as
one append (its metrics one ``metrics.batch``, its new params one ``run.params``, its tags).
A dataset input becomes a ``dataset`` artifact named from the dataset's name, its digest the
sha256 of the canonical JSON of ``{name, digest, source_type, source}`` (MLflow's own digest
is a truncated md5 of a sample, kept as meta ``mlflow_digest``), and a ``used`` edge into the
run whose role is the ``mlflow.data.context`` tag.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from lineal.client import Lineal
from lineal.errors import Conflict, NotFound
from lineal.interop import mlflow_api as api
from lineal.interop.mlflow_api_runs import active_run, param_ops, tag_ops, the_run, writable
from lineal.interop.mlflow_errors import INVALID_PARAMETER, MlflowError
from lineal.model.entities import Artifact
from lineal.model.ops import ArtifactRecord, EdgeRecord, MetricsBatch, Op
from lineal.model.series import Series

#: MLflow's limits on one log-batch request.
MAX_METRICS, MAX_PARAMS, MAX_TAGS = 1000, 100, 100
CONTEXT = "mlflow.data.context"


def _number(value: Any, key: str) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)  # "NaN", "Infinity" and "-Infinity" as proto JSON spells them
    except (TypeError, ValueError):
        raise MlflowError(
            INVALID_PARAMETER, f"Got invalid value {value!r} for metric '{key}'"
        ) from None


def metrics_op(run_id: str, metrics: list[Any]) -> MetricsBatch | None:
    """One ``metrics.batch`` of MLflow metrics ``[{key, value, timestamp, step}]``: a series
    per key, its points ordered by step (MLflow keeps them; lineal wants a batch's steps in
    order), times in seconds."""
    points: dict[str, list[tuple[int, float, float]]] = {}
    for one in metrics:
        if not isinstance(one, Mapping) or not isinstance(one.get("key"), str):
            raise MlflowError(INVALID_PARAMETER, f"Invalid metric {one!r}: expected a key")
        key = one["key"]
        value = _number(one.get("value"), key)
        stamp = api.integer(one, "timestamp", api.now_ms()) or 0
        step = api.integer(one, "step", 0) or 0
        points.setdefault(key, []).append((step, value, stamp / 1000))
    if not points:
        return None
    series = []
    for key, found in points.items():
        found.sort(key=lambda point: point[0])
        series.append(
            Series(
                key,
                array("q", [p[0] for p in found]),
                array("d", [p[1] for p in found]),
                array("d", [p[2] for p in found]),
            )
        )
    return MetricsBatch(run=run_id, series=tuple(series))


def log_metric(repo: Lineal, body: Mapping[str, Any]) -> dict[str, Any]:
    """``runs/log-metric``: one point."""
    run_id = api.field(body, "run_id", required=False) or api.field(body, "run_uuid")
    key = api.field(body, "key")
    if body.get("value") is None:
        raise MlflowError(INVALID_PARAMETER, "Missing value for required parameter 'value'.")
    op = metrics_op(writable(repo, run_id), [{**body, "key": key}])
    if op is not None:
        with _in_order():
            repo.store.append(op)
    return {}


@contextmanager
def _in_order() -> Iterator[None]:
    """A metric's steps only go forward in lineal (MLflow allows any order): a point behind
    its key's last step is refused as MLflow refuses a bad value, saying so."""
    try:
        yield
    except Conflict as exc:
        raise MlflowError(INVALID_PARAMETER, exc.message, hint=exc.hint) from None


def log_batch(repo: Lineal, body: Mapping[str, Any]) -> dict[str, Any]:
    """``runs/log-batch``: metrics, params and tags in one append."""
    run_id = api.field(body, "run_id")
    metrics = body.get("metrics") or []
    if not isinstance(metrics, list):
        raise MlflowError(INVALID_PARAMETER, "Invalid value for parameter 'metrics': not a list")
    params, tags = api.key_values(body, "params"), api.key_values(body, "tags")
    for what, count, most in (
        ("metrics", len(metrics), MAX_METRICS),
        ("params", len(params), MAX_PARAMS),
        ("tags", len(tags), MAX_TAGS),
    ):
        if count > most:
            raise MlflowError(
                INVALID_PARAMETER,
                f"A batch logging request can contain at most {most} {what}. Got {count} {what}.",
            )
    with repo.atomic():
        if params:
            run = active_run(repo, run_id)
            ops: list[Op] = param_ops(run, params)
            run_id = run.id
        else:
            ops = []
            run_id = writable(repo, run_id)
        ops += tag_ops(repo, f"run/{run_id}", tags)
        op = metrics_op(run_id, metrics)
        if op is not None:
            ops.append(op)
        if ops:
            with _in_order():
                repo.store.append(ops)
    return {}


def _dataset_ops(repo: Lineal, run_id: str, one: Any) -> list[Op]:
    if not isinstance(one, Mapping) or not isinstance(one.get("dataset"), Mapping):
        raise MlflowError(INVALID_PARAMETER, f"Invalid dataset input {one!r}: expected a dataset")
    dataset = one["dataset"]
    name = api.field(dataset, "name")
    identity = {
        "name": name,
        "digest": api.field(dataset, "digest"),
        "source_type": api.field(dataset, "source_type", required=False),
        "source": api.field(dataset, "source", required=False),
    }
    digest = api.digest_of_json(identity)
    meta = {
        "mlflow_name": name,
        "mlflow_digest": identity["digest"],
        **{key: str(dataset[key]) for key in ("source_type", "source", "schema", "profile")
           if dataset.get(key)},
    }  # fmt: skip
    context = dict(api.key_values(one, "tags")).get(CONTEXT) or None
    role = None if context is None else api.lineal_name(context, "input")
    ops: list[Op] = []
    artifact = ArtifactRecord(
        kind="dataset", digest=digest, name=api.lineal_name(name, "dataset"), meta=meta
    )
    node = f"dataset/{artifact.name}@{digest}"
    try:
        found = repo.resolve(node)
    except NotFound:
        found = None
    if not isinstance(found, Artifact):
        ops.append(artifact)
    run_node = f"run/{run_id}"
    edge = EdgeRecord(kind="used", parent=node, child=run_node, role=role)
    if not any(
        e.kind == "used" and e.parent == node and e.role == role for e in repo.store.edges(run_node)
    ):
        ops.append(edge)
    return ops


def log_inputs(repo: Lineal, body: Mapping[str, Any]) -> dict[str, Any]:
    """``runs/log-inputs``: each dataset a versioned ``dataset`` the run ``used`` (a second
    log of the same input appends nothing)."""
    run_id = api.field(body, "run_id")
    datasets = body.get("datasets") or []
    if not isinstance(datasets, list):
        raise MlflowError(INVALID_PARAMETER, "Invalid value for parameter 'datasets': not a list")
    with repo.atomic():
        run = active_run(repo, run_id)
        ops: list[Op] = []
        for one in datasets:
            ops += _dataset_ops(repo, run.id, one)
        if ops:
            repo.store.append(ops)
    return {}


def _points(repo: Lineal, run_id: str, key: str) -> list[dict[str, Any]]:
    found = repo.store.metric_series(run_id, key).get(key)
    if found is None:
        return []
    return [
        {
            "key": key,
            "value": api.number(value),
            "timestamp": int(when * 1000 + 0.5),
            "step": step,
        }
        for step, value, when in zip(found.steps, found.values, found.times, strict=True)
    ]


def metric_history(repo: Lineal, body: Mapping[str, Any]) -> dict[str, Any]:
    """``metrics/get-history``: every point of one metric of a run, in logging order."""
    from lineal.interop.mlflow_api_search import page

    run_id = api.field(body, "run_id", required=False) or api.field(body, "run_uuid")
    key = api.field(body, "metric_key")
    run = the_run(repo, run_id)
    points = _points(repo, run.id, key)
    size = api.integer(body, "max_results")
    if size is None and not body.get("page_token"):
        return {"metrics": points}
    chosen, token = page(points, size or api.MAX_RESULTS, body.get("page_token"))
    return {"metrics": chosen, **({"next_page_token": token} if token else {})}


def metric_history_bulk(repo: Lineal, query: Mapping[str, list[str]]) -> dict[str, Any]:
    """``metrics/get-history-bulk-interval``: the points of one metric of several runs, each
    with its ``run_id``, in a step range, at most ``max_results`` a run."""
    keys = query.get("metric_key") or []
    if not keys:
        raise MlflowError(INVALID_PARAMETER, "Missing value for required parameter 'metric_key'.")
    runs = query.get("run_ids") or []
    if not runs:
        raise MlflowError(INVALID_PARAMETER, "Missing value for required parameter 'run_ids'.")
    bounds = {
        name: api.integer({name: next(iter(query.get(name) or []), None)}, name)
        for name in ("start_step", "end_step", "max_results")
    }
    most = bounds["max_results"] or 2500
    found = []
    for run_id in runs:
        run = the_run(repo, run_id)
        points = [
            {**one, "run_id": run.id}
            for one in _points(repo, run.id, keys[0])
            if (bounds["start_step"] is None or one["step"] >= bounds["start_step"])
            and (bounds["end_step"] is None or one["step"] <= bounds["end_step"])
        ]
        if len(points) > most:  # evenly spaced, the first and the last kept
            chosen = {round(i * (len(points) - 1) / (most - 1)) for i in range(most)}
            points = [one for i, one in enumerate(points) if i in chosen]
        found += points
    return {"metrics": found}
