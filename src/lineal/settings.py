"""The registry's settings in `lineal.toml`: roles, protected aliases and promotion policies.

Pure parsing with one clear error per bad key; never reads the store. What the file says
counts once it is in the ledger: `lineal policy apply` records the policies and
`lineal role grant` each role (lineal.registry.grants reads what is in force).

    [roles]
    admin = ["alice"]
    ml-lead = ["bob", "carol"]

    [registry]
    protected = ["production", "staging"]

    [policy.production]
    eval_alias = "eval-approved"
    metrics = { mAP = { min = 0.8 }, latency_ms = { max = 30 } }
    licenses = { allow = ["MIT", "Apache-2.0", "CC-BY-4.0"], deny = ["CC-BY-NC-*"] }
    schema_match = true
    lineage_complete = true
    no_leakage = true
    approvers = { ml-lead = 1 }
    deny_classifications = ["pii", "restricted"]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal.errors import InvalidInput
from lineal.model.entities import check_agent_name
from lineal.model.ops import check_alias

if TYPE_CHECKING:
    from lineal.workspace import Workspace

ADMIN = "admin"
_POLICY_KEYS = (
    "eval_alias", "metrics", "licenses", "schema_match", "lineage_complete", "no_leakage",
    "approvers", "deny_classifications",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class MetricRule:
    """A metric an evaluation must have logged, with its bounds (inclusive)."""

    key: str
    min: float | None = None
    max: float | None = None

    def holds(self, value: float) -> bool:
        if math.isnan(value):
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def text(self) -> str:
        bounds = [f">= {self.min:g}" if self.min is not None else ""]
        bounds.append(f"<= {self.max:g}" if self.max is not None else "")
        return f"{self.key} {' and '.join(b for b in bounds if b)}"


@dataclass(frozen=True, slots=True)
class Policy:
    """What a version must satisfy to hold ``alias``."""

    alias: str
    eval_alias: str | None = None
    metrics: tuple[MetricRule, ...] = ()
    licenses: bool = False  # whether to check licences at all
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    schema_match: bool = False
    lineage_complete: bool = False
    no_leakage: bool = False  # no training run upstream shares files with evaluation data
    approvers: Mapping[str, int] = field(default_factory=dict)
    #: classifications (lineal.quality.classify) no node upstream of the version may carry
    deny_classifications: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RegistryConfig:
    roles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    protected: frozenset[str] = frozenset()
    policies: Mapping[str, Policy] = field(default_factory=dict)
    path: Path | None = None

    def members(self, role: str) -> frozenset[str]:
        """Who holds ``role`` (an admin holds every role)."""
        return self.roles.get(role, frozenset()) | self.roles.get(ADMIN, frozenset())

    def holds_role(self, agent: str | None, role: str) -> bool:
        return agent is not None and agent in self.members(role)

    def is_protected(self, alias: str) -> bool:
        """Protected aliases, and every alias with a policy, move only through promote."""
        return alias in self.protected or alias in self.policies


def _bad(where: str, message: str, path: Path | None) -> InvalidInput:
    shown = str(path) if path else "lineal.toml"
    return InvalidInput(
        f"{shown}: bad {where}: {message}",
        hint="see `Model registry and policy` in the README for the format",
    )


def _table(value: object, where: str, path: Path | None) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(where, f"expected a table, not {value!r}", path)
    return value


def _strings(value: object, where: str, path: Path | None) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _bad(where, f"expected a list of strings, not {value!r}", path)
    return tuple(value)


def _bool(value: object, where: str, path: Path | None) -> bool:
    if not isinstance(value, bool):
        raise _bad(where, f"expected true or false, not {value!r}", path)
    return value


def _number(value: object, where: str, path: Path | None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise _bad(where, f"expected a number, not {value!r}", path)
    return float(value)


def _alias(value: object, where: str, path: Path | None) -> str:
    try:
        return check_alias(value)
    except InvalidInput as exc:
        raise _bad(where, str(exc), path) from None


def _metrics(value: object, where: str, path: Path | None) -> tuple[MetricRule, ...]:
    rules = []
    for key, bounds in _table(value, where, path).items():
        body = _table(bounds, f"{where}.{key}", path)
        if extra := set(body) - {"min", "max"}:
            raise _bad(f"{where}.{key}", f"unknown keys {sorted(extra)}; use min, max", path)
        if not body:
            raise _bad(f"{where}.{key}", "give min, max or both", path)
        low = _number(body["min"], f"{where}.{key}.min", path) if "min" in body else None
        high = _number(body["max"], f"{where}.{key}.max", path) if "max" in body else None
        rules.append(MetricRule(key=key, min=low, max=high))
    return tuple(rules)


def _policy(alias: str, value: object, path: Path | None) -> Policy:
    where = f"[policy.{alias}]"
    body = _table(value, where, path)
    if extra := sorted(set(body) - set(_POLICY_KEYS)):
        raise _bad(where, f"unknown keys {extra}; expected {', '.join(_POLICY_KEYS)}", path)
    licenses = _table(body.get("licenses", {}), f"{where} licenses", path)
    if extra := sorted(set(licenses) - {"allow", "deny"}):
        raise _bad(f"{where} licenses", f"unknown keys {extra}; use allow, deny", path)
    approvers: dict[str, int] = {}
    for role, count in _table(body.get("approvers", {}), f"{where} approvers", path).items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise _bad(f"{where} approvers.{role}", f"expected a count >= 1, not {count!r}", path)
        approvers[role] = count
    eval_alias = body.get("eval_alias")
    return Policy(
        alias=alias,
        eval_alias=None if eval_alias is None else _alias(eval_alias, f"{where} eval_alias", path),
        metrics=_metrics(body.get("metrics", {}), f"{where} metrics", path),
        licenses="licenses" in body,
        allow=_strings(licenses.get("allow", []), f"{where} licenses.allow", path),
        deny=_strings(licenses.get("deny", []), f"{where} licenses.deny", path),
        schema_match=_bool(body.get("schema_match", False), f"{where} schema_match", path),
        lineage_complete=_bool(
            body.get("lineage_complete", False), f"{where} lineage_complete", path
        ),
        no_leakage=_bool(body.get("no_leakage", False), f"{where} no_leakage", path),
        approvers=approvers,
        deny_classifications=tuple(
            c.strip().lower()
            for c in _strings(
                body.get("deny_classifications", []), f"{where} deny_classifications", path
            )
        ),
    )


def parse(document: Mapping[str, Any], path: Path | None = None) -> RegistryConfig:
    """The registry settings of a decoded `lineal.toml` (other tables are left alone)."""
    roles: dict[str, frozenset[str]] = {}
    for role, members in _table(document.get("roles", {}), "[roles]", path).items():
        agents = _strings(members, f"[roles] {role}", path)
        for agent in agents:
            try:
                check_agent_name(agent)
            except InvalidInput as exc:
                raise _bad(f"[roles] {role}", str(exc), path) from None
        roles[role] = frozenset(agents)
    registry = _table(document.get("registry", {}), "[registry]", path)
    if extra := sorted(set(registry) - {"protected"}):
        raise _bad("[registry]", f"unknown keys {extra}; expected protected", path)
    protected = _strings(registry.get("protected", []), "[registry] protected", path)
    policies = {
        _alias(alias, f"[policy.{alias}]", path): _policy(alias, body, path)
        for alias, body in _table(document.get("policy", {}), "[policy]", path).items()
    }
    return RegistryConfig(
        roles=roles,
        protected=frozenset(_alias(a, "[registry] protected", path) for a in protected),
        policies=policies,
        path=path,
    )


def load(found: Workspace | None) -> RegistryConfig:
    """The registry settings of the workspace's `lineal.toml` (defaults when it has none)."""
    if found is None:
        return RegistryConfig()
    path, document = found.project_config()
    return parse(document, path)


# -- [openlineage]: the emitter that sends each run's events as it happens -------------------
_OPENLINEAGE_KEYS = ("url", "endpoint", "api_key", "api_key_env", "namespace", "timeout")


@dataclass(frozen=True, slots=True)
class OpenLineageConfig:
    """Where runs' OpenLineage events go. The key itself is never kept here when it comes
    from the environment: ``api_key_env`` names the variable, read at each send."""

    url: str
    endpoint: str = "api/v1/lineage"
    api_key: str | None = field(default=None, repr=False)
    api_key_env: str | None = None
    namespace: str | None = None
    timeout: float = 5.0

    @property
    def target(self) -> str:
        return f"{self.url.rstrip('/')}/{self.endpoint.lstrip('/')}"


def _ol_bad(key: str, message: str, path: Path | None) -> InvalidInput:
    shown = str(path) if path else "lineal.toml"
    return InvalidInput(
        f"{shown}: bad [openlineage] {key}: {message}",
        hint="see `Other tools' formats` in the README for the [openlineage] table",
    )


def _ol_text(body: Mapping[str, Any], key: str, path: Path | None) -> str | None:
    value = body.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise _ol_bad(key, f"expected a non-empty string, not {value!r}", path)
    return value


def openlineage(document: Mapping[str, Any], path: Path | None = None) -> OpenLineageConfig | None:
    """The ``[openlineage]`` table of a decoded `lineal.toml` (None when it has none)."""
    if "openlineage" not in document:
        return None
    body = document["openlineage"]
    if not isinstance(body, Mapping):
        raise _ol_bad("table", f"expected a table, not {body!r}", path)
    if extra := sorted(set(body) - set(_OPENLINEAGE_KEYS)):
        raise _ol_bad(
            "table", f"unknown keys {extra}; expected {', '.join(_OPENLINEAGE_KEYS)}", path
        )
    url = _ol_text(body, "url", path)
    if url is None:
        raise _ol_bad(
            "url", "missing: give the receiver's base URL, e.g. http://marquez:5000", path
        )
    if not url.startswith(("http://", "https://")):
        raise _ol_bad("url", f"{url!r} is not an http:// or https:// URL", path)
    if "api_key" in body and "api_key_env" in body:
        raise _ol_bad("api_key", "give api_key or api_key_env, not both", path)
    timeout = body.get("timeout", 5.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < 3600:
        raise _ol_bad("timeout", f"expected seconds between 0 and 3600, not {timeout!r}", path)
    return OpenLineageConfig(
        url=url,
        endpoint=_ol_text(body, "endpoint", path) or "api/v1/lineage",
        api_key=_ol_text(body, "api_key", path),
        api_key_env=_ol_text(body, "api_key_env", path),
        namespace=_ol_text(body, "namespace", path),
        timeout=float(timeout),
    )


def load_openlineage(found: Workspace | None) -> OpenLineageConfig | None:
    """The emitter's settings of the workspace's `lineal.toml` (None: no emitter)."""
    if found is None or found.root is None:
        return None
    path, document = found.project_config()
    return openlineage(document, path)
