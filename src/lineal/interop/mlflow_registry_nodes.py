"""Where MLflow's registry lives in lineal's graph: the nodes, tag keys and digests the
registered-model, model-version and logged-model services share (see docs/architecture.md).

A registered model is an unnamed ``config`` node (its digest made from its name) carrying the
model's description and tags; each version is a ``model/NAME`` version; what MLflow may change
later (stage, description, tags, deletion) is kept as tags on those nodes. Never prints.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from lineal.client import Lineal
from lineal.errors import InvalidInput, NotFound, PermissionDenied
from lineal.model import canonical
from lineal.model.digests import digest_bytes
from lineal.model.entities import Artifact, Run
from lineal.model.grants import PolicyApply, is_protected
from lineal.model.ops import ArtifactRecord, EdgeRecord, TagSet

#: Tag keys lineal keeps MLflow's mutable state under; MLflow's own tags keep their keys.
PREFIX = "lineal.mlflow."
KIND = PREFIX + "kind"  # "registered_model" while the registered model exists
NAME = PREFIX + "name"  # MLflow's spelling of the registered model's name
CREATED = PREFIX + "created"  # ms since the epoch
UPDATED = PREFIX + "updated"
DESCRIPTION = PREFIX + "description"
STAGE = PREFIX + "stage"  # a version's stage: None, Staging, Production or Archived
DELETED = PREFIX + "deleted"  # "true" on a deleted version or logged model
LAST_VERSION = PREFIX + "last_version"  # the highest version number given so far
STATUS = PREFIX + "status"  # a logged model's status
PARAM = PREFIX + "param."  # a logged model's parameter logged after it was created
REGISTERED_MODEL = "registered_model"
_TAG_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./:-]{0,127}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def now_ms() -> int:
    return int(time.time() * 1000)


def lineal_name(name: object, what: str = "registered model name") -> str:
    """The lineal name of an MLflow name: other characters than letters, digits, '.', '_'
    and '-' become '-'; a name that does not start with a letter or digit gets an 'm'."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"missing {what}", hint=f"pass a non-empty {what}")
    safe = _UNSAFE.sub("-", name)
    if not safe[0].isalnum():
        safe = "m" + safe
    if len(safe) > 128:
        raise InvalidInput(f"{what} {name!r} is too long", hint="use at most 128 characters")
    return safe


def content_digest(fields: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of ``fields`` (None values left out)."""
    return digest_bytes(canonical.encode({k: v for k, v in fields.items() if v is not None}))


def user_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags MLflow's user set (lineal's own keys left out)."""
    return {k: v for k, v in tags.items() if not k.startswith(PREFIX)}


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in sorted(user_tags(tags).items())]


def check_tag(key: object, value: object) -> tuple[str, str]:
    """A user tag lineal can keep: its key a lineal tag key outside lineal's own."""
    if not isinstance(key, str) or not _TAG_KEY.fullmatch(key) or key.startswith(PREFIX):
        raise InvalidInput(
            f"bad tag key {key!r}",
            hint=f"use letters, digits and _ . / : - (max 128, not starting with {PREFIX!r})",
        )
    if not isinstance(value, str) or "\x00" in value:
        raise InvalidInput(f"bad value for tag {key!r}", hint="pass text without NUL")
    return key, value


def tag_ops(node: str, tags: Any) -> list[TagSet]:
    """TagSets for MLflow's ``[{"key", "value"}]`` tags (bad ones refused, none written)."""
    if tags is None:
        return []
    if not isinstance(tags, list):
        raise InvalidInput("tags must be a list of {key, value}")
    ops = []
    for tag in tags:
        if not isinstance(tag, Mapping):
            raise InvalidInput(f"bad tag {tag!r}: expected {{key, value}}")
        key, value = check_tag(tag.get("key"), tag.get("value", ""))
        ops.append(TagSet(target=node, key=key, value=value))
    return ops


def text(value: object, what: str) -> str | None:
    """An optional text field of a request."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or "\x00" in value:
        raise InvalidInput(f"bad {what} {value!r}: expected text")
    return value


def run_of(repo: Lineal, run_id: object) -> Run | None:
    """The lineal run an MLflow ``run_id`` names (through this API, the run's ULID), or None
    when it names none here (a run of another tracking server)."""
    if not run_id:
        return None
    if not isinstance(run_id, str):
        raise InvalidInput(f"bad run_id {run_id!r}: expected text")
    try:
        return repo.store.get_run(run_id)
    except (NotFound, InvalidInput):
        return None


def new_edges(repo: Lineal, node: str, edges: list[EdgeRecord], *, known: bool) -> list[EdgeRecord]:
    """``edges`` into ``node`` less those it has already (``known``: the node exists)."""
    if not known:
        return edges
    have = {(e.kind, e.parent, e.child, e.role) for e in repo.edges(node)}
    return [e for e in edges if (e.kind, e.parent, e.child, e.role) not in have]


def mlflow_meta(artifact: Artifact) -> dict[str, Any]:
    found = artifact.meta.get("mlflow")
    return dict(found) if isinstance(found, Mapping) else {}


def as_int(value: object, default: int = 0) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


def names(repo: Lineal) -> list[str]:
    """MLflow's names of every registered model there is now, sorted."""
    return sorted(repo.store.tag_values_beside(NAME, where_key=KIND, where_value=REGISTERED_MODEL))


def registration_digest(lname: str) -> str:
    return content_digest({"mlflow_registered_model": lname})


def registration(repo: Lineal, name: object) -> tuple[str, str, dict[str, str]]:
    """``(lineal name, node, tags)`` of an existing registered model, else NotFound."""
    lname = lineal_name(name)
    node = registration_digest(lname)
    tags = repo.store.tags(node) if repo.unnamed(node) is not None else {}
    if tags.get(KIND) != REGISTERED_MODEL or tags.get(NAME) != name:
        raise NotFound(
            f"Registered Model with name={name} not found",
            hint="MlflowClient().search_registered_models() lists them",
        )
    return lname, node, tags


def registration_ops(repo: Lineal, name: str) -> tuple[str, str, list[Any]]:
    """``(lineal name, node, ops)`` that make a registered model's node, if it is new."""
    lname = lineal_name(name)
    node = registration_digest(lname)
    ops: list[Any] = []
    if repo.unnamed(node) is None:
        meta = {"mlflow": {"registered_model": name}}
        ops.append(ArtifactRecord(kind="config", digest=node, meta=meta))
    return lname, node, ops


def policy(repo: Lineal) -> PolicyApply | None:
    found = repo.store.policy_record()
    if found is None:
        return None
    return PolicyApply(protected=tuple(found["protected"]), policies=found["policies"])


def guard(repo: Lineal, lname: str, alias: str, version: int | None) -> None:
    """Refuse to move or drop ``model/NAME:ALIAS`` if lineal's promotion policy protects it."""
    if is_protected(policy(repo), alias):
        target = f"{lname}@v{version}" if version else lname
        raise PermissionDenied(
            f"model/{lname}:{alias} is protected: it moves only through a promotion",
            hint=f"lineal model promote {target} --to {alias} --reason TEXT",
        )
