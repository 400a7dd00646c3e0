"""Who may do what, as ledger ops: ``role.grant``, ``role.revoke`` and ``policy.apply``, and
the pure rules that say which role an op needs.

Pure: validates payloads and answers questions about a policy document; never touches a store.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from lineal.errors import InvalidInput
from lineal.model.entities import check_agent_name
from lineal.model.ops import OPS, Op, check_alias

#: The roles lineal itself gives a meaning; a project may name others (counted by policies).
VIEWER, CONTRIBUTOR, APPROVER, ADMIN = "viewer", "contributor", "approver", "admin"
ROLES = (VIEWER, CONTRIBUTOR, APPROVER, ADMIN)
#: The agent a lineal server chains and commits client batches as. It registers in each
#: project it makes but is not a member: the first agent after it is the project's admin.
SERVER_AGENT = "lineal-server"
#: The keys a ``[policy.ALIAS]`` table may hold.
POLICY_KEYS = (
    "eval_alias", "metrics", "licenses", "schema_match", "lineage_complete", "no_leakage",
    "approvers", "deny_classifications",
)  # fmt: skip

_ROLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_role(role: object) -> str:
    if not isinstance(role, str) or not _ROLE.fullmatch(role):
        raise InvalidInput(
            f"bad role {role!r}: use letters, digits and . _ - (max 64)",
            hint=f"e.g. {', '.join(ROLES)}",
        )
    return role


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleGrant(Op):
    """An admin gives ``agent`` ``role`` in this store's project."""

    OP: ClassVar[str] = "role.grant"
    agent: str
    role: str

    def __post_init__(self) -> None:
        check_agent_name(self.agent)
        check_role(self.role)


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleRevoke(Op):
    """An admin takes ``role`` from ``agent``."""

    OP: ClassVar[str] = "role.revoke"
    agent: str
    role: str

    def __post_init__(self) -> None:
        check_agent_name(self.agent)
        check_role(self.role)


def _bad(where: str, message: str) -> InvalidInput:
    return InvalidInput(f"policy.apply: bad {where}: {message}")


def _check_body(alias: str, body: object) -> None:  # noqa: PLR0912 - one branch per key
    where = f"policy {alias!r}"
    if not isinstance(body, Mapping) or not all(isinstance(k, str) for k in body):
        raise _bad(where, f"expected an object, not {body!r}")
    if extra := sorted(set(body) - set(POLICY_KEYS)):
        raise _bad(where, f"unknown keys {extra}")
    if body.get("eval_alias") is not None:
        check_alias(body["eval_alias"])
    metrics = body.get("metrics", {})
    if not isinstance(metrics, Mapping):
        raise _bad(f"{where} metrics", "expected an object")
    for key, bounds in metrics.items():
        if not isinstance(bounds, Mapping) or not bounds or set(bounds) - {"min", "max"}:
            raise _bad(f"{where} metrics.{key}", "expected min, max or both")
        for value in bounds.values():
            if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
                raise _bad(f"{where} metrics.{key}", f"expected a number, not {value!r}")
    licenses = body.get("licenses", {})
    if not isinstance(licenses, Mapping) or set(licenses) - {"allow", "deny"}:
        raise _bad(f"{where} licenses", "expected allow, deny")
    for key in ("schema_match", "lineage_complete", "no_leakage"):
        if not isinstance(body.get(key, False), bool):
            raise _bad(f"{where} {key}", "expected true or false")
    denied = body.get("deny_classifications", [])
    if not isinstance(denied, list) or not all(isinstance(c, str) and c for c in denied):
        raise _bad(f"{where} deny_classifications", "expected a list of class names")
    approvers = body.get("approvers", {})
    if not isinstance(approvers, Mapping):
        raise _bad(f"{where} approvers", "expected an object")
    for role, count in approvers.items():
        check_role(role)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise _bad(f"{where} approvers.{role}", f"expected a count >= 1, not {count!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyApply(Op):
    """The registry policies in force from this record on (replacing the ones before): the
    protected aliases and each ``[policy.ALIAS]`` table, as `lineal.toml` spells them."""

    OP: ClassVar[str] = "policy.apply"
    protected: tuple[str, ...] = ()
    policies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.protected, list | tuple):
            raise _bad("protected", f"expected a list of aliases, not {self.protected!r}")
        for alias in self.protected:
            check_alias(alias)
        object.__setattr__(self, "protected", tuple(sorted(set(self.protected))))
        policies = self.policies
        if not isinstance(policies, Mapping):
            raise _bad("policies", f"expected an object, not {policies!r}")
        for alias, body in policies.items():
            check_alias(alias)
            _check_body(alias, body)
        object.__setattr__(self, "policies", dict(policies))


def is_protected(policy: PolicyApply | None, alias: str) -> bool:
    """Protected aliases, and every alias with a policy, move only through a promotion."""
    return policy is not None and (alias in policy.protected or alias in policy.policies)


def expected_checks(body: Mapping[str, Any]) -> list[str]:
    """The names of the checks a promotion under the policy ``body`` records, in the order
    lineal.registry.checks runs them."""
    names = [f"metric {key}" for key in body.get("metrics", {})]
    if "licenses" in body:
        names.append("licenses")
    if body.get("schema_match", False):
        names.append("schema match")
    if body.get("lineage_complete", False):
        names.append("lineage complete")
    if body.get("no_leakage", False):
        names.append("no leakage")
    if body.get("deny_classifications"):
        names.append("classifications")
    return names + [f"approvers {role}" for role in sorted(body.get("approvers", {}))]


OPS.update({cls.OP: cls for cls in (RoleGrant, RoleRevoke, PolicyApply)})
