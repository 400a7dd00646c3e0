"""What a registry page shows beside a model's versions and promotions: every approval of a
model (or of one version) with who, when and why, and the policies and roles the ledger holds
in force (what a server answers, having no `lineal.toml` to compare them with).

Services over ``Store.records`` (the ``model.approve`` records), ``Store.policy_record`` and the
role holdings; never write and never print.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lineal.client import Lineal
from lineal.model import canonical
from lineal.registry.grants import RoleHolding, holdings
from lineal.registry.models import resolve_model


def approvals(repo: Lineal, ref: str) -> list[dict[str, Any]]:
    """The approvals of ``model/NAME`` (``NAME``: every version; ``NAME@vN`` or ``NAME:ALIAS``:
    that version), oldest first: the version, the alias approved for, who, when and why."""
    model = resolve_model(repo, ref)  # NotFound for an unknown model
    name = model.name
    whole = "@" not in ref and ":" not in ref.removeprefix("model/")
    numbers = {digest: number for number, digest, _ in repo.store.versions("model", str(name))}
    found = []
    for record in repo.store.records(op="model.approve"):
        if record.payload is None:  # erased
            continue
        body = canonical.decode(record.payload)
        if body["name"] != name or not (whole or body["digest"] == model.digest):
            continue
        number = numbers.get(body["digest"])
        found.append(
            {
                "ref": f"model/{name}@v{number}" if number else f"model/{name}@{body['digest']}",
                "alias": body["alias"],
                "by": record.author,
                "reason": body["reason"],
                "seq": record.seq,
                "time": record.time,
            }
        )
    return found


@dataclass(frozen=True, slots=True)
class InForce:
    """The ``policy.apply`` in force (None: none applied yet) and who holds which role."""

    ledger: dict[str, Any] | None
    roles: list[RoleHolding]

    def as_dict(self) -> dict[str, Any]:
        return {"ledger": self.ledger, "roles": [one.as_dict() for one in self.roles]}


def policy_in_force(repo: Lineal) -> InForce:
    """The protected aliases, policies and roles in force in the ledger (the ledger half of
    `lineal policy show`)."""
    return InForce(repo.store.policy_record(), holdings(repo))
