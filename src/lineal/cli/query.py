"""`lineal query`: cross-run questions, such as which dataset version gave mAP >= 0.8 at step 10.

Thin: calls lineal.tracking.query and prints what it returns; never reads the store itself.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lineal.cli.common import handle_errors, open_client, out
from lineal.cli.plain import print_json

if TYPE_CHECKING:  # the tracking machinery is imported when a query runs, not at every start
    from lineal.tracking.query import Linked, Match, QueryResult


def _text(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.6g}" if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    return str(value)


def _link(link: Linked) -> str:
    ref = link.ref if link.ref != link.digest else f"{link.kind} {link.digest[:19]}…"
    return f"{ref} ({link.role})" if link.role else ref


def _print_match(match: Match, show: tuple[str, ...]) -> None:
    run = match.run
    values = "  ".join(f"{key}={_text(value)}" for key, value in match.values.items())
    out.print(f"{run.ref}  {run.name}  {run.status}  {values}".rstrip(), markup=False)
    if "inputs" in show:
        for link in match.inputs:
            out.print(f"  input   {_link(link)}", markup=False)
    if "outputs" in show:
        for link in match.outputs:
            out.print(f"  output  {_link(link)}", markup=False)
    if "params" in show:
        for key, value in sorted(run.params.items()):
            out.print(f"  param   {key} = {_text(value)}", markup=False)
    if "metrics" in show:
        for key, number in sorted(run.metrics.items()):
            shown = _text(math.nan if number is None else number)
            out.print(f"  metric  {key} = {shown}", markup=False)


def _print(result: QueryResult, limit: int) -> None:
    if not result.matches:
        out.print(f"no runs match {result.where}", markup=False)
        return
    for match in result.matches:
        _print_match(match, result.show)
    count = len(result.matches)
    more = f" (the newest {limit}; --limit N for more)" if result.more else ""
    out.print(
        f"{count} run{'' if count == 1 else 's'} match{'' if count > 1 else 'es'}{more}",
        markup=False,
    )
    for which in ("inputs", "outputs"):
        if which in result.show and count > 1:
            out.print(f"{which} across them:", markup=False)
            for link, runs in result.tally(which):
                out.print(f"  {_link(link)}  {runs} of {count} runs", markup=False)


@handle_errors
def query(
    expr: Annotated[
        str,
        typer.Argument(
            help="A run filter, as for `lineal runs --where`; metrics.KEY@STEP is the value "
            "logged at that step, e.g. 'metrics.mAP@10 >= 0.8 and uses(dataset/coco)'."
        ),
    ],
    show: Annotated[
        list[str] | None,
        typer.Option(
            "--show",
            "-s",
            help="Also list each run's inputs, outputs, params or metrics (repeatable).",
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many runs (newest first).")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Answer a cross-run question: the runs a filter matches, with their inputs and more."""
    from lineal.tracking.query import query as ask

    with open_client() as client:
        result = ask(client, expr, show=show or (), limit=limit)
    if as_json:
        print_json(result.as_dict())
        return
    _print(result, limit)


def register(app: typer.Typer) -> None:
    app.command()(query)
