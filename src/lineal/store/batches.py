"""A batch: the unit of ops the SDK spools and sends, named by the sha256 of its bytes.

Its body is canonical JSON, so the server can decode it and the digest is deterministic; the
server deduplicates by that digest. Pure encoding; never touches a file or the network.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lineal.errors import InvalidInput
from lineal.model import canonical
from lineal.model.entities import check_agent_name
from lineal.model.ops import OPS, Op

_MAX_PARTS = 512  # writev takes at most IOV_MAX (1024 on Linux) pieces


def batch_digest(body: bytes) -> str:
    """The name the spool and the server give a batch body."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Batch:
    """A decoded batch body: who wrote it, its unique id, and its (op, payload) records."""

    agent: str
    id: str
    records: tuple[tuple[str, Any], ...]


def encode_batch(agent: str, records: Iterable[Op | tuple[str, bytes]], batch_id: str) -> bytes:
    """The canonical body of a batch, built around payload bytes that are already canonical.

    Keys sort as written (agent < id < records; op < payload), so the result equals
    ``canonical.encode`` of the decoded batch (a test holds it to that) without re-encoding
    a megabyte payload.
    """
    return b"".join(batch_parts(agent, records, batch_id))


def batch_parts(
    agent: str, records: Iterable[Op | tuple[str, bytes]], batch_id: str
) -> list[bytes]:
    """:func:`encode_batch`'s bytes in pieces, the payloads not copied (the spool hashes and
    writes them as they are): at most ``_MAX_PARTS``, within what one ``writev`` takes."""
    check_agent_name(agent)
    parts: list[bytes] = []
    glue = [b'{"agent":', canonical.encode(agent), b',"id":', canonical.encode(batch_id)]
    glue.append(b',"records":[')
    for n, record in enumerate(records):
        op, payload = (record.OP, record.encode()) if isinstance(record, Op) else record
        if op not in OPS:
            raise InvalidInput(f"unknown op {op!r}: expected one of {', '.join(sorted(OPS))}")
        if not isinstance(payload, bytes) or payload[:1] != b"{" or payload[-1:] != b"}":
            raise InvalidInput(f"payload of {op} must be canonical JSON object bytes")
        glue += (b"," if n else b"", b'{"op":"', op.encode(), b'","payload":')
        parts += (b"".join(glue), payload)
        glue = [b"}"]
    if not parts:
        raise InvalidInput("a batch needs at least one record")
    parts.append(b"}]}")
    return parts if len(parts) <= _MAX_PARTS else [b"".join(parts)]


def decode_batch(body: bytes) -> Batch:
    """Read a batch body back (the server's side of :func:`encode_batch`)."""
    value = canonical.decode(body)
    try:
        records = tuple((one["op"], one["payload"]) for one in value["records"])
        return Batch(agent=value["agent"], id=value["id"], records=records)
    except (KeyError, TypeError) as exc:
        raise InvalidInput(f"not a spool batch: {exc!r}") from exc
