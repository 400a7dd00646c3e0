"""`lineal drift A [B]`, `lineal health` and `lineal stale [REF|--all]`: drift between dataset
versions, lineage health, and the models that would need retraining.

Thin: calls lineal.quality and prints what it returns; never reads the store itself.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lineal.cli.common import handle_errors, open_client
from lineal.cli.plain import print_json, print_line
from lineal.errors import InvalidInput

#: ``lineal health`` lists at most this many items per measure (``--json``: all of them).
SHOWN = 10


@handle_errors
def drift(
    a: Annotated[
        str | None, typer.Argument(help="A dataset version: dataset/NAME@vN (or NAME).")
    ] = None,
    b: Annotated[
        str | None,
        typer.Argument(help="The version to compare with A (default: A against the one before)."),
    ] = None,
    every: Annotated[
        bool,
        typer.Option(
            "--all",
            help="List every dataset version's drift as recorded when it was added (with the "
            "thresholds then in force) instead of comparing two versions.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Drift between two dataset versions: class mix (chi-square, Jensen-Shannon), box size
    and aspect, image size, annotations per image, file count, label schema; exit 1 on
    drift. Thresholds: [drift] in lineal.toml. With --all: the drift each version recorded
    when it was added."""
    if every:
        if a is not None or b is not None:
            raise InvalidInput(
                "--all lists every version's recorded drift: it takes no version",
                hint="lineal drift --all, or lineal drift A [B]",
            )
        _recorded(as_json=as_json)
        return
    if a is None:
        raise InvalidInput(
            "name a dataset version to compare",
            hint="lineal drift dataset/NAME@vN [dataset/NAME@vM], or lineal drift --all",
        )
    from lineal.quality.drift import drift as compute

    with open_client() as client:
        report = compute(client, a, b)
    if as_json:
        print_json(report.as_dict())
    else:
        print_line(f"{report.a} -> {report.b}")
        for one in report.measures:
            shown = "-" if one.statistic is None else f"{one.statistic:.4g}"
            print_line(
                f"  {one.verdict.upper():<7} {one.name:<22} {shown:>10} "
                f"(threshold {one.threshold:g})  {one.detail}"
            )
        print_line(report.summary())
    if report.drifted:
        raise typer.Exit(1)


def _recorded(*, as_json: bool) -> None:
    """`lineal drift --all`: each version's drift fact, oldest first."""
    from lineal.quality.drift_record import recorded

    with open_client() as client:
        found = recorded(client)
    if as_json:
        print_json([one.as_dict() for one in found])
        return
    if not found:
        print_line("no dataset version has recorded drift yet (lineal add records it)")
    for one in found:
        said = ", ".join(one.drifted) if one.drifted else "no drift"
        print_line(f"{one.ref:<40} from {one.body.get('from')}: {said}  (seq {one.seq})")


def _item(measure: str, item: dict[str, Any]) -> str:
    if measure == "coverage":
        return f"{item['model']}: {'; '.join(item['gaps'])}"
    if measure == "staleness":
        return f"{item['model']}: " + "; ".join(
            f"{r['input']} -> {r['newer']}" for r in item["reasons"]
        )
    if measure == "freshness":
        age = "?" if item["age_days"] is None else f"{item['age_days']:.1f} days"
        return f"{item['pipeline']}: last run {item['last_run']} {age} ago ({item['status']})"
    if measure == "orphans":
        return str(item["artifact"])
    return f"{item['run']} ({item['name']}) started {item['started']}"


@handle_errors
def health(
    days: Annotated[
        float, typer.Option("--days", min=0, help="A pipeline not run for this long is stale.")
    ] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Lineage health: coverage, stale models, freshness per pipeline, orphans, crashed runs."""
    from lineal.quality.health import health as compute

    with open_client() as client:
        report = compute(client, days=days)
    if as_json:
        print_json(report.as_dict())
        return
    for one in report.findings:
        number = f"{one.number:.0%}" if one.measure == "coverage" else f"{one.number:g}"
        print_line(f"{one.measure:<10} {number:>6}  {one.detail}")
        items = [i for i in one.items if one.measure != "freshness" or not i["fresh"]]
        for item in items[:SHOWN]:
            print_line(f"             {_item(one.measure, item)}")
        if len(items) > SHOWN:
            print_line(f"             … and {len(items) - SHOWN} more (--json lists all)")


@handle_errors
def stale(
    ref: Annotated[
        str | None, typer.Argument(help="A model version: model/NAME[@vN|:ALIAS].")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Check every model version.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """What would need retraining: models made from a dataset, schema, scene or code that has a
    newer version, and which input has which newer version; exit 1 when one is stale."""
    from lineal.quality.stale import stale as compute

    if every == (ref is not None):
        raise InvalidInput("give a model version or --all", hint="e.g. lineal stale --all")
    with open_client() as client:
        report = compute(client, ref)
    if as_json:
        print_json(report.as_dict())
    else:
        if not report.stale:
            print_line(f"None of {report.checked} model version(s) is stale.")
        for one in report.stale:
            note = "" if one.latest else " (a newer version of it exists)"
            print_line(f"{one.model} is stale{note}:")
            for reason in one.reasons:
                print_line(f"  {reason.input} -> {reason.newer}: {reason.detail}")
    if report.stale:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(drift)
    app.command()(health)
    app.command()(stale)
