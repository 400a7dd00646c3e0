"""A batch: the unit of ops the SDK spools and sends, named by the sha256 of its bytes.

Its body is canonical JSON, so the server can decode it and the digest is deterministic; the
server deduplicates by that digest. Pure encoding; never touches a file or the network.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lineal.errors import InvalidInput
from lineal.ledger import chain
from lineal.model import canonical
from lineal.model.digests import digest_bytes
from lineal.model.entities import check_agent_name
from lineal.model.ops import OPS, Op

if TYPE_CHECKING:
    from lineal.ledger.keys import Signer

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
    #: the agent's signature over the batch (lineal.ledger.chain.batch_message), if signed
    key_id: str | None = None
    sig: str | None = None

    def payloads(self) -> list[tuple[str, bytes]]:
        """Each record's op and canonical payload bytes, as the client encoded them."""
        return [(op, canonical.encode(payload)) for op, payload in self.records]

    def signed_digest(self) -> str:
        """What the agent signed (lineal.ledger.chain.batch_digest)."""
        return chain.batch_digest(
            self.agent, self.id, [(op, digest_bytes(payload)) for op, payload in self.payloads()]
        )


def encode_batch(
    agent: str,
    records: Iterable[Op | tuple[str, bytes]],
    batch_id: str,
    *,
    signer: Signer | None = None,
) -> bytes:
    """The canonical body of a batch, built around payload bytes that are already canonical.

    Keys sort as written (agent < id < records; op < payload), so the result equals
    ``canonical.encode`` of the decoded batch (a test holds it to that) without re-encoding
    a megabyte payload.
    """
    return b"".join(batch_parts(agent, records, batch_id, signer=signer))


def batch_parts(
    agent: str,
    records: Iterable[Op | tuple[str, bytes]],
    batch_id: str,
    *,
    signer: Signer | None = None,
) -> list[bytes]:
    """:func:`encode_batch`'s bytes in pieces, the payloads not copied (the spool hashes and
    writes them as they are): at most ``_MAX_PARTS``, within what one ``writev`` takes.
    ``signer``: the agent signs the batch (its name must be ``agent``)."""
    check_agent_name(agent)
    pairs = [(r.OP, r.encode()) if isinstance(r, Op) else r for r in records]
    for op, payload in pairs:
        if op not in OPS:
            raise InvalidInput(f"unknown op {op!r}: expected one of {', '.join(sorted(OPS))}")
        if not isinstance(payload, bytes) or payload[:1] != b"{" or payload[-1:] != b"}":
            raise InvalidInput(f"payload of {op} must be canonical JSON object bytes")
    parts: list[bytes] = []
    glue = [b'{"agent":', canonical.encode(agent), b',"id":', canonical.encode(batch_id)]
    sig = b""
    if signer is not None:
        if signer.name != agent:
            raise InvalidInput(f"agent {signer.name!r} cannot sign a batch of {agent!r}")
        signed = chain.batch_digest(agent, batch_id, [(o, digest_bytes(p)) for o, p in pairs])
        glue += (b',"key_id":', canonical.encode(signer.key_id))
        sig = b',"sig":' + canonical.encode(signer.sign(chain.batch_message(signed)))
    glue.append(b',"records":[')
    for n, (op, payload) in enumerate(pairs):
        glue += (b"," if n else b"", b'{"op":"', op.encode(), b'","payload":')
        parts += (b"".join(glue), payload)
        glue = [b"}"]
    if not parts:
        raise InvalidInput("a batch needs at least one record")
    parts.append(b"}]" + sig + b"}")
    return parts if len(parts) <= _MAX_PARTS else [b"".join(parts)]


def decode_batch(body: bytes) -> Batch:
    """Read a batch body back (the server's side of :func:`encode_batch`)."""
    value = canonical.decode(body)
    try:
        records = tuple((one["op"], one["payload"]) for one in value["records"])
        agent, batch_id = value["agent"], value["id"]
        key, sig = value.get("key_id"), value.get("sig")
        if not all(isinstance(v, str) for v in (agent, batch_id)) or not all(
            v is None or isinstance(v, str) for v in (key, sig)
        ):
            raise TypeError("agent, id, key_id and sig are text")
        check_agent_name(agent)
        return Batch(agent=agent, id=batch_id, records=records, key_id=key, sig=sig)
    except (KeyError, TypeError, AttributeError) as exc:
        raise InvalidInput(f"not a spool batch: {exc!r}") from exc
