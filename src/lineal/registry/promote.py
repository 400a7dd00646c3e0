"""Promotions and approvals: move a model alias only when its policy allows, and say why.

A refused promotion writes nothing; an override is for admins and is recorded as one.
Never prints.
"""

from __future__ import annotations

from typing import Any

from lineal import settings
from lineal.client import Lineal
from lineal.errors import InvalidInput, PermissionDenied
from lineal.lineage.queries import as_of_seq
from lineal.model.entities import Artifact
from lineal.model.ops import ModelApprove, ModelPromote, check_alias
from lineal.quality.alerts import notify
from lineal.registry.checks import Outcome, run_checks
from lineal.registry.grants import in_force
from lineal.registry.models import resolve_model


class PolicyRefused(PermissionDenied):
    """A promotion that failed checks of its alias's policy; ``outcomes`` holds every check."""

    def __init__(self, ref: str, alias: str, outcomes: list[Outcome]) -> None:
        failed = [one for one in outcomes if not one.passed]
        super().__init__(
            f"promotion of {ref} to {alias} refused: {len(failed)} of {len(outcomes)} policy "
            f"checks failed ({'; '.join(f'{one.check}: {one.detail}' for one in failed)})",
            hint=" | ".join(f"{one.check}: {one.fix}" for one in failed if one.fix)
            + " | or, as an admin: --override --reason TEXT",
        )
        self.outcomes = outcomes
        self.ref, self.alias = ref, alias

    #: an alert's kind (lineal.quality.alerts): a refused promotion is a policy violation
    kind = "policy"

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "alias": self.alias,
            "message": self.message,
            "failed": [one.as_dict() for one in self.outcomes if not one.passed],
        }


def _agent(repo: Lineal) -> str:
    signer = repo.store.signer
    if signer is None:
        raise PermissionDenied(
            f"no signing key to write to {repo.store.uri}", hint="run `lineal init` first"
        )
    return signer.name


def _ref(model: Artifact) -> str:
    return f"model/{model.name}@v{model.version}"


def check(
    repo: Lineal, ref: str, alias: str, config: settings.RegistryConfig | None = None
) -> tuple[Artifact, str | None, list[Outcome]]:
    """The version ``ref`` names, the policy that governs ``alias`` (None: no policy) and the
    outcome of each of its checks, without promoting."""
    config = config or in_force(repo)
    model = resolve_model(repo, ref)
    policy = config.policies.get(check_alias(alias))
    if policy is None:
        return model, None, []
    return model, policy.alias, run_checks(repo, model, policy, config)


def promote(
    repo: Lineal, ref: str, alias: str, reason: str, *, override: bool = False
) -> dict[str, Any]:
    """Point ``model/NAME:ALIAS`` at the version ``ref`` names, recording who, why, the
    previous holder and every check; refused (nothing written) when a check fails, unless an
    admin overrides."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("a promotion needs a reason", hint="pass --reason TEXT")
    config = in_force(repo)
    agent = _agent(repo)
    if override and not config.holds_role(agent, settings.ADMIN):
        raise PermissionDenied(
            f"agent {agent!r} may not override a policy: only the admin role may",
            hint=f"ask an admin to promote, or to run: lineal role grant {agent} admin",
        )
    with repo.atomic():  # the checks read what the write lock holds still
        model, policy, outcomes = check(repo, ref, alias, config)
        failed = [one for one in outcomes if not one.passed]
        if failed and not override:
            refused = PolicyRefused(_ref(model), alias, outcomes)
            notify(refused, repo)  # queued only: never blocks or fails
            raise refused
        if override and not failed:
            raise InvalidInput(
                f"nothing to override: {_ref(model)} passes every check for {alias}",
                hint="promote without --override",
            )
        assert model.name is not None  # noqa: S101 - a model reference names a version
        record = repo.store.append(
            ModelPromote(
                name=model.name,
                alias=alias,
                digest=model.digest,
                reason=reason.strip(),
                policy=policy,
                checks=tuple(one.as_dict() for one in outcomes),
                override=override,
            )
        )[0]
    return history(repo, model.name, as_of=record.seq)["promotions"][-1]  # type: ignore[no-any-return]


def approve(repo: Lineal, ref: str, alias: str, reason: str) -> dict[str, Any]:
    """Record that the signing agent approves the version ``ref`` names for ``alias``."""
    model = resolve_model(repo, ref)
    assert model.name is not None  # noqa: S101
    op = ModelApprove(name=model.name, alias=alias, digest=model.digest, reason=reason)
    record = repo.store.append(op)[0]
    return {
        "ref": _ref(model),
        "alias": alias,
        "agent": record.author,
        "reason": op.reason,
        "time": record.time,
        "seq": record.seq,
    }


def _times(repo: Lineal, seqs: set[int]) -> dict[int, str]:
    times = {}
    for seq in sorted(seqs):
        for record in repo.store.records(after=seq - 1, limit=1):
            times[record.seq] = record.time
    return times


def history(repo: Lineal, name: str, *, as_of: int | str | None = None) -> dict[str, Any]:
    """Who held which alias of ``model/NAME`` at ``as_of`` (None: now), and every promotion
    recorded by then with who, when, why, the previous holder and each check."""
    found = resolve_model(repo, name)  # NotFound for an unknown model
    assert found.name is not None  # noqa: S101
    name = found.name
    seq = as_of_seq(repo, as_of)
    versions = {d: v for v, d, _ in repo.store.versions("model", name)}
    promotions = repo.store.promotions(name, seq)
    holders = repo.store.alias_holders("model", name, seq)
    times = _times(repo, {p["seq"] for p in promotions} | {s for *_, s in holders})
    by_seq = {p["seq"]: p for p in promotions}

    def label(digest: str | None) -> str | None:
        return None if digest is None else f"model/{name}@v{versions[digest]}"

    for one in promotions:
        one.update(ref=label(one["digest"]), previous_ref=label(one["previous"]))
        one["time"] = times.get(one["seq"])
    held = []
    for _, alias, digest, since in holders:
        via = by_seq.get(since)
        held.append(
            {
                "alias": alias,
                "ref": label(digest),
                "digest": digest,
                "since": times.get(since),
                "seq": since,
                "by": via["author"] if via else None,
                "reason": via["reason"] if via else None,
                "override": via["override"] if via else False,
                "promoted": via is not None,
            }
        )
    return {"model": f"model/{name}", "as_of": seq, "holders": held, "promotions": promotions}


def _checked(repo: Lineal, ref: str, alias: str, config: settings.RegistryConfig) -> dict[str, Any]:
    model, policy, outcomes = check(repo, ref, alias, config)
    return {
        "ref": _ref(model),
        "alias": alias,
        "policy": policy,
        "passed": all(one.passed for one in outcomes),
        "checks": [one.as_dict() for one in outcomes],
    }


def check_version(repo: Lineal, ref: str, alias: str | None = None) -> list[dict[str, Any]]:
    """The policy checks of one model version, without promoting: for ``alias``, else for
    the aliases it holds that have a policy, else for every policy (what `lineal policy
    check` prints)."""
    config = in_force(repo)
    if alias is not None:
        return [_checked(repo, ref, alias, config)]
    model = resolve_model(repo, ref)
    held = [a.rsplit(":", 1)[1] for a in repo.store.artifact_details(model)["aliases"]]
    aliases = [a for a in held if a in config.policies] or sorted(config.policies)
    if not aliases:
        raise InvalidInput(
            "no policy is in force in the ledger",
            hint="add a [policy.ALIAS] table to lineal.toml, then (as an admin) run "
            "`lineal policy apply`",
        )
    return [_checked(repo, ref, one, config) for one in aliases]


def check_all(repo: Lineal) -> list[dict[str, Any]]:
    """Every model version holding an alias that has a policy, with its checks now: what a
    withdrawn licence or a changed policy puts out of bounds."""
    config = in_force(repo)
    return [
        _checked(repo, f"model/{name}@{digest}", alias, config)
        for name, alias, digest, _ in repo.store.alias_holders("model", None)
        if alias in config.policies
    ]
