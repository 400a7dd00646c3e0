"""MLflow runs over a ``Lineal``: create, read, update, delete, params, tags and inputs.

A run logged through the API is a lineal run whose ULID *is* MLflow's ``run_id``; its name is
its experiment's name made into a lineal name, its meta ``{"mlflow": {run_id, run_name,
experiment_id, experiment, user}}``, its MLflow tags tags on ``run/ID`` (``mlflow.runName``
holds the run name, ``mlflow.parentRunId`` also becomes an ``informed_by`` edge), and
``lineal.lifecycle_stage`` says whether MLflow sees it deleted (docs/architecture.md, "MLflow").
Metrics and inputs: lineal.interop.mlflow_api_logging.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lineal.client import Lineal
from lineal.errors import NotFound
from lineal.interop import mlflow_api as api
from lineal.interop.mlflow_errors import (
    DOES_NOT_EXIST,
    INVALID_PARAMETER,
    INVALID_STATE,
    MlflowError,
)
from lineal.model.entities import Artifact, Run
from lineal.model.ops import EdgeRecord, Op, RunFinish, RunParams, RunStart, TagSet
from lineal.model.refs import ULID_PATTERN

_ULID = re.compile(ULID_PATTERN)
STATUSES = {"finished": "FINISHED", "failed": "FAILED", "killed": "KILLED", "crashed": "FAILED"}
FINAL = {"FINISHED": "finished", "FAILED": "failed", "KILLED": "killed"}
RUN_NAME, PARENT, USER = "mlflow.runName", "mlflow.parentRunId", "mlflow.user"
STAGE = "lineal.lifecycle_stage"
MAX_PARAM = 6000


def info(run: Run, tags: Mapping[str, str]) -> dict[str, Any]:
    """A run's ``RunInfo`` as MLflow's JSON."""
    mlflow = run.meta.get("mlflow") or {}
    experiment_id = str(mlflow.get("experiment_id", api.DEFAULT_ID))
    body: dict[str, Any] = {
        "run_id": run.id,
        "run_uuid": run.id,
        "run_name": tags.get(RUN_NAME) or mlflow.get("run_name") or run.id,
        "experiment_id": experiment_id,
        "user_id": mlflow.get("user") or tags.get(USER) or run.author or "",
        "status": STATUSES.get(run.status, "RUNNING"),
        "start_time": api.time_to_ms(run.started) or 0,
        "artifact_uri": mlflow.get("artifact_uri")
        or f"mlflow-artifacts:/{experiment_id}/{run.id}/artifacts",
        "lifecycle_stage": tags.get(STAGE, api.ACTIVE),
    }
    if run.ended is not None:
        body["end_time"] = api.time_to_ms(run.ended)
    return body


def as_json(
    run: Run,
    tags: Mapping[str, str],
    metrics: Mapping[str, Mapping[str, Any]],
    inputs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A whole ``Run`` as MLflow's JSON; ``metrics``: the latest ``{value, step}`` by key."""
    when = api.time_to_ms(run.ended or run.started) or 0
    body: dict[str, Any] = {
        "info": info(run, tags),
        "data": {
            "metrics": [
                {
                    "key": key,
                    "value": api.number(one.get("value")),
                    "timestamp": when,
                    "step": one.get("step") or 0,
                }
                for key, one in sorted(metrics.items())
            ],
            "params": [
                {"key": key, "value": str(value)} for key, value in sorted(run.params.items())
            ],
            "tags": [
                {"key": key, "value": value}
                for key, value in sorted(tags.items())
                if not key.startswith("lineal.")
            ],
        },
        "inputs": {"dataset_inputs": inputs or []},
    }
    return body


def the_run(repo: Lineal, run_id: str) -> Run:
    """The run MLflow calls ``run_id``, or RESOURCE_DOES_NOT_EXIST."""
    try:
        return repo.store.get_run(run_id)
    except (NotFound, ValueError):
        raise MlflowError(DOES_NOT_EXIST, f"Run '{run_id}' not found") from None


def active_run(repo: Lineal, run_id: str) -> Run:
    """The run, refused when MLflow sees it deleted (as MLflow refuses writes to it)."""
    run = the_run(repo, run_id)
    if repo.store.tags(f"run/{run.id}").get(STAGE) == api.DELETED:
        raise MlflowError(
            INVALID_STATE,
            f"The run {run_id} must be in the 'active' state. Current state is deleted.",
        )
    return run


def check_ulid(run_id: str) -> bool:
    return _ULID.fullmatch(run_id) is not None


def writable(repo: Lineal, run_id: str) -> str:
    """The lineal id of a run MLflow may write to, in one read (its tags): a run that does not
    exist is found out by the append, which the store refuses as NotFound."""
    if not check_ulid(run_id):
        raise MlflowError(DOES_NOT_EXIST, f"Run '{run_id}' not found")
    if repo.store.tags(f"run/{run_id}").get(STAGE) == api.DELETED:
        raise MlflowError(
            INVALID_STATE,
            f"The run {run_id} must be in the 'active' state. Current state is deleted.",
        )
    return run_id


def run_inputs(repo: Lineal, run_id: str) -> list[dict[str, Any]]:
    """The datasets the run used, as MLflow's ``dataset_inputs``."""
    node = f"run/{run_id}"
    found = []
    for edge in repo.store.edges(node):
        if edge.kind != "used" or edge.child != node or not edge.parent.startswith("dataset/"):
            continue
        dataset = repo.resolve(edge.parent)
        if not isinstance(dataset, Artifact):
            continue
        meta = dataset.meta
        one = {
            key: str(meta[key]) for key in ("source_type", "source", "schema", "profile")
            if meta.get(key) is not None
        }  # fmt: skip
        tags = [{"key": "mlflow.data.context", "value": edge.role}] if edge.role else []
        name = str(meta.get("mlflow_name") or dataset.name)
        one |= {"name": name, "digest": str(meta.get("mlflow_digest") or dataset.digest[7:15])}
        found.append({"tags": tags, "dataset": one})
    return found


def get_run(repo: Lineal, body: Mapping[str, Any]) -> dict[str, Any]:
    """``runs/get``: the run with its params, latest metrics, tags and inputs."""
    run_id = api.field(body, "run_id", required=False) or api.field(body, "run_uuid")
    run = the_run(repo, run_id)
    details = repo.store.run_details(run.id)
    return {"run": as_json(run, details["tags"], details["metrics"], run_inputs(repo, run.id))}


def tag_ops(repo: Lineal, node: str, tags: list[tuple[str, str]]) -> list[Op]:
    """TagSet ops for MLflow tags on ``node`` (and the ``informed_by`` edge of a parent run)."""
    ops: list[Op] = []
    for key, value in tags:
        if key.startswith("lineal."):
            raise MlflowError(INVALID_PARAMETER, f"Tag key {key!r}: lineal. keys are lineal's own")
        ops.append(TagSet(target=node, key=key, value=value))
        if key == PARENT and check_ulid(value):  # a parent lineal holds: linked too
            try:
                parent = repo.store.get_run(value)
            except NotFound:
                continue  # a parent run recorded elsewhere: the tag says it
            edge = EdgeRecord(kind="informed_by", parent=f"run/{parent.id}", child=node)
            if all(e.parent != edge.parent or e.kind != edge.kind for e in repo.store.edges(node)):
                ops.append(edge)
    return ops


def create_run(repo: Lineal, body: Mapping[str, Any], *, user: str | None) -> dict[str, Any]:
    """``runs/create``: a new lineal run in the experiment, its tags and name."""
    from ulid import ULID

    experiment_id = api.field(body, "experiment_id", required=False) or api.DEFAULT_ID
    start = api.integer(body, "start_time") or api.now_ms()
    tags = api.key_values(body, "tags")
    given = dict(tags)
    named = api.field(body, "user_id", required=False) or given.get(USER)
    # The client says "unknown" when it knows no user: the token's agent is known better.
    user_id = (named if named not in (None, "", "unknown") else user) or named or ""
    run_id = str(ULID.from_timestamp(start / 1000))
    run_name = api.field(body, "run_name", required=False) or given.get(RUN_NAME)
    run_name = run_name or f"run-{run_id[-8:].lower()}"
    if given.get(RUN_NAME, run_name) != run_name:
        raise MlflowError(INVALID_PARAMETER, "run_name and the mlflow.runName tag differ")
    with repo.atomic():
        api.experiment_node(repo, experiment_id)  # the Default experiment's record, if new
        found = api.experiment(repo, experiment_id)
        if found["lifecycle_stage"] != api.ACTIVE:
            raise MlflowError(INVALID_STATE, f"The experiment {experiment_id} is deleted.")
        mlflow = {
            "run_id": run_id,
            "run_name": run_name,
            "experiment_id": experiment_id,
            "experiment": found["name"],
            "user": user_id,
        }
        location = str(found["artifact_location"]).rstrip("/")
        if not location.startswith("mlflow-artifacts:"):
            mlflow["artifact_uri"] = f"{location}/{run_id}/artifacts"
        start_op = RunStart(
            id=run_id,
            name=api.lineal_name(found["name"]),
            started=api.ms_to_time(start),
            meta={"mlflow": mlflow},
        )
        run_node = f"run/{run_id}"
        wanted = [*tags, *([] if RUN_NAME in given else [(RUN_NAME, run_name)])]
        if user_id and USER not in given:
            wanted.append((USER, user_id))
        repo.store.append([start_op, *tag_ops(repo, run_node, wanted)])
    run = the_run(repo, run_id)
    return {"run": as_json(run, dict(wanted), {})}


def update_run(repo: Lineal, body: Mapping[str, Any]) -> dict[str, Any]:
    """``runs/update``: a new status (and end time) and/or run name."""
    run_id = api.field(body, "run_id", required=False) or api.field(body, "run_uuid")
    status = api.field(body, "status", required=False)
    name = api.field(body, "run_name", required=False)
    ended = api.integer(body, "end_time")
    with repo.atomic():
        run = the_run(repo, run_id)
        ops: list[Op] = []
        if name:
            ops.append(TagSet(target=f"run/{run.id}", key=RUN_NAME, value=name))
        if status in FINAL and run.status == "running":
            ops.append(
                RunFinish(
                    id=run.id,
                    status=FINAL[status],
                    ended=api.ms_to_time(ended or api.now_ms()),
                )
            )
        elif status and status not in (*FINAL, "RUNNING", "SCHEDULED"):
            raise MlflowError(INVALID_PARAMETER, f"Invalid run status {status!r}")
        if ops:
            repo.store.append(ops)
    run = the_run(repo, run.id)
    return {"run_info": info(run, repo.store.tags(f"run/{run.id}"))}


def set_run_stage(repo: Lineal, body: Mapping[str, Any], stage: str) -> dict[str, Any]:
    """``runs/delete`` and ``runs/restore``: whether MLflow shows the run (the ledger keeps it)."""
    run = the_run(repo, api.field(body, "run_id"))
    repo.set_tag(f"run/{run.id}", STAGE, stage)
    return {}


def param_ops(run: Run, params: list[tuple[str, str]]) -> list[Op]:
    """A RunParams op for the params the run does not hold yet; one given again with another
    value is refused, as MLflow refuses it."""
    new: dict[str, str] = {}
    for key, value in params:
        if len(value) > MAX_PARAM:
            raise MlflowError(INVALID_PARAMETER, f"Param {key!r} is longer than {MAX_PARAM}")
        old = run.params.get(key, new.get(key))
        if old is None:
            new[key] = value
        elif str(old) != value:
            raise MlflowError(
                INVALID_PARAMETER,
                f"Changing param values is not allowed. Param with key='{key}' was already "
                f"logged with value='{old}' for run ID='{run.id}'. Attempted logging new "
                f"value '{value}'.",
            )
    return [RunParams(id=run.id, params=new)] if new else []


def log_param(repo: Lineal, body: Mapping[str, Any]) -> dict[str, Any]:
    """``runs/log-parameter``."""
    run_id = api.field(body, "run_id", required=False) or api.field(body, "run_uuid")
    key = api.field(body, "key")
    value = str(body.get("value") if body.get("value") is not None else "")
    with repo.atomic():
        ops = param_ops(active_run(repo, run_id), [(key, value)])
        if ops:
            repo.store.append(ops)
    return {}


def set_tag(repo: Lineal, body: Mapping[str, Any], *, delete: bool = False) -> dict[str, Any]:
    """``runs/set-tag`` (and ``runs/delete-tag``)."""
    run_id = api.field(body, "run_id", required=False) or api.field(body, "run_uuid")
    key = api.field(body, "key")
    with repo.atomic():
        run = active_run(repo, run_id)
        node = f"run/{run.id}"
        if delete:
            if key not in repo.store.tags(node):
                raise MlflowError(
                    DOES_NOT_EXIST, f"No tag with name: {key} in run with id {run_id}"
                )
            repo.store.append(TagSet(target=node, key=key, value=None))
        else:
            value = str(body.get("value") if body.get("value") is not None else "")
            repo.store.append(tag_ops(repo, node, [(key, value)]))
    return {}
