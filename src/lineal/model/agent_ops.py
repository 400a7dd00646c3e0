"""The ops that give agents their keys: register a key, rotate it to a new one (certified by
the old), revoke it; and the bytes a rotation's certificate signs.

Pure: an op checks its own fields; whether a key may sign is the ledger's and the store's
question (lineal.ledger.agent_keys), never this module's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from lineal.errors import InvalidInput
from lineal.model.entities import Agent
from lineal.model.op_base import Op, check_reason

_SIGNATURE = re.compile(r"[0-9a-f]{128}")


def rotation_message(name: str, previous: str, public_key: str) -> bytes:
    """What an agent's old key signs to certify its new one. The prefix keeps it apart from
    every other message lineal signs (commits, batches, checkpoints), so no such signature
    can pass for a certificate, nor a certificate for any of them."""
    return f"lineal-agent-rotate/1\n{name}\n{previous}\n{public_key}".encode()


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRegister(Op):
    OP: ClassVar[str] = "agent.register"
    name: str
    public_key: str

    def __post_init__(self) -> None:
        Agent(name=self.name, public_key=self.public_key)


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRotate(Op):
    """Agent ``name`` replaces its key ``previous`` with ``public_key``: from this record on
    the old key signs nothing, the new one signs. ``certificate`` is the old key's signature
    over rotation_message(name, previous, public_key)."""

    OP: ClassVar[str] = "agent.rotate"
    name: str
    previous: str
    public_key: str
    certificate: str

    def __post_init__(self) -> None:
        Agent(name=self.name, public_key=self.previous)
        Agent(name=self.name, public_key=self.public_key)
        if self.previous == self.public_key:
            raise InvalidInput("a rotation needs a new key, not the one it replaces")
        if not isinstance(self.certificate, str) or not _SIGNATURE.fullmatch(self.certificate):
            raise InvalidInput(
                "bad rotation certificate: expected an ed25519 signature (128 hex characters)"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRevoke(Op):
    """Key ``public_key`` of agent ``name`` signs nothing after this record; what it signed
    before still verifies."""

    OP: ClassVar[str] = "agent.revoke"
    name: str
    public_key: str
    reason: str

    def __post_init__(self) -> None:
        Agent(name=self.name, public_key=self.public_key)
        check_reason(self.reason, "a key revocation")
