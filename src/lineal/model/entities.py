"""The lineage graph's nodes and edges (W3C PROV made concrete): Artifact, Run, Agent, Edge.

Frozen values validated on construction; never loaded or saved here (stores do that).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lineal.errors import InvalidInput
from lineal.model.digests import check_digest, is_digest
from lineal.model.refs import ARTIFACT_KINDS, NAME_PATTERN, ULID_PATTERN

AGENT_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}"
_AGENT = re.compile(AGENT_PATTERN)
_NAME = re.compile(NAME_PATTERN)
_ULID = re.compile(ULID_PATTERN)
_RUN_NODE = re.compile(f"run/{ULID_PATTERN}")
_AGENT_NODE = re.compile(f"agent/{AGENT_PATTERN}")
#: A named version's node: ``KIND/NAME@sha256:HEX`` (the full digest, never a number).
_VERSION_NODE = re.compile(
    f"(?P<kind>{'|'.join(ARTIFACT_KINDS)})/(?P<name>{NAME_PATTERN})@(?P<digest>sha256:[0-9a-f]{{64}})"
)

RUN_STATUSES = ("running", "finished", "failed", "killed", "crashed")

#: Edge kinds and the node types they join: (parent type, child type). Edges point along the
#: flow of data: the parent is upstream of the child (the run *used* the dataset, so the
#: dataset is the parent; the model was *derived from* v1, so v1 is the parent).
EDGE_KINDS: dict[str, tuple[str, str]] = {
    "used": ("artifact", "run"),
    "generated": ("run", "artifact"),
    "derived_from": ("artifact", "artifact"),
    "labeled_with": ("artifact", "artifact"),
    "rendered_from": ("artifact", "artifact"),
    "informed_by": ("run", "run"),
    "associated_with": ("agent", "run"),
}


def artifact_node(kind: str, name: str | None, digest: str) -> str:
    """The lineage node of an artifact: ``KIND/NAME@DIGEST`` for a named version (its own node,
    whatever other versions hold the same bytes), the bare digest for an unnamed artifact."""
    return digest if name is None else f"{kind}/{name}@{digest}"


def is_version_node(text: object) -> bool:
    """Whether ``text`` is a named version's node id, ``KIND/NAME@sha256:<64 hex>``."""
    return isinstance(text, str) and _VERSION_NODE.fullmatch(text) is not None


def split_node(node: str) -> tuple[str | None, str | None, str]:
    """``(kind, name, digest)`` of an artifact node id; ``(None, None, digest)`` when unnamed."""
    if is_digest(node):
        return None, None, node
    match = _VERSION_NODE.fullmatch(node)
    if match is None:
        raise InvalidInput(
            f"bad artifact node {node!r}: expected KIND/NAME@sha256:HEX or sha256:HEX"
        )
    return match["kind"], match["name"], match["digest"]


def node_type(node: str) -> str:
    """'artifact', 'run' or 'agent' for a node id, or raise InvalidInput."""
    if is_digest(node):
        return "artifact"
    if isinstance(node, str) and _VERSION_NODE.fullmatch(node):
        return "artifact"
    if isinstance(node, str) and _RUN_NODE.fullmatch(node):
        return "run"
    if isinstance(node, str) and _AGENT_NODE.fullmatch(node):
        return "agent"
    raise InvalidInput(
        f"bad node {node!r}: expected KIND/NAME@sha256:HEX (a named version), sha256:HEX "
        "(an unnamed artifact), run/ULID or agent/NAME"
    )


def check_name(name: object, what: str = "name") -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(
            f"bad {what} {name!r}: use letters, digits, '.', '_' and '-' (max 128), "
            "starting with a letter or digit"
        )
    return name


def kind_name(text: str, kind: str) -> str:
    """``KIND/NAME`` or ``NAME`` -> NAME (validated): the name a new version of ``kind`` takes."""
    name = text.removeprefix(f"{kind}/")
    if "/" in name or "@" in name or ":" in name:
        raise InvalidInput(f"bad {kind} name {text!r}: expected {kind}/NAME or NAME")
    return check_name(name, f"{kind} name")


def check_agent_name(name: object) -> str:
    if not isinstance(name, str) or not _AGENT.fullmatch(name):
        raise InvalidInput(
            f"bad agent name {name!r}: use letters, digits and . _ @ + - (max 128)",
            hint="pass --agent NAME",
        )
    return name


def check_run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not _ULID.fullmatch(run_id):
        raise InvalidInput(f"bad run id {run_id!r}: expected a 26-character upper-case ULID")
    return run_id


#: The largest number of rows a listing may be asked for: SQL's LIMIT is a signed 64-bit
#: integer on every backend.
MAX_LIMIT = 2**63 - 1


def check_limit(limit: object) -> int | None:
    """``limit`` (None: no limit) if it is a whole number of rows from 1 to MAX_LIMIT."""
    if limit is None or (
        isinstance(limit, int) and not isinstance(limit, bool) and 1 <= limit <= MAX_LIMIT
    ):
        return limit
    huge = isinstance(limit, int) and limit.bit_length() > 256  # repr() refuses past 4300 digits
    raise InvalidInput(
        f"bad limit {'(a huge number)' if huge else repr(limit)}: "
        f"expected a number from 1 to {MAX_LIMIT}",
        hint="leave it out to list everything",
    )


def check_kind(kind: object) -> str:
    if not isinstance(kind, str) or kind not in ARTIFACT_KINDS:
        raise InvalidInput(
            f"bad artifact kind {kind!r}: expected one of {', '.join(ARTIFACT_KINDS)}"
        )
    return kind


@dataclass(frozen=True, slots=True, kw_only=True)
class Artifact:
    """A versioned entity: dataset, file, schema, scene, model, code, env, config, report."""

    kind: str
    digest: str
    name: str | None = None
    version: int | None = None
    size: int | None = None
    uri: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    seq: int | None = None

    def __post_init__(self) -> None:
        check_kind(self.kind)
        check_digest(self.digest)
        if self.name is not None:
            check_name(self.name)
        if self.size is not None and (
            isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0
        ):
            raise InvalidInput(f"bad size {self.size!r}: expected a non-negative integer")

    @property
    def node(self) -> str:
        """This artifact's lineage node (see ``artifact_node``)."""
        return artifact_node(self.kind, self.name, self.digest)

    @property
    def ref(self) -> str:
        if self.name is None:
            return self.digest
        if self.version is None:
            return f"{self.kind}/{self.name}@{self.digest}"
        return f"{self.kind}/{self.name}@v{self.version}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """An activity: training, evaluation, transformation, generation, ingestion."""

    id: str
    name: str
    status: str = "running"
    params: Mapping[str, Any] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)
    started: str | None = None
    ended: str | None = None
    author: str | None = None
    seq: int | None = None
    duration: float | None = None  # seconds, once finished
    error: str | None = None  # why a failed run failed
    #: the latest (or summary) value of each metric; None stands for NaN
    metrics: Mapping[str, float | None] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_run_id(self.id)
        check_name(self.name, "run name")
        if self.status not in RUN_STATUSES:
            raise InvalidInput(
                f"bad run status {self.status!r}: expected one of {', '.join(RUN_STATUSES)}"
            )

    @property
    def ref(self) -> str:
        return f"run/{self.id}"


#: How an agent's key stops signing: not (None), rotated to a new key, or revoked.
KEY_ENDINGS = (None, "rotated", "revoked")


@dataclass(frozen=True, slots=True, kw_only=True)
class Agent:
    """A person or service account that signs what it writes."""

    name: str
    public_key: str  # raw ed25519 public key, 64 hex characters
    seq: int | None = None  # the record that gave the agent this key
    until_seq: int | None = None  # the record that ended it (the last it may sign), if any
    ended: str | None = None  # how: 'rotated' or 'revoked'
    reason: str | None = None  # why it was revoked

    def __post_init__(self) -> None:
        check_agent_name(self.name)
        if not isinstance(self.public_key, str) or not re.fullmatch(
            r"[0-9a-f]{64}", self.public_key
        ):
            raise InvalidInput("bad public key: expected 64 hex characters (raw ed25519)")
        if self.ended not in KEY_ENDINGS or (self.ended is None) != (self.until_seq is None):
            raise InvalidInput(
                f"bad key ending {self.ended!r} at {self.until_seq!r}: expected none, or "
                f"one of {', '.join(e for e in KEY_ENDINGS if e)} with the seq that ended it"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class Edge:
    """A directed relation from an upstream ``parent`` to a downstream ``child`` node."""

    kind: str
    parent: str
    child: str
    role: str | None = None
    seq: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or self.kind not in EDGE_KINDS:
            raise InvalidInput(
                f"bad edge kind {self.kind!r}: expected one of {', '.join(EDGE_KINDS)}"
            )
        want_parent, want_child = EDGE_KINDS[self.kind]
        if node_type(self.parent) != want_parent or node_type(self.child) != want_child:
            raise InvalidInput(
                f"a {self.kind!r} edge joins a {want_parent} (parent) to a {want_child} "
                f"(child), not {self.parent!r} to {self.child!r}"
            )
        if self.parent == self.child:
            raise InvalidInput(f"an edge cannot join {self.parent!r} to itself")
        if self.role is not None:
            check_name(self.role, "role")


_SET_EDGE = tuple(Edge.__dict__[f].__set__ for f in ("kind", "parent", "child", "role", "seq"))


def edges_from_columns(
    ids: Sequence[str],
    kinds: Iterable[str],
    parents: Iterable[int],
    children: Iterable[int],
    roles: Iterable[str | None],
    seqs: Iterable[int | None],
) -> list[Edge]:
    """Edges from a columnar answer (``parents``/``children`` index ``ids``), not validated
    again: they are projection rows, checked when written."""
    set_kind, set_parent, set_child, set_role, set_seq = _SET_EDGE
    made = []
    for kind, parent, child, role, seq in zip(kinds, parents, children, roles, seqs, strict=True):
        edge = object.__new__(Edge)
        set_kind(edge, kind)
        set_parent(edge, ids[parent])
        set_child(edge, ids[child])
        set_role(edge, role)
        set_seq(edge, seq)
        made.append(edge)
    return made
