"""The base every ledger op builds on: its payload, canonical bytes and rebuilding from a
payload, with the small checks op payloads share.

Pure: validates values, never touches a store. The ops themselves are in ops.py and
agent_ops.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, ClassVar, Self

from lineal.errors import InvalidInput
from lineal.model import canonical


def check_mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidInput(f"{what} must be an object with string keys, not {value!r}")
    return value


def check_optional_str(value: object, what: str) -> None:
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string, not {value!r}")


def check_reason(reason: object, what: str) -> None:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput(f"{what} needs a reason", hint="pass --reason TEXT")


class Op:
    """Base of every op payload. Subclasses are frozen keyword-only dataclasses."""

    __slots__ = ()  # so the slotted subclasses really have no per-instance __dict__

    OP: ClassVar[str]
    #: whether a ``redact`` may erase this op's payload (only leaves of the graph: nothing
    #: later in the ledger depends on them, so replay without them stays whole).
    REDACTABLE: ClassVar[bool] = False

    def payload(self) -> dict[str, Any]:
        """The JSON-shaped payload the ledger stores (canonically encoded by the store)."""
        names = _FIELD_NAMES.get(type(self))
        if names is None:
            names = _FIELD_NAMES[type(self)] = tuple(f.name for f in fields(self))  # type: ignore[arg-type]
        return {name: _plain(getattr(self, name)) for name in names}

    def encode(self) -> bytes:
        """The payload's canonical bytes (what the ledger stores and the chain digests)."""
        return canonical.encode(self.payload())

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        """Build and validate the op from a decoded payload; unknown or missing keys fail."""
        check_mapping(payload, f"{cls.OP} payload")
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        if extra := set(payload) - names:
            raise InvalidInput(f"{cls.OP} payload has unknown keys: {', '.join(sorted(extra))}")
        try:
            return cls(**payload)
        except TypeError as exc:
            raise InvalidInput(f"{cls.OP} payload is incomplete: {exc}") from exc


_FIELD_NAMES: dict[type[Op], tuple[str, ...]] = {}


def _plain(value: Any) -> Any:
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
