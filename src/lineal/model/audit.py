"""The audit log's values: one request (or one write transaction) as an event, and as a row of
the log's own hash chain, apart from the ledger.

Pure: hashes and encodes what it is given; never reads the clock or a store. A row holds
references and metadata only, never a payload, so a redaction need not touch it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lineal.model import canonical

if TYPE_CHECKING:
    from collections.abc import Iterable

    from lineal.model.op_base import Op

#: The hash a log's first row follows.
AUDIT_GENESIS = "sha256:" + "0" * 64
#: The most references one row keeps (a batch of thousands of records names its batch id,
#: its digest and its first references; the ledger holds the rest under that batch id).
MAX_REFS = 64
#: What a request came to: a 2xx/3xx answer, a 4xx refusal, a 5xx failure, or an answer
#: that never ended.
OUTCOMES = ("ok", "refused", "error", "aborted")


def outcome_of(status: int | None) -> str:
    if status is None:
        return "aborted"
    return "ok" if status < 400 else "refused" if status < 500 else "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    """Who did what, when, and how it ended: a request to the server, or a write transaction
    of an embedded store (method APPEND or SUBMIT, endpoint store.append or store.submit)."""

    time: str  # canonical UTC
    agent: str | None  # the authenticated agent (None: no principal)
    token_id: str | None  # the token's public id, never its secret
    method: str  # GET, POST, … (APPEND or SUBMIT for an embedded store's write)
    endpoint: str  # the route template (/api/v1/projects/{project}/upstream), or store.append
    path: str  # the path asked for (no query string)
    refs: tuple[str, ...] = ()  # the references the request named, in order, at most MAX_REFS
    ops: tuple[str, ...] = ()  # ledger ops written (distinct, in order)
    outcome: str = "ok"
    status: int | None = None  # the HTTP status (None: an embedded write)

    def body(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "agent": self.agent,
            "token_id": self.token_id,
            "method": self.method,
            "endpoint": self.endpoint,
            "path": self.path,
            "refs": list(self.refs),
            "ops": list(self.ops),
            "outcome": self.outcome,
            "status": self.status,
        }


def row_hash(prev: str, seq: int, event: AuditEvent) -> str:
    """sha256 over the previous row's hash and the canonical encoding of this row."""
    content = canonical.encode({"seq": seq, **event.body()})
    return "sha256:" + hashlib.sha256(prev.encode() + b"\n" + content).hexdigest()


def head_message(seq: int, hash_: str) -> bytes:
    """What a signed head of the audit chain signs: its last row's seq and hash."""
    return f"lineal-audit-head\n{seq}\n{hash_}".encode()


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRow:
    """One row of the audit log: an event with its place in the chain."""

    seq: int
    event: AuditEvent
    prev: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, **self.event.body(), "prev": self.prev, "hash": self.hash}

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> AuditRow:
        return cls(
            seq=int(body["seq"]),
            event=AuditEvent(
                time=str(body["time"]),
                agent=body.get("agent"),
                token_id=body.get("token_id"),
                method=str(body["method"]),
                endpoint=str(body["endpoint"]),
                path=str(body["path"]),
                refs=tuple(body.get("refs") or ()),
                ops=tuple(body.get("ops") or ()),
                outcome=str(body["outcome"]),
                status=body.get("status"),
            ),
            prev=str(body["prev"]),
            hash=str(body["hash"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditHead:
    """The chain's head as the writer signed it when it appended a block."""

    seq: int
    hash: str
    time: str
    signer: str
    key_id: str
    sig: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "hash": self.hash,
            "time": self.time,
            "signer": self.signer,
            "key_id": self.key_id,
            "sig": self.sig,
        }


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What checking an audit chain found: counts, the last signed head, or the first bad
    row (``problem_seq``: the row named; 0 when the problem is no one row's)."""

    rows: int = 0
    heads: int = 0
    head_seq: int = 0
    head_hash: str = AUDIT_GENESIS
    signed_seq: int = 0
    signer: str | None = None
    key_id: str | None = None
    problem_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "heads": self.heads,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "signed_seq": self.signed_seq,
            "signer": self.signer,
            "key_id": self.key_id,
            "problem": None
            if self.problem is None
            else {"seq": self.problem_seq, "what": self.problem},
        }

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> AuditReport:
        problem = body.get("problem") or {}
        return cls(
            rows=int(body["rows"]),
            heads=int(body["heads"]),
            head_seq=int(body["head_seq"]),
            head_hash=str(body["head_hash"]),
            signed_seq=int(body["signed_seq"]),
            signer=body.get("signer"),
            key_id=body.get("key_id"),
            problem_seq=problem.get("seq"),
            problem=problem.get("what"),
        )


def base_ref(ref: str) -> str:
    """``KIND/NAME`` of ``KIND/NAME@…`` or ``KIND/NAME:ALIAS``; any other text as it is."""
    kind, slash, rest = ref.partition("/")
    if not slash or kind == "run":
        return ref
    for mark in ("@", ":"):
        rest = rest.split(mark, 1)[0]
    return f"{kind}/{rest}"


def _one_op(op: Op) -> list[str]:  # noqa: PLR0911 - one flat dispatch on the op's name
    name = op.OP
    get = op.__getattribute__
    if name == "artifact.record":
        named = get("name")
        return [f"{get('kind')}/{named}" if named else get("digest"), get("digest")]
    if name == "edge.record":
        return [get("parent"), get("child")]
    if name.startswith("run."):
        return [f"run/{get('id')}"]
    if name == "metrics.batch":
        return [f"run/{get('run')}"]
    if name == "alias.set":
        return [f"{get('kind')}/{get('name')}:{get('alias')}"]
    if name == "tag.set":
        return [get("target")]
    if name in ("model.promote", "model.approve"):
        return [f"model/{get('name')}:{get('alias')}", get("digest")]
    if name.startswith("agent."):
        return [f"agent/{get('name')}"]
    if name.startswith("role."):
        return [f"agent/{get('agent')}"]
    if name == "redact":
        subject = get("subject")
        return [f"seq/{get('seq')}", *([subject] if subject else [])]
    return []


def op_refs(ops: Iterable[Op], into: dict[str, None]) -> None:
    """Add the references ``ops`` name to ``into`` (an ordered set), up to MAX_REFS."""
    for op in ops:
        if len(into) >= MAX_REFS:
            return
        for ref in _one_op(op):
            if ref and len(into) < MAX_REFS:
                into[ref] = None
