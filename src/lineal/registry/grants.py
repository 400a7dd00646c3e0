"""Roles and policies as ledger facts: grant and revoke roles, record the policies of
`lineal.toml`, and read what is in force (the store enforces it at every append).

Writes only ``role.grant``, ``role.revoke`` and ``policy.apply`` records; never prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lineal import settings
from lineal.client import Lineal
from lineal.errors import Conflict, NotFound
from lineal.model import canonical
from lineal.model.entities import check_agent_name
from lineal.model.grants import ADMIN, PolicyApply, RoleGrant, RoleRevoke, check_role


@dataclass(frozen=True, slots=True)
class RoleHolding:
    """``agent`` holds ``role`` since record ``seq``, granted by ``by`` (None: the store's
    first agent, admin from its registration)."""

    agent: str
    role: str
    by: str | None
    seq: int

    def as_dict(self) -> dict[str, Any]:
        return {"agent": self.agent, "role": self.role, "by": self.by, "seq": self.seq}


@dataclass(frozen=True, slots=True)
class RoleChange:
    """What `lineal role grant|revoke` recorded."""

    agent: str
    role: str
    granted: bool  # False: revoked
    by: str
    seq: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "role": self.role,
            "granted": self.granted,
            "by": self.by,
            "seq": self.seq,
        }


def holdings(repo: Lineal, as_of: int | None = None) -> list[RoleHolding]:
    """Who holds which role at ``as_of`` (None: now), in the order they were granted."""
    return [RoleHolding(*row) for row in repo.store.role_holders(as_of)]


def _check(repo: Lineal, agent: str, role: str) -> None:
    check_agent_name(agent)
    check_role(role)
    if agent not in {one.name for one in repo.store.agents()}:
        raise NotFound(
            f"no agent {agent!r} in this store", hint=f"register it first: lineal agent add {agent}"
        )


def grant(repo: Lineal, agent: str, role: str) -> RoleChange:
    """Record that ``agent`` holds ``role`` from now on (the signing agent must be admin)."""
    _check(repo, agent, role)
    for held in holdings(repo):
        if (held.agent, held.role) == (agent, role):
            raise Conflict(f"{agent} holds role {role} already (since seq {held.seq})")
    record = repo.store.append(RoleGrant(agent=agent, role=role))[0]
    return RoleChange(agent, role, True, record.author, record.seq)


def revoke(repo: Lineal, agent: str, role: str) -> RoleChange:
    """Record that ``agent`` no longer holds ``role`` (the signing agent must be admin)."""
    _check(repo, agent, role)
    if not any((h.agent, h.role) == (agent, role) for h in holdings(repo)):
        raise NotFound(f"{agent} does not hold role {role}", hint="lineal role list shows roles")
    record = repo.store.append(RoleRevoke(agent=agent, role=role))[0]
    return RoleChange(agent, role, False, record.author, record.seq)


def in_force(repo: Lineal, as_of: int | None = None) -> settings.RegistryConfig:
    """The roles and policies the ledger holds at ``as_of`` (None: now): what promotions,
    approvals and aliases are judged by. `lineal.toml` alone counts for nothing."""
    roles: dict[str, set[str]] = {}
    for held in holdings(repo, as_of):
        roles.setdefault(held.role, set()).add(held.agent)
    record = repo.store.policy_record(as_of)
    document: dict[str, Any] = {}
    if record is not None:
        document = {"registry": {"protected": record["protected"]}, "policy": record["policies"]}
    parsed = settings.parse(document)
    return settings.RegistryConfig(
        roles={role: frozenset(agents) for role, agents in roles.items()},
        protected=parsed.protected,
        policies=parsed.policies,
    )


def _from_file(repo: Lineal) -> tuple[settings.RegistryConfig, PolicyApply]:
    """`lineal.toml`'s registry settings, checked, and the ``policy.apply`` that records them."""
    workspace = repo.require_workspace()
    path, document = workspace.project_config()
    config = settings.parse(document, path)  # one clear error for a bad key
    registry = document.get("registry", {})
    protected = registry.get("protected", []) if isinstance(registry, Mapping) else []
    policies = document.get("policy", {})
    op = PolicyApply(
        protected=tuple(protected),
        policies=canonical.decode(canonical.encode(policies)),  # plain JSON values
    )
    return config, op


@dataclass(frozen=True, slots=True)
class PolicyState:
    """What `lineal policy show` reports: the policies and roles in force in the ledger, those
    `lineal.toml` states, and every difference between them."""

    ledger: dict[str, Any] | None
    file: dict[str, Any]
    roles: list[RoleHolding]
    differences: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {
            "ledger": self.ledger,
            "file": self.file,
            "roles": [one.as_dict() for one in self.roles],
            "differences": self.differences,
            "same": self.same,
        }


def _differences(ledger: dict[str, Any] | None, op: PolicyApply) -> list[str]:
    found = []
    held = ledger or {"protected": [], "policies": {}}
    if sorted(held["protected"]) != list(op.protected):
        found.append(
            f"protected aliases: ledger {sorted(held['protected'])}, lineal.toml "
            f"{list(op.protected)} (an admin runs: lineal policy apply)"
        )
    for alias in sorted(set(held["policies"]) | set(op.policies)):
        mine, theirs = op.policies.get(alias), held["policies"].get(alias)
        if canonical.encode(mine) != canonical.encode(theirs):
            where = "only in lineal.toml" if theirs is None else "only in the ledger"
            if mine is not None and theirs is not None:
                where = "differs between lineal.toml and the ledger"
            found.append(f"policy {alias}: {where} (an admin runs: lineal policy apply)")
    return found


def show(repo: Lineal) -> PolicyState:
    """The policies and roles in force in the ledger beside those of `lineal.toml`."""
    config, op = _from_file(repo)
    record = repo.store.policy_record()
    roles = holdings(repo)
    members: dict[str, set[str]] = {}
    for held in roles:
        members.setdefault(held.role, set()).add(held.agent)
    admins = members.get(ADMIN, set())
    missing = {
        role: frozenset(a for a in agents if a not in members.get(role, set()) | admins)
        for role, agents in config.roles.items()
    }
    differences = _differences(record, op)
    differences += [
        f"role {role}: {agent} holds it in lineal.toml only, which counts for nothing "
        f"(an admin runs: lineal role grant {agent} {role})"
        for role, agents in sorted(missing.items())
        for agent in sorted(agents)
    ]
    file = {"protected": list(op.protected), "policies": dict(op.policies)}
    return PolicyState(record, file, roles, differences)


@dataclass(frozen=True, slots=True)
class PolicyApplied:
    """What `lineal policy apply` recorded (``seq`` None: the ledger held these already)."""

    seq: int | None
    protected: list[str]
    policies: list[str]
    roles_in_file: list[tuple[str, str]]  # (agent, role) only in the file: they count for nothing

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "changed": self.seq is not None,
            "protected": self.protected,
            "policies": self.policies,
            "roles_in_file": [{"agent": a, "role": r} for a, r in self.roles_in_file],
        }


def apply(repo: Lineal) -> PolicyApplied:
    """Record `lineal.toml`'s protected aliases and policies as the ones in force (the signing
    agent must be admin). Its ``[roles]`` are not recorded: roles are granted one by one."""
    config, op = _from_file(repo)
    state = show(repo)
    held = {(one.agent, one.role) for one in state.roles}
    admins = {one.agent for one in state.roles if one.role == ADMIN}
    loose = sorted(
        (agent, role)
        for role, agents in config.roles.items()
        for agent in agents
        if (agent, role) not in held and agent not in admins
    )
    seq = None
    if state.ledger is None or any(not d.startswith("role ") for d in state.differences):
        seq = repo.store.append(op)[0].seq
    return PolicyApplied(seq, list(op.protected), sorted(op.policies), loose)
