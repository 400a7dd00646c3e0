"""The quality findings a report carries, one section each, from the quality services.

Each section is a function ``(repo, report) -> None`` that sets ``report.findings[TITLE]`` to
rows of ``check``, ``subject``, ``verdict`` and ``detail`` (an empty list: checked, nothing
found) or adds to ``report.missing`` what it could not check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lineal.model.entities import Artifact

if TYPE_CHECKING:
    from lineal.client import Lineal
    from lineal.report.facts import Report

Section = Callable[["Lineal", "Report"], None]


def _row(check: str, subject: str, verdict: str, detail: str) -> dict[str, Any]:
    return {"check": check, "subject": subject, "verdict": verdict, "detail": detail}


def _subject(repo: Lineal, report: Report) -> Artifact:
    found = repo.resolve(report.subject["ref"])
    assert isinstance(found, Artifact)  # noqa: S101 - a report is about an artifact
    return found


def validation(repo: Lineal, report: Report) -> None:
    """The validation rules of `lineal.toml` on every dataset of the report."""
    from lineal.quality import check, rules

    tables = rules.load(repo.workspace)
    rows, unruled = [], []
    for one in report.datasets:
        artifact = repo.resolve(one["ref"])
        assert isinstance(artifact, Artifact)  # noqa: S101
        applied = rules.matching(tables, artifact.name)
        if not applied:
            unruled.append(one["ref"])
            continue
        rows += [
            _row(f.rule, f.ref, f.verdict, f.message)
            for f in check.check_version(repo, artifact, applied)
        ]
    report.findings["Validation rules"] = rows
    if unruled:
        report.missing.append(
            f"no validation rule in lineal.toml names {', '.join(unruled)} "
            '(add [rules."NAME"] tables: docs/quality.md)'
        )


def leakage(repo: Lineal, report: Report) -> None:
    """Whether the model's evaluation data shares files with its training data."""
    if report.subject["kind"] != "model":
        return
    from lineal.quality.check import leak_findings
    from lineal.quality.leakage import model_leakage

    found = leak_findings(model_leakage(repo, _subject(repo, report)))
    report.findings["Train/eval leakage"] = [
        _row("no leakage", f.ref, f.verdict, f.message) for f in found
    ]


def drift(repo: Lineal, report: Report) -> None:
    """How each dataset version of the report drifted from the version before it: as recorded
    when it was added (lineal.quality.drift_record), and measure by measure as judged now."""
    from lineal.errors import MissingExtra
    from lineal.quality import drift as drifts
    from lineal.quality.drift_record import recorded_of

    rows = []
    for one in report.datasets:
        artifact = repo.resolve(one["ref"])
        assert isinstance(artifact, Artifact)  # noqa: S101
        try:
            found = drifts.since_previous(repo, artifact)
        except MissingExtra as exc:
            report.missing.append(f"drift: {exc.message} ({exc.hint})")
            return
        if found is None:
            continue
        held = recorded_of(repo, artifact.node, artifact.ref)
        if held is not None:  # what the thresholds then in force said, signed with it
            said_then = ", ".join(held.drifted) or "no measure drifted"
            verdict = "drift" if held.drifted else "ok"
            check = f"drift recorded with the version (seq {held.seq})"
            rows.append(_row(check, found.b, verdict, f"from {held.body.get('from')}: {said_then}"))
        for measure in found.measures:
            said = measure.as_dict()
            detail = said["detail"] or ""
            if said["statistic"] is not None and said["threshold"] is not None:
                detail = (
                    f"{detail} (statistic {said['statistic']:.4g}, threshold {said['threshold']:g})"
                )
            check = f"drift {said['measure']} from {found.a}"
            rows.append(_row(check, found.b, said["verdict"], detail.strip()))
    report.findings["Drift from the version before"] = rows


def staleness(repo: Lineal, report: Report) -> None:
    """Whether a model was made from a dataset, schema, scene or code with a newer version."""
    if report.subject["kind"] != "model":
        return
    from lineal.quality.stale import stale

    found = stale(repo, report.subject["ref"])
    rows = [
        _row(f"stale: {reason.kind}", reason.input, "fail", f"{reason.detail} (now {reason.newer})")
        for one in found.stale
        for reason in one.reasons
    ]
    report.findings["Staleness"] = rows or [
        _row("stale", report.subject["ref"], "pass", "no upstream input has a newer version")
    ]


def classifications(repo: Lineal, report: Report) -> None:
    """The classifications the subject carries, its own and inherited from upstream."""
    from lineal.quality.classify import carried

    found = carried(repo, report.subject["ref"])
    report.findings["Classifications"] = [
        _row(f"classification {one.classification}", report.subject["ref"], "carried", one.text())
        for one in found
    ]


#: The sections `lineal report` adds, in order.
ALL: tuple[Section, ...] = (validation, leakage, drift, staleness, classifications)
