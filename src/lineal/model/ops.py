"""The closed vocabulary of ledger operations, each with a payload type that validates itself.

Pure: an op is checked completely here, before any store sees it; never touches a store.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from lineal.errors import InvalidInput
from lineal.model.agent_ops import AgentRegister, AgentRevoke, AgentRotate
from lineal.model.canonical import parse_time
from lineal.model.digests import check_digest
from lineal.model.entities import (
    RUN_STATUSES,
    Edge,
    check_kind,
    check_name,
    check_run_id,
    node_type,
)
from lineal.model.op_base import Op
from lineal.model.op_base import check_mapping as _check_mapping
from lineal.model.op_base import check_optional_str as _check_optional_str
from lineal.model.op_base import check_reason as _check_reason
from lineal.model.series import Series, pack_column

__all__ = [  # the agent ops and the base live beside, and are reached through here too
    "OPS", "AgentRegister", "AgentRevoke", "AgentRotate", "AliasSet", "ArtifactRecord",
    "EdgeRecord", "MetricsBatch", "ModelApprove", "ModelPromote", "Op", "Redact", "RunFinish",
    "RunParams", "RunStart", "TagSet", "check_alias", "op_from_payload",
]  # fmt: skip

_METRIC_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./:-]{0,249}")
_TAG_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./:-]{0,127}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ArtifactRecord(Op):
    OP: ClassVar[str] = "artifact.record"
    kind: str
    digest: str
    name: str | None = None
    size: int | None = None
    uri: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_kind(self.kind)
        check_digest(self.digest, "artifact digest")
        if self.name is not None:
            check_name(self.name, "artifact name")
        if self.size is not None and (
            isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0
        ):
            raise InvalidInput(f"bad size {self.size!r}: expected a non-negative integer")
        _check_optional_str(self.uri, "uri")
        _check_mapping(self.meta, "meta")


@dataclass(frozen=True, slots=True, kw_only=True)
class EdgeRecord(Op):
    OP: ClassVar[str] = "edge.record"
    kind: str
    parent: str
    child: str
    role: str | None = None

    def __post_init__(self) -> None:
        Edge(kind=self.kind, parent=self.parent, child=self.child, role=self.role)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStart(Op):
    OP: ClassVar[str] = "run.start"
    id: str
    name: str
    started: str
    params: Mapping[str, Any] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_run_id(self.id)
        check_name(self.name, "run name")
        parse_time(self.started)
        _check_mapping(self.params, "params")
        _check_mapping(self.meta, "meta")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFinish(Op):
    OP: ClassVar[str] = "run.finish"
    id: str
    status: str
    ended: str
    summary: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    def __post_init__(self) -> None:
        check_run_id(self.id)
        _check_optional_str(self.error, "error")
        if self.status not in RUN_STATUSES[1:]:
            raise InvalidInput(
                f"bad final status {self.status!r}: expected one of {', '.join(RUN_STATUSES[1:])}"
            )
        parse_time(self.ended)
        _check_mapping(self.summary, "summary")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunParams(Op):
    """Params a run learns after it started (a split, a tuned value); each key is set once."""

    OP: ClassVar[str] = "run.params"
    id: str
    params: Mapping[str, Any]

    def __post_init__(self) -> None:
        check_run_id(self.id)
        if not _check_mapping(self.params, "params"):
            raise InvalidInput("run.params needs at least one param")


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsBatch(Op):
    """Points of one run's metrics, one packed series per key (see model/series.py).

    Values may be NaN or ±Inf: they travel as bytes, so the ledger keeps them exactly.
    """

    OP: ClassVar[str] = "metrics.batch"
    REDACTABLE: ClassVar[bool] = True
    run: str
    series: tuple[Series, ...]

    def __post_init__(self) -> None:
        check_run_id(self.run)
        if not isinstance(self.series, list | tuple) or not self.series:
            raise InvalidInput("metrics.batch needs a non-empty list of series")
        seen: set[str] = set()
        for one in self.series:
            if not isinstance(one, Series):
                raise InvalidInput(f"bad metric series {one!r}: expected a Series")
            if not isinstance(one.key, str) or not _METRIC_KEY.fullmatch(one.key):
                raise InvalidInput(
                    f"bad metric key {one.key!r}: use letters, digits and _./:- (max 250)"
                )
            if one.key in seen:
                raise InvalidInput(f"metric {one.key!r} appears twice in one batch")
            seen.add(one.key)
            if not len(one.steps) == len(one.values) == len(one.times) > 0:
                raise InvalidInput(f"metric {one.key!r}: steps, values and times differ in length")
            # In C (map over two arrays): a million steps cost ~40 ms, once per batch.
            if (
                len(one.steps) > 1
                and not one.ordered
                and not all(map(operator.le, one.steps, one.steps[1:]))
            ):
                raise InvalidInput(f"metric {one.key!r}: steps go back within the batch")
        object.__setattr__(self, "series", tuple(self.series))

    @property
    def points(self) -> int:
        return sum(len(one) for one in self.series)

    def payload(self) -> dict[str, Any]:
        return {"run": self.run, "series": [one.packed() for one in self.series]}

    def encode(self) -> bytes:
        # The canonical form, written out directly as bytes: a million points would otherwise
        # spend more time in the generic encoder than in logging. Keys are sorted, the run id
        # and metric keys are validated plain ASCII, and base64 needs no escaping, so these
        # bytes equal canonical.encode(self.payload()) (a property test holds them to it).
        parts: list[bytes] = []
        for one in self.series:
            parts += (
                b'{"key":"', one.key.encode("ascii"), b'","n":', b"%d" % len(one.steps),
                b',"steps":"', pack_column(one.steps), b'","times":"', pack_column(one.times),
                b'","values":"', pack_column(one.values), b'"},',
            )  # fmt: skip
        parts[-1] = b'"}'  # no comma after the last series
        head = b'{"run":"' + self.run.encode("ascii") + b'","series":['
        return b"".join((head, *parts, b"]}"))

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        _check_mapping(payload, f"{cls.OP} payload")
        if extra := set(payload) - {"run", "series"}:
            raise InvalidInput(f"{cls.OP} payload has unknown keys: {', '.join(sorted(extra))}")
        if missing := {"run", "series"} - set(payload):
            raise InvalidInput(f"{cls.OP} payload lacks {', '.join(sorted(missing))}")
        if not isinstance(series := payload["series"], list):
            raise InvalidInput(f"{cls.OP} series must be a list")
        return cls(run=payload["run"], series=tuple(Series.unpack(one) for one in series))


@dataclass(frozen=True, slots=True, kw_only=True)
class AliasSet(Op):
    """Point ``KIND/NAME:ALIAS`` at a version's digest, or remove the alias (digest None)."""

    OP: ClassVar[str] = "alias.set"
    kind: str
    name: str
    alias: str
    digest: str | None

    def __post_init__(self) -> None:
        check_kind(self.kind)
        check_name(self.name)
        check_alias(self.alias)
        if self.digest is not None:
            check_digest(self.digest)


@dataclass(frozen=True, slots=True, kw_only=True)
class TagSet(Op):
    """Set a tag on any node, or remove it (value None)."""

    OP: ClassVar[str] = "tag.set"
    REDACTABLE: ClassVar[bool] = True
    target: str
    key: str
    value: str | None

    def __post_init__(self) -> None:
        node_type(self.target)
        if not isinstance(self.key, str) or not _TAG_KEY.fullmatch(self.key):
            raise InvalidInput(f"bad tag key {self.key!r}")
        _check_optional_str(self.value, "tag value")


_CHECK_KEYS = {"check": (str,), "passed": (bool,), "detail": (str,), "fix": (str, type(None))}


def check_alias(alias: object) -> str:
    if not isinstance(alias, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,63}", alias):
        raise InvalidInput(f"bad alias {alias!r}: start with a letter; max 64")
    if re.fullmatch(r"v[0-9]+", alias) or alias == "latest":
        raise InvalidInput(f"alias {alias!r} is reserved for versions")
    return alias


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelPromote(Op):
    """Move ``model/NAME:ALIAS`` through the registry: why, and every policy check's outcome."""

    OP: ClassVar[str] = "model.promote"
    name: str
    alias: str
    digest: str
    reason: str
    policy: str | None = None
    checks: tuple[Mapping[str, Any], ...] = ()
    override: bool = False

    def __post_init__(self) -> None:
        check_name(self.name, "model name")
        check_alias(self.alias)
        check_digest(self.digest)
        _check_reason(self.reason, "a promotion")
        _check_optional_str(self.policy, "policy")
        if not isinstance(self.override, bool):
            raise InvalidInput(f"override must be a boolean, not {self.override!r}")
        for one in self.checks if isinstance(self.checks, list | tuple) else [None]:
            body = _check_mapping(one, "a check")
            if set(body) != set(_CHECK_KEYS) or not all(
                isinstance(body[key], types) for key, types in _CHECK_KEYS.items()
            ):
                raise InvalidInput(f"bad check {one!r}: expected check, passed, detail, fix")
        object.__setattr__(self, "checks", tuple(self.checks))
        if self.override and all(one["passed"] for one in self.checks):
            raise InvalidInput("an override needs a failing check to override")


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelApprove(Op):
    """An agent approves ``model/NAME``'s version ``digest`` for ``alias``."""

    OP: ClassVar[str] = "model.approve"
    name: str
    alias: str
    digest: str
    reason: str

    def __post_init__(self) -> None:
        check_name(self.name, "model name")
        check_alias(self.alias)
        check_digest(self.digest)
        _check_reason(self.reason, "an approval")


@dataclass(frozen=True, slots=True, kw_only=True)
class Redact(Op):
    """Erase an earlier record's payload (retention, erasure); the chain still verifies."""

    OP: ClassVar[str] = "redact"
    seq: int
    reason: str
    subject: str | None = None  # what the payload was about (model/erasure.py)

    def __post_init__(self) -> None:
        if isinstance(self.seq, bool) or not isinstance(self.seq, int) or self.seq < 1:
            raise InvalidInput(f"bad seq {self.seq!r}: expected a positive integer")
        _check_reason(self.reason, "a redaction")
        _check_optional_str(self.subject, "redaction subject")  # the store checks the rest


#: Every op by name; lineal.model.grants adds its own (loaded below, whichever loads first).
OPS: dict[str, type[Op]] = {
    cls.OP: cls
    for cls in (
        AgentRegister,
        AgentRotate,
        AgentRevoke,
        ArtifactRecord,
        EdgeRecord,
        RunStart,
        RunFinish,
        RunParams,
        MetricsBatch,
        AliasSet,
        TagSet,
        ModelPromote,
        ModelApprove,
        Redact,
    )
}


def op_from_payload(op: str, payload: Mapping[str, Any]) -> Op:
    """Rebuild a validated op from its name and decoded payload."""
    cls = OPS.get(op)
    if cls is None:
        raise InvalidInput(f"unknown op {op!r}: expected one of {', '.join(sorted(OPS))}")
    return cls.from_payload(payload)


# The authority ops (role.grant, …) subclass Op and add themselves to OPS.
from lineal.model import grants as _grants  # noqa: E402, F401
