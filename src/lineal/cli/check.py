"""`lineal check [REF|--all]`: dataset versions against the validation rules of `lineal.toml`,
runs and models against train/eval leakage; exit 1 on a violation, so CI can gate on it.

Thin: calls lineal.quality.check and prints what it returns; never reads the store itself.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lineal.cli.common import err, handle_errors, open_client, out
from lineal.cli.plain import print_json

if TYPE_CHECKING:
    from lineal.quality.check import Finding


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return "-" if value is None else str(value)


def finding_line(one: Finding) -> str:
    """One finding as `lineal check` and `lineal add` print it."""
    mark = {"pass": "pass", "fail": "FAIL", "skipped": "skip"}[one.verdict]
    bounds = f" [measured {_value(one.measured)}, bound {_value(one.bound)}]"
    return f"{mark:<4} {one.rule:<22} {one.ref}: {one.message}" + (
        bounds if one.verdict != "skipped" else ""
    )


@handle_errors
def check(
    ref: Annotated[
        str | None,
        typer.Argument(help="A dataset version (rules), or a run or model (leakage)."),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="The latest version of every dataset a rule names.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Check datasets against lineal.toml's validation rules, or a run or model for train/eval
    leakage; exit 1 on a violation."""
    from lineal.quality.check import check as run_check

    with open_client() as client:
        report = run_check(client, ref, every=every)
    if as_json:
        print_json(report.as_dict())
    else:
        if not report.checked:
            out.print("No dataset is named by a rule in lineal.toml.", markup=False)
        for one in report.findings:
            out.print(finding_line(one), markup=False, highlight=False)
        for leak in report.leakage:
            for shared in leak.examples:
                out.print(f"     shared {shared.eval} = {shared.train}", markup=False)
        if report.findings:
            failed = len(report.violations)
            verdict = f"{failed} violation(s)" if failed else "no violation"
            out.print(f"{len(report.checked)} checked: {verdict}", markup=False)
        elif report.checked:
            out.print(f"{', '.join(report.checked)}: nothing to check", markup=False)
    if not report.ok:
        if not as_json:
            err.print("error: validation failed", markup=False)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(check)
