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
    from lineal.quality import leakage as leaks

    rows = []
    for one in leaks.model_leakage(repo, _subject(repo, report)):
        verdict = "fail" if one.leaked else "skipped" if one.unknown else "pass"
        detail = one.detail()
        if one.unknown:
            detail += f" (file lists not here: {', '.join(one.unknown)})"
        rows.append(_row("no leakage", one.run, verdict, detail))
    report.findings["Train/eval leakage"] = rows


#: The sections `lineal report` adds, in order.
ALL: tuple[Section, ...] = (validation, leakage)
