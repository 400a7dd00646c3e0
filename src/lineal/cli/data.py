"""`lineal add`, `status`, `diff`, `checkout` and `gc`: dataset versions from the command line.

Thin: formats what lineal.datasets returns; never touches files or the store itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lineal import collect, datasets, worktree
from lineal.cli import status as status_view
from lineal.cli.common import Quiet, err, handle_errors, open_client, out
from lineal.cli.plain import change_lines, print_json, size
from lineal.cli.progress import progress

if TYPE_CHECKING:
    from lineal.lineage.diff import Change, LineageDiff


@handle_errors
def add(
    paths: Annotated[
        list[str],
        typer.Argument(help="Files or folders to snapshot (or one URL with --ref-only)."),
    ],
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="dataset/NAME (default: the folder's name).")
    ] = None,
    ref_only: Annotated[
        bool, typer.Option("--ref-only", help="Record digests and locations; copy no bytes.")
    ] = False,
    license_: Annotated[
        str | None, typer.Option("--license", help="SPDX licence id, e.g. CC-BY-4.0.")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Where the data came from (URL).")] = None,
    description: Annotated[str | None, typer.Option(help="One line about this data.")] = None,
    owner: Annotated[str | None, typer.Option(help="Who answers for it (default: you).")] = None,
    meta: Annotated[
        list[str] | None, typer.Option("--meta", help="Extra KEY=VALUE metadata (repeatable).")
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option(help="With an s3:// URL: an S3-compatible endpoint (MinIO, Ceph, moto)."),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Refuse the version when it breaks any validation rule in lineal.toml."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    quiet: Quiet = False,
) -> None:
    """Snapshot files or folders as a new version of a dataset, checked against the
    validation rules of lineal.toml (a failing rule warns; refuses with --strict or enforce)."""
    from lineal.quality.check import AddGuard

    extra = datasets.parse_meta(meta or [])
    with open_client() as client, progress(quiet=quiet) as shown:
        guard = AddGuard(client, strict=strict)
        result = datasets.add(
            client,
            paths,
            name=name,
            ref_only=ref_only,
            license=license_,
            source=source,
            description=description,
            owner=owner,
            extra=extra,
            endpoint_url=endpoint_url,
            progress=shown,
            then=guard,
        )
        drift = None
        if result.artifact.kind == "dataset":  # unchanged: recorded unless it has it
            from lineal.quality.drift_record import after_add

            drift = after_add(client, result.artifact)
    snap, artifact = result.snapshot, result.artifact
    if as_json:
        print_json(
            {
                "ref": artifact.ref,
                "digest": artifact.digest,
                "created": result.created,
                "files": snap.files,
                "bytes": snap.manifest.size,
                "hashed": snap.hashed,
                "from_stat_cache": snap.from_stat_cache,
                "new_objects": snap.new_objects,
                "skipped": list(snap.skipped),
                "labels": [
                    {
                        "schema": one.artifact.ref,
                        "format": one.imported.format,
                        "classes": len(one.imported.schema.classes),
                        "created": one.created,
                    }
                    for one in result.labels
                ],
                "label_problems": list(result.label_problems),
                "rules": [one.as_dict() for one in guard.findings],
                "drift": None if drift is None else drift.as_dict(),
            }
        )
        return
    summary = f"{snap.files:,} files, {size(snap.manifest.size)}"
    if result.created:
        out.print(
            f"{artifact.ref}  {artifact.digest[:19]}  {summary}, {snap.new_objects:,} new objects",
            markup=False,
        )
    else:
        out.print(f"{artifact.ref} unchanged ({summary}); no new version", markup=False)
    for line in snap.skipped:
        out.print(f"skipped: {line}", markup=False)
    for one in result.labels:
        stats = one.imported.stats
        out.print(
            f"labeled with {one.artifact.ref} ({one.imported.format}, "
            f"{len(one.imported.schema.classes)} classes; {stats.annotations:,} annotations "
            f"in {stats.images:,} images)",
            markup=False,
        )
    for line in result.label_problems:
        err.print(f"warning: annotations skipped: {line}", markup=False)
    for finding in guard.warnings:
        err.print(f"warning: rule {finding.rule}: {finding.message}", markup=False)
    if drift is not None:
        said = f"{drift.summary()} (lineal drift {artifact.ref})"
        if drift.drifted:
            err.print(f"warning: {said}", markup=False)
        else:
            out.print(said, markup=False)


@handle_errors
def status(
    ref: Annotated[
        str | None, typer.Argument(help="dataset/NAME (default: every dataset).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    quiet: Quiet = False,
) -> None:
    """Files added, removed and modified in working copies since their latest versions."""
    # The same code answers a plain `lineal status` without Typer (lineal.cli.main).
    status_view.show(ref, as_json=as_json, quiet=quiet)


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)


def _cause(change: Change) -> str:
    detail, text = change.detail, f"{change.before or '-'} -> {change.after or '-'}"
    if change.category in ("param", "split", "seed", "upstream-param"):
        text = f"{_shown(change.before)} -> {_shown(change.after)}"
    if detail.get("fraction") is not None:
        text += (
            f"  ({detail['added']} added, {detail['removed']} removed, {detail['modified']} "
            f"modified of {detail['files']} files)"
        )
    elif "files_unknown" in detail:
        text += f"  (file counts unknown: {detail['files_unknown']})"
    if detail.get("classes"):
        text += "  (" + ", ".join(f"{n} {k}" for k, n in detail["classes"].items()) + ")"
    if detail.get("ml"):
        text += "  (ML package)"
    return f"  {change.category:<14} {change.subject}: {text}"


def _print_lineage(result: LineageDiff) -> None:
    sides = [f"{ref} ({run})" if ref != run else ref for ref, run in
             ((result.a, result.run_a), (result.b, result.run_b))]  # fmt: skip
    out.print(f"{sides[0]} -> {sides[1]}", markup=False)
    out.print("metrics (the effect):", markup=False)
    if not result.metrics:
        out.print("  none logged", markup=False)
    for metric in result.metrics:
        delta = "" if metric.delta is None else f"  ({metric.delta:+.6g})"
        mark = delta if metric.changed else "  (same)"
        line = f"  {metric.key}: {_shown(metric.before)} -> {_shown(metric.after)}{mark}"
        out.print(line, markup=False)
    for side, found in result.warnings.items():
        run = result.run_a if side == "a" else result.run_b
        for warning in found:
            out.print(f"warning ({run}): {warning}", markup=False)
    out.print("what changed upstream, likeliest cause first:", markup=False)
    if not result.changes:
        out.print("  nothing: same data, schemas, params, seed, code and environment", markup=False)
    for change in result.changes:
        out.print(_cause(change), markup=False)


@handle_errors
def diff(
    a: Annotated[
        str, typer.Argument(help="The older dataset version (dataset/NAME@v1), run or model.")
    ],
    b: Annotated[
        str, typer.Argument(help="The newer dataset version (dataset/NAME@v2), run or model.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Difference between two dataset versions (files) or two runs or models (lineage).

    For runs and models (each through the run that generated it): metrics side by side, then
    what differs upstream (data, label schemas, scenes, params, seed, splits, code,
    environment), the likeliest explanation of a metric change first.
    """
    from lineal.lineage import diff as lineage_diff

    with open_client() as client:
        if not lineage_diff.is_file_diff(client, a, b):
            result = lineage_diff.diff(client, a, b)
            if as_json:
                print_json(result.as_dict())
            else:
                _print_lineage(result)
            return
        old, new, changes = datasets.diff_versions(client, a, b)
    if as_json:
        print_json({"a": old.ref, "b": new.ref, **changes.as_dict()})
        return
    counts = changes.as_dict()["summary"]
    out.print(
        f"{old.ref} -> {new.ref}: {counts['added']} added, {counts['removed']} removed, "
        f"{counts['modified']} modified",
        markup=False,
    )
    for line in change_lines(changes):
        out.print(line, markup=False)


@handle_errors
def checkout(
    ref: Annotated[str, typer.Argument(help="The version, e.g. dataset/NAME@v2.")],
    directory: Annotated[
        Path | None, typer.Argument(help="Where to put it (default: where it was added from).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite files with local changes.")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Materialise a dataset version, verifying every file against its digest."""
    with open_client() as client, progress(quiet=quiet) as shown:
        result = worktree.checkout(client, ref, directory, force=force, progress=shown)
    out.print(
        f"{result.artifact.ref} -> {result.directory}: {result.written:,} written, "
        f"{result.unchanged:,} unchanged, {result.removed:,} removed",
        markup=False,
    )


@handle_errors
def gc(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would be removed.")
    ] = False,
    grace: Annotated[
        str,
        typer.Option(
            "--grace",
            metavar="DURATION",
            help="Keep unreferenced objects and temporary files written or reused within "
            "this long (30m, 2h, 1d, 2w; 0 or now: none, when no other machine writes to "
            "this cache).",
        ),
    ] = collect.show_grace(collect.GRACE),
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    quiet: Quiet = False,
) -> None:
    """Remove cached objects that no recorded version references, and what interrupted
    commands left behind, once older than the grace period."""
    seconds = collect.parse_grace(grace)
    with open_client() as client, progress(quiet=quiet) as shown:
        result = collect.gc(client, dry_run=dry_run, grace=seconds, progress=shown)
    if as_json:
        print_json({"dry_run": dry_run, **result.as_dict()})
        return
    verb = "would remove" if dry_run else "removed"
    out.print(
        f"{verb} {result.removed:,} objects ({size(result.bytes)}); kept {result.kept:,}",
        markup=False,
    )
    if result.temp_files:
        out.print(
            f"{verb} {result.temp_files:,} temporary files ({size(result.temp_bytes)}) "
            "that interrupted commands left",
            markup=False,
        )
    if result.young:
        out.print(
            f"kept {result.young:,} unreferenced objects ({size(result.young_bytes)}) written "
            f"or reused within the grace period ({collect.show_grace(result.grace)}): a command "
            "may be about to record them; `lineal gc --grace 0` removes them when no other "
            "machine writes to this cache",
            markup=False,
        )


def register(app: typer.Typer) -> None:
    for command in (add, status, diff, checkout, gc):
        app.command()(command)
