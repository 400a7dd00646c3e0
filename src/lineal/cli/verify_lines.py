"""What `lineal verify` and `lineal checkpoint` say: the lines of a report, and its problems
as (error, hint) pairs.

Formatting only; never runs a check, reads a file or prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lineal.checkpoint_files import KnownCheck
    from lineal.ledger.checkpoint import CheckpointResult
    from lineal.model.audit import AuditReport
    from lineal.verification import Verification
    from lineal.verify_objects import ObjectReport

Problem = tuple[str, str]
#: Versions named one per line; the rest are counted (--json lists them all).
SHOWN = 20
_RESTORE = "the store was altered outside lineal; restore it from a backup or a peer"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def signer(result: CheckpointResult) -> str:
    if result.trusted == "pinned":
        return f"signed by the pinned key {result.key_id} (it names {result.agent})"
    return f"signed by {result.agent} (key {result.key_id})"


def made(document: dict[str, Any], kept: Path | None, out_file: Path) -> str:
    where = f", kept in {kept}" if kept is not None else ""
    return (
        f"Checkpoint of {document['size']} records, root {document['root']}, signed by "
        f"{document['agent']}{where}, written to {out_file}"
    )


def consistent(result: CheckpointResult) -> str:
    return (
        f"OK: the checkpoint of {result.size} records, {signer(result)}, is consistent with "
        f"today's {result.current_size} (consistency proof of {result.proof_length} hashes)"
    )


def checkpoint_problem(result: CheckpointResult, where: str) -> Problem:
    """The error and hint for a checkpoint today's ledger does not extend."""
    if result.commit_problem is not None:
        return f"{result.commit_problem} (checkpoint {where})", _RESTORE
    if result.size > result.current_size:
        return (
            f"the ledger ends at seq {result.current_size}, but the checkpoint {where} saw "
            f"{result.size} records: seq {result.current_size + 1}..{result.size} were deleted",
            _RESTORE,
        )
    span = (
        f"seq {result.first_bad_seq}"
        if result.first_bad_seq == result.last_bad_seq
        else f"seq {result.first_bad_seq}..{result.last_bad_seq}"
    )
    return (
        f"history was rewritten since the checkpoint {where}: first change at {span}",
        "compare with a backup taken before that point",
    )


def _known(known: KnownCheck) -> tuple[list[str], list[Problem]]:
    if known.unreadable is not None:
        return [], [
            (
                f"the newest checkpoint kept here cannot be used: {known.unreadable}",
                f"if you know why {known.path} is damaged, move it away "
                "(the one before it is checked then)",
            )
        ]
    if known.result is None:
        why = {
            "no workspace": " (a store opened without a workspace keeps none)",
            "another store": " for this store (the workspace's checkpoints are of another)",
        }.get(known.reason, "")
        return [
            f"No checkpoint known{why}: a deleted tail of the ledger cannot be detected; "
            "run `lineal checkpoint` (lineal push keeps one too)"
        ], []
    where = f"kept at {known.path}"
    if not known.result.ok:
        return [], [checkpoint_problem(known.result, where)]
    return [
        f"OK: the ledger extends the newest checkpoint ({known.result.size} records, "
        f"{signer(known.result)}, {where})"
    ], []


def _versions(report: ObjectReport) -> list[str]:
    lines = []
    for one in report.broken[:SHOWN]:
        if one.own is not None:
            what = "manifest" if one.files or one.own != "damaged" else "stored bytes"
            lines.append(f"  {one.ref}: {what} {one.own}")
            continue
        parts = [
            f"{count:,} of {_plural(one.files, 'file')} {label}"
            for count, label in ((one.missing, "missing"), (one.damaged, "damaged"))
            if count
        ]
        lines.append(f"  {one.ref}: {', '.join(parts)}")
    if len(report.broken) > SHOWN:
        lines.append(f"  … and {len(report.broken) - SHOWN:,} more (--json lists them all)")
    return lines


def _sampled(report: ObjectReport) -> str:
    return (
        f"{_plural(report.sampled, 'object')} chosen at random re-hashed, and the manifests "
        f"(seed {report.seed}: --sample {report.sample} --seed {report.seed} chooses the same)"
    )


def _hashed(report: ObjectReport) -> str:
    if report.mode == "all":
        return f"; all {_plural(report.hashed, 'object')} re-hashed"
    if report.mode == "sample":
        return f"; {_sampled(report)}"
    return " (present; --objects or --sample N re-hashes them)"


def _objects(report: ObjectReport) -> tuple[list[str], list[Problem]]:
    if not report.checked:
        return ["Objects not checked: there is no object cache without a workspace"], []
    lines = []
    ref_only = (
        f"; {_plural(report.ref_only, 'ref-only version')}: files left where they are, not checked"
        if report.ref_only
        else ""
    )
    if report.ok:
        lines.append(
            f"OK: {_plural(report.objects, 'object')} of "
            f"{_plural(report.versions, 'version')}{_hashed(report)}{ref_only}"
        )
    if report.not_pulled:
        pulled = [one for one in report.damage if one.not_pulled or one.own == "not pulled"]
        lines.append(
            f"{_plural(len(report.not_pulled), 'object')} of "
            f"{_plural(len(pulled), 'version')} not pulled (held by "
            f"{', '.join(report.remotes_asked)}): `lineal pull` fetches them"
        )
    if report.ok:
        return lines, []
    if report.mode == "sample":  # so that the same choice can be checked again
        lines.append(f"Sample: {_sampled(report)}")
    lines.extend(_versions(report))
    counts = ", ".join(
        f"{_plural(len(found), 'object')} {label}"
        for found, label in ((report.missing, "missing"), (report.damaged, "damaged"))
        if found
    )
    hint = []
    if report.missing:
        asked = "" if report.remote_errors else " held by no remote"
        hint.append(
            f"missing objects{asked} are lost here: add the original files again "
            "(lineal add), or pull them from a remote that has them"
        )
    if report.damaged:
        hint.append(
            "damaged objects: remove them from .lineal/objects, then lineal pull a good copy"
        )
    hint.extend(f"could not ask remote {error}" for error in report.remote_errors)
    message = f"the data of {_plural(len(report.broken), 'version')} is not all here ({counts})"
    return lines, [(message, "; ".join(hint))]


def _audit(report: AuditReport) -> tuple[list[str], list[Problem]]:
    if report.problem is not None:
        where = f" (row {report.problem_seq})" if report.problem_seq else ""
        return [], [(f"the audit log is damaged{where}: {report.problem}", _RESTORE)]
    if not report.rows:
        return ["OK: the audit log is empty"], []
    return [
        f"OK: audit log of {_plural(report.rows, 'row')}, its head at row {report.signed_seq} "
        f"signed by {report.signer} (key {report.key_id})"
    ], []


def verification(report: Verification) -> tuple[list[str], list[Problem]]:
    """The lines `lineal verify` prints and the problems it found, the first one first."""
    lines: list[str] = []
    problems: list[Problem] = []
    ledger = report.ledger
    if ledger.problem is None:
        lines.append(
            f"OK: {ledger.records} records, {ledger.commits} signed commits, "
            f"{ledger.agents} agents, {ledger.redacted} redacted; "
            f"{ledger.projection_rows} projection rows match the ledger"
        )
    else:
        problems.append(
            (f"verification failed at seq {ledger.problem.seq}: {ledger.problem.what}", _RESTORE)
        )
    for said, found in (
        _audit(report.audit),
        _known(report.checkpoint),
        _objects(report.objects),
    ):
        lines.extend(said)
        problems.extend(found)
    # Every problem but the first (the error line) is said here, where the lines go.
    lines.extend(f"also: {message}" for message, _ in problems[1:])
    return lines, problems
