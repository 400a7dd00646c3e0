"""The MLflow tracking API over a ``Lineal``: experiments, and what runs and artifacts share.

An experiment has no lineal entity of its own, so it lives in the ledger as a ``config``
artifact named ``mlflow-experiment-ID`` (its bytes: the canonical JSON of its id, name at
creation and creation time), with what may change kept as tags on that node: ``lineal.name``,
``lineal.lifecycle_stage`` (active/deleted), ``lineal.updated`` (ms) and ``lineal.id``, beside
the experiment's own MLflow tags under their own keys. Experiment ``0`` ("Default") exists
without a record until something is written to it. Ids are whole numbers, given in order.

Requests and answers are MLflow's JSON (``mlflow.protos.service``); failures are lineal's errors
or :class:`lineal.interop.mlflow_errors.MlflowError`, which the routes answer in MLflow's shape.
Never touches SQL, FastAPI or the object store.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from lineal.client import Lineal
from lineal.errors import InvalidInput, NotFound
from lineal.interop.mlflow_errors import (
    ALREADY_EXISTS,
    DOES_NOT_EXIST,
    INVALID_PARAMETER,
    MlflowError,
)
from lineal.model import canonical
from lineal.model.digests import digest_bytes
from lineal.model.entities import Artifact

PREFIX = "mlflow-experiment-"
DEFAULT_ID, DEFAULT_NAME = "0", "Default"
#: The tags on an experiment's node that hold its state (not the experiment's own tags).
NAME, STAGE, UPDATED, ID = "lineal.name", "lineal.lifecycle_stage", "lineal.updated", "lineal.id"
ACTIVE, DELETED = "active", "deleted"
#: MLflow's view types (search): active only, deleted only, all.
VIEWS = {"1": ACTIVE, "ACTIVE_ONLY": ACTIVE, "2": DELETED, "DELETED_ONLY": DELETED}
MAX_RESULTS = 50_000
_LINEAL_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def now_ms() -> int:
    return int(time.time() * 1000)


def ms_to_time(ms: int) -> str:
    return canonical.format_time(datetime.fromtimestamp(ms / 1000, UTC))


def time_to_ms(text: str | None) -> int | None:
    return None if text is None else int(canonical.parse_time(text).timestamp() * 1000 + 0.5)


def number(value: float | None) -> float | str:
    """A metric value as proto JSON spells it: NaN (and None, lineal's NaN) and infinities
    as the words ``NaN``, ``Infinity``, ``-Infinity``."""
    if value is None or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def lineal_name(text: str, fallback: str = "mlflow") -> str:
    """``text`` made into a lineal name: other characters become ``-``, at most 128."""
    name = _LINEAL_NAME.sub("-", text).lstrip("-._")[:128]
    return name or fallback


def field(body: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    """A text field of a request (MLflow answers a missing one with INVALID_PARAMETER_VALUE)."""
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise MlflowError(INVALID_PARAMETER, f"Missing value for required parameter '{key}'.")
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise MlflowError(INVALID_PARAMETER, f"Invalid value {value!r} for parameter '{key}'")
    return str(value)


def integer(body: Mapping[str, Any], key: str, default: int | None = None) -> int | None:
    """An int64 field: proto JSON sends it as a number or as a string of digits."""
    value = body.get(key)
    if value is None or value == "":
        return default
    try:
        if isinstance(value, bool | float):
            raise ValueError(value)
        return int(value)
    except (TypeError, ValueError):
        raise MlflowError(
            INVALID_PARAMETER, f"Invalid value {value!r} for parameter '{key}': expected an integer"
        ) from None


def key_values(body: Mapping[str, Any], key: str) -> list[tuple[str, str]]:
    """``[{"key", "value"}]`` of a request as pairs (a missing value is the empty text)."""
    found = body.get(key) or []
    if not isinstance(found, list):
        raise MlflowError(INVALID_PARAMETER, f"Invalid value for parameter '{key}': not a list")
    pairs = []
    for one in found:
        if not isinstance(one, Mapping) or not isinstance(one.get("key"), str):
            raise MlflowError(INVALID_PARAMETER, f"Invalid {key} entry {one!r}: expected a key")
        pairs.append((one["key"], str(one.get("value") or "")))
    return pairs


# -- experiments ------------------------------------------------------------------------------
def _node(found: Artifact) -> str:
    return found.node


def _record(repo: Lineal, experiment_id: str) -> Artifact | None:
    if not experiment_id.isdigit():
        return None
    names = f"config/{PREFIX}{int(experiment_id)}"
    try:
        found = repo.resolve(names)
    except NotFound:
        return None
    return found if isinstance(found, Artifact) else None


def _missing(experiment_id: str) -> MlflowError:
    return MlflowError(DOES_NOT_EXIST, f"No Experiment with id={experiment_id} exists")


def _as_json(found: Artifact | None, experiment_id: str, tags: Mapping[str, str]) -> dict[str, Any]:
    created = (found.meta.get("mlflow") or {}).get("creation_time") if found else None
    body = {
        "experiment_id": experiment_id,
        "name": tags.get(NAME, DEFAULT_NAME if experiment_id == DEFAULT_ID else experiment_id),
        "artifact_location": (found.meta.get("mlflow") or {}).get("artifact_location")
        if found
        else f"mlflow-artifacts:/{experiment_id}",
        "lifecycle_stage": tags.get(STAGE, ACTIVE),
        "creation_time": created or 0,
        "last_update_time": int(tags.get(UPDATED) or created or 0),
        "tags": [
            {"key": key, "value": value}
            for key, value in sorted(tags.items())
            if not key.startswith("lineal.")
        ],
    }
    if body["artifact_location"] is None:
        body["artifact_location"] = f"mlflow-artifacts:/{experiment_id}"
    return body


def experiment(repo: Lineal, experiment_id: str) -> dict[str, Any]:
    """Experiment ``experiment_id`` as MLflow's JSON, or RESOURCE_DOES_NOT_EXIST."""
    experiment_id = str(experiment_id)
    found = _record(repo, experiment_id)
    if found is None:
        if experiment_id != DEFAULT_ID:
            raise _missing(experiment_id)
        return _as_json(None, DEFAULT_ID, {NAME: DEFAULT_NAME})
    return _as_json(found, experiment_id, repo.store.tags(found.node))


def _ids(repo: Lineal) -> list[str]:
    ids = [name.removeprefix(PREFIX) for name in repo.names("config") if name.startswith(PREFIX)]
    return sorted({DEFAULT_ID, *ids}, key=int)


def experiments(repo: Lineal) -> list[dict[str, Any]]:
    """Every experiment (deleted ones too), by id."""
    return [experiment(repo, one) for one in _ids(repo)]


def experiment_by_name(repo: Lineal, name: str) -> dict[str, Any]:
    """The experiment called ``name`` now (deleted ones too), or RESOURCE_DOES_NOT_EXIST."""
    ids = repo.store.tag_values_beside(ID, where_key=NAME, where_value=name)
    if ids:
        return experiment(repo, sorted(ids, key=int)[0])
    if name == DEFAULT_NAME and _record(repo, DEFAULT_ID) is None:
        return experiment(repo, DEFAULT_ID)
    raise MlflowError(DOES_NOT_EXIST, f"Could not find experiment with name '{name}'")


def _make(repo: Lineal, experiment_id: str, name: str, location: str | None) -> Artifact:
    from lineal.model.ops import TagSet

    created = now_ms()
    data = canonical.encode({"mlflow_experiment": experiment_id, "name": name, "time": created})
    meta = {
        "mlflow": {
            "experiment_id": experiment_id,
            "name": name,
            "creation_time": created,
            "artifact_location": location or f"mlflow-artifacts:/{experiment_id}",
        }
    }
    found = repo.record_artifact("config", data=data, name=f"{PREFIX}{experiment_id}", meta=meta)
    node = found.node
    repo.store.append(
        [
            TagSet(target=node, key=ID, value=experiment_id),
            TagSet(target=node, key=NAME, value=name),
            TagSet(target=node, key=UPDATED, value=str(created)),
        ]
    )
    return found


def _check_name(name: str) -> None:
    if not name.strip():
        raise MlflowError(INVALID_PARAMETER, "Experiment name cannot be empty.")
    if "\x00" in name or len(name) > 500:
        raise MlflowError(INVALID_PARAMETER, f"Invalid experiment name {name[:80]!r}")


def create_experiment(repo: Lineal, body: Mapping[str, Any]) -> dict[str, Any]:
    """``experiments/create``: ``{"experiment_id"}``; a name in use is RESOURCE_ALREADY_EXISTS."""
    name = field(body, "name")
    _check_name(name)
    location = field(body, "artifact_location", required=False) or None
    tags = key_values(body, "tags")
    with repo.atomic():
        if repo.store.tag_values_beside(ID, where_key=NAME, where_value=name) or (
            name == DEFAULT_NAME and _record(repo, DEFAULT_ID) is None
        ):
            raise MlflowError(ALREADY_EXISTS, f"Experiment '{name}' already exists.")
        new_id = str(max(int(one) for one in _ids(repo)) + 1)
        found = _make(repo, new_id, name, location)
        for key, value in tags:
            repo.set_tag(found.node, _tag_key(key), value)
    return {"experiment_id": new_id}


def _tag_key(key: str) -> str:
    if key.startswith("lineal."):
        raise InvalidInput(f"tag key {key!r}: keys starting lineal. are lineal's own")
    return key


def experiment_node(repo: Lineal, experiment_id: str) -> str:
    """The node of experiment ``experiment_id``, made first for the Default experiment."""
    experiment_id = str(experiment_id)
    found = _record(repo, experiment_id)
    if found is not None:
        return found.node
    if experiment_id != DEFAULT_ID:
        raise _missing(experiment_id)
    with repo.atomic():
        found = _record(repo, DEFAULT_ID) or _make(repo, DEFAULT_ID, DEFAULT_NAME, None)
    return found.node


def _touch(repo: Lineal, node: str, key: str, value: str | None) -> None:
    from lineal.model.ops import TagSet

    repo.store.append(
        [
            TagSet(target=node, key=key, value=value),
            TagSet(target=node, key=UPDATED, value=str(now_ms())),
        ]
    )


def rename_experiment(repo: Lineal, body: Mapping[str, Any]) -> dict[str, Any]:
    """``experiments/update``: a new name (not one in use)."""
    experiment_id, name = field(body, "experiment_id"), field(body, "new_name")
    _check_name(name)
    with repo.atomic():
        node = experiment_node(repo, experiment_id)
        taken = repo.store.tag_values_beside(ID, where_key=NAME, where_value=name)
        if any(one != experiment_id for one in taken):
            raise MlflowError(ALREADY_EXISTS, f"Experiment '{name}' already exists.")
        _touch(repo, node, NAME, name)
    return {}


def set_stage(repo: Lineal, body: Mapping[str, Any], stage: str) -> dict[str, Any]:
    """``experiments/delete`` and ``experiments/restore``: its lifecycle stage."""
    experiment_id = field(body, "experiment_id")
    if experiment_id == DEFAULT_ID and stage == DELETED:
        raise MlflowError(INVALID_PARAMETER, "Cannot delete the default experiment '0'.")
    with repo.atomic():
        node = experiment_node(repo, experiment_id)
        _touch(repo, node, STAGE, stage)
    return {}


def set_experiment_tag(repo: Lineal, body: Mapping[str, Any], *, delete: bool = False) -> Any:
    """``experiments/set-experiment-tag`` (and ``delete-experiment-tag``)."""
    experiment_id, key = field(body, "experiment_id"), field(body, "key")
    value = None if delete else str(body.get("value") or "")
    with repo.atomic():
        _touch(repo, experiment_node(repo, experiment_id), _tag_key(key), value)
    return {}


def search_experiments(repo: Lineal, body: Mapping[str, Any]) -> dict[str, Any]:
    """``experiments/search``: by view type, a filter on name and tags, ordered, paged."""
    from lineal.interop.mlflow_api_search import experiment_matches, order_experiments, page

    view = VIEWS.get(str(body.get("view_type") or "1"))
    found = [one for one in experiments(repo) if view is None or one["lifecycle_stage"] == view]
    found = experiment_matches(found, str(body.get("filter") or ""))
    found = order_experiments(found, body.get("order_by") or [])
    size = integer(body, "max_results", 1000) or 1000
    if not 1 <= size <= MAX_RESULTS:
        raise MlflowError(INVALID_PARAMETER, f"max_results must be from 1 to {MAX_RESULTS}")
    chosen, token = page(found, size, body.get("page_token"))
    answer: dict[str, Any] = {"experiments": chosen}
    if token:
        answer["next_page_token"] = token
    return answer


def get_experiment(repo: Lineal, body: Mapping[str, Any]) -> dict[str, Any]:
    return {"experiment": experiment(repo, field(body, "experiment_id"))}


def get_experiment_by_name(repo: Lineal, body: Mapping[str, Any]) -> dict[str, Any]:
    return {"experiment": experiment_by_name(repo, field(body, "experiment_name"))}


def digest_of_json(value: Any) -> str:
    """The sha256 digest of a value's canonical JSON."""
    return digest_bytes(canonical.encode(value))
