"""How MLflow's things become lineal's: names, run ids, digests and statuses (pure).

One mapping, shared with the MLflow-compatible API: a run logged through the API and the same
run imported from a store get the same id, name and meta (see docs/architecture.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from lineal.errors import InvalidInput
from lineal.model import canonical
from lineal.model.digests import digest_bytes

#: MLflow's final statuses → lineal's; RUNNING and SCHEDULED runs stay running.
STATUSES = {"FINISHED": "finished", "FAILED": "failed", "KILLED": "killed"}

_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9._-]")
_NOT_IN_KEY = re.compile(r"[^A-Za-z0-9_./:-]")
_NOT_IN_ALIAS = re.compile(r"[^A-Za-z0-9_-]")


def lineal_name(text: str, fallback: str = "mlflow") -> str:
    """``text`` made into a lineal name: other characters become ``-``, at most 128."""
    name = _NOT_IN_NAME.sub("-", text)[:128]
    if not name or not name[0].isalnum():
        name = (fallback + "-" + name)[:128] if name else fallback
    return name


def metric_key(key: str) -> str:
    """An MLflow metric key as lineal takes it (letters, digits and ``_./:-``; at most 250)."""
    key = _NOT_IN_KEY.sub("_", key)[:250]
    return key if key and key[0] != "." else f"_{key}"[:250]


def tag_key(key: str) -> str:
    """An MLflow tag key as lineal takes it (letters, digits and ``_./:-``; at most 128)."""
    key = _NOT_IN_KEY.sub("_", key)[:128]
    return key if key and key[0] != "." else f"_{key}"[:128]


def alias_name(text: str) -> str:
    """An MLflow alias (or a stage, lower-cased) as a lineal alias."""
    alias = _NOT_IN_ALIAS.sub("-", text)[:64]
    return alias if alias[:1].isalpha() else f"a{alias}"[:64]


def run_ulid(start_ms: int, experiment_id: str, run_id: str) -> str:
    """The lineal id of an MLflow run: its start time (ms) and 80 bits of a hash of its ids."""
    from ulid import ULID

    tail = hashlib.sha256(f"mlflow:{experiment_id}:{run_id}".encode()).digest()[:10]
    return str(ULID.from_bytes(max(start_ms, 0).to_bytes(6, "big") + tail))


def time_of(ms: int) -> str:
    """MLflow's milliseconds since the epoch as lineal's time text."""
    return canonical.format_time(datetime.fromtimestamp(ms / 1000, UTC))


def json_digest(value: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``value``."""
    return digest_bytes(canonical.encode(value))


def dataset_digest(name: str, digest: str, source_type: str, source: str) -> str:
    """A dataset input's identity: MLflow's own digest is a truncated md5, not of content."""
    return json_digest(
        {"name": name, "digest": digest, "source_type": source_type, "source": source}
    )


def dataset_meta(dataset: Any) -> dict[str, Any]:
    """What lineal keeps of an MLflow dataset (its source, schema and profile parsed)."""
    meta: dict[str, Any] = {"mlflow_digest": dataset.digest, "source_type": dataset.source_type}
    for field in ("source", "schema", "profile"):
        text = getattr(dataset, field, None)
        if text:
            meta[field] = _parsed(text)
    return meta


def _parsed(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    try:
        canonical.encode(value)
    except InvalidInput:  # a NaN in a profile, say: keep the text as it was
        return text
    return value
