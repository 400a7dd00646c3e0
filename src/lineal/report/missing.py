"""What a report states is missing: what an auditor asks for that the record does not hold,
one line each (a licence, a source, a code commit, a seed, an approval, a checkpoint)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lineal.report.facts import Report


def _missing_data(report: Report) -> list[str]:
    missing: list[str] = []
    for one in report.datasets:
        for key, word in (("license", "licence"), ("source", "source")):
            if not one[key]:
                missing.append(f"{one['ref']} has no {word} recorded")
        if one["stats"] is None:
            missing.append(f"{one['ref']} has no annotation statistics (no labels were read)")
    unlicensed = [one["ref"] for one in report.scenes if not one["license"]]
    missing += [f"{ref} has no licence recorded" for ref in unlicensed]
    return missing


def _missing_runs(report: Report) -> list[str]:
    missing: list[str] = []
    for run in report.runs:
        named = f"{run['ref']} ({run['name']})"
        if run["code"] is None or not run["code"].get("commit"):
            missing.append(f"{named} has no code commit recorded")
        if not run["environment"]:
            missing.append(f"{named} has no environment recorded")
        if not run["seeds"] and run["role"] in ("trained", "evaluated"):
            missing.append(f"{named} has no seed recorded")
    return missing


def _missing_registry(report: Report) -> list[str]:
    if report.subject["kind"] != "model":
        return []
    ref, roles = report.subject["ref"], {run["role"] for run in report.runs}
    missing = [
        f"{ref} has no {word} run recorded"
        for role, word in (("trained", "training"), ("evaluated", "evaluation"))
        if role not in roles
    ]
    registry = report.registry or {}
    if registry.get("policy_note"):
        missing.append(f"no promotion policy is in force ({registry['policy_note']})")
    if not registry.get("approvals"):
        missing.append(f"{ref} has no approval recorded")
    return missing


def stated(report: Report) -> list[str]:
    """What an auditor asks for that the record does not hold, one line each."""
    missing = _missing_data(report) + _missing_runs(report) + _missing_registry(report)
    checkpoint = report.verification.get("checkpoint") or {}
    if not report.verification.get("skipped") and not checkpoint.get("known"):
        reason = f" ({checkpoint['reason']})" if checkpoint.get("reason") else ""
        missing.append(f"no signed checkpoint was checked{reason}")
    return missing
