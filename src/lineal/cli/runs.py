"""`lineal runs`, `metrics` and `run`: find runs, read their metrics, record any command.

Thin: formats what lineal.tracking returns; never runs SQL or touches files itself.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lineal.cli.common import err, handle_errors, open_client, out
from lineal.cli.plain import print_json, redaction_line

if TYPE_CHECKING:
    from lineal.client import Lineal
    from lineal.model.entities import Run
    from lineal.model.series import Series
    from lineal.quality.leakage import Leakage

WARNING_TAG = "schema.warning"  # lineal.labels.runs.WARNING_TAG, without importing labels


def _number(value: float | None) -> str:
    if value is None:
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.6g}"


def _series_json(series: Mapping[str, Series]) -> str:
    """``{key: {steps, times, values}}`` indented like every --json, but each column on one
    line, written by json's C encoder: a million points in well under a second, not three
    million lines from the pure-Python one that indentation needs."""
    import json

    from lineal.tracking.search import json_number

    def column(values: Iterable[Any]) -> str:
        return json.dumps(list(values), ensure_ascii=False, allow_nan=False)

    keys = []
    for name, one in sorted(series.items()):
        fields = (
            f'    "steps": {column(one.steps)},\n'
            f'    "times": {column(one.times)},\n'
            f'    "values": {column(map(json_number, one.values))}\n'
        )
        keys.append(f"  {json.dumps(name, ensure_ascii=False)}: {{\n{fields}  }}")
    return "{\n" + ",\n".join(keys) + "\n}\n" if keys else "{}\n"


def _common_keys(values: list[dict[str, Any]], most: int) -> list[str]:
    counts = Counter(key for one in values for key in one)
    return sorted(key for key, _ in counts.most_common(most))


def _labels(params: list[str], seeded: bool, metrics: list[str]) -> list[str]:
    """Column titles: the bare key, or ``params.KEY``/``metrics.KEY`` when a key is both."""
    shared = set(params) & set(metrics)
    if seeded:
        shared |= {"seed"} & set(metrics)
    return [
        *(f"params.{key}" if key in shared else key for key in params),
        *(["seed"] if seeded else []),
        *(f"metrics.{key}" if key in shared else key for key in metrics),
    ]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _leaks(client: Lineal, found: Iterable[Run]) -> dict[str, list[Leakage]]:
    """Each run's leaks (lineal.quality.leakage), the manifests read once for all."""
    from lineal.quality.leakage import Manifests, run_leaks

    manifests = Manifests(client)
    return {run.ref: run_leaks(client, run, manifests) for run in found}


def _leak_cell(found: list[Leakage]) -> str:
    """``LEAK 12`` (files shared), ``0``, ``?`` (a file list not here) or blank (no eval)."""
    if any(one.leaked for one in found):
        return f"LEAK {sum(one.shared for one in found):,}"
    if any(one.unknown for one in found):
        return "?"
    return "0" if found else ""


@handle_errors
def runs(
    where: Annotated[
        str | None,
        typer.Option(
            "--where",
            "-w",
            help="Filter, e.g. 'metrics.mAP >= 0.8 and params.lr = 0.01 and "
            "status = finished and uses(dataset/coco@v3)'.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort",
            "-s",
            help="Order by created, name, status, duration, metrics.KEY, params.KEY or "
            "tags.KEY; a leading - sorts descending (e.g. -metrics.acc). Default: newest first.",
        ),
    ] = None,
    offset: Annotated[
        int, typer.Option(min=0, help="Skip this many first (with --limit: a page).")
    ] = 0,
    leakage: Annotated[
        bool,
        typer.Option(
            "--leakage", help="Add a column: files each run's train and eval inputs share."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List runs with status, duration, key params and metrics; filter with --where."""
    from lineal.tracking.search import page_runs, seed_of

    with open_client() as client:
        page = page_runs(client, where or "", sort=sort, offset=offset, limit=limit)
        leaks = _leaks(client, page.runs) if leakage else {}
    found = page.runs
    if as_json:
        listed = page.as_dict()["runs"]
        if leakage:
            for one, run in zip(listed, found, strict=True):
                one["leakage"] = [leak.as_dict() for leak in leaks[run.ref]]
        print_json(listed)
        return
    if not found:
        more = f" past {offset} of {page.total}" if offset and page.total else ""
        out.print("no runs" + (" match" if where else " yet") + more, markup=False)
        return
    if offset or page.total > len(found):  # on stderr: stdout stays the table
        last = offset + len(found)
        sys.stderr.write(
            f"note: runs {offset + 1}-{last} of {page.total}"
            + (f" (--offset {last} for more)\n" if last < page.total else "\n")
        )
    from rich.table import Table

    # Scalar params only (a split's dict would crowd out everything else); --json has all.
    # The seed has a column of its own, whether run meta or a param holds it.
    params = _common_keys(
        [
            {k: v for k, v in r.params.items() if k != "seed" and not isinstance(v, dict | list)}
            for r in found
        ],
        3,
    )
    seeds = [seed_of(run) for run in found]
    seeded = any(seed is not None for seed in seeds)
    metrics = _common_keys([dict(r.metrics) for r in found], 3)
    warned = any(WARNING_TAG in r.tags for r in found)
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("run", no_wrap=True, min_width=30)
    table.add_column("name", no_wrap=True, max_width=32)
    table.add_column("status", no_wrap=True)
    table.add_column("started", no_wrap=True)
    table.add_column("duration", no_wrap=True, justify="right")
    for column in _labels(params, seeded, metrics):
        table.add_column(column, no_wrap=True, justify="right")
    if leakage:
        table.add_column("leakage", no_wrap=True, justify="right")
    if warned:
        table.add_column("warning", no_wrap=True, max_width=60, overflow="ellipsis")
    for run, seed in zip(found, seeds, strict=True):
        table.add_row(
            run.ref,
            run.name,
            run.status,
            (run.started or "")[5:16].replace("T", " "),
            _duration(run.duration),
            *(str(run.params.get(key, "")) for key in params),
            *([] if not seeded else ["" if seed is None else str(seed)]),
            *(_number(run.metrics[key]) if key in run.metrics else "" for key in metrics),
            *([_leak_cell(leaks[run.ref])] if leakage else []),
            *([run.tags.get(WARNING_TAG, "")] if warned else []),
        )
    if out.is_terminal:
        out.print(table)
    else:  # piped: as wide as it needs, never folded into a column of single letters
        from rich.console import Console

        Console(width=10_000, highlight=False).print(table, crop=False)


@handle_errors
def metrics(
    ref: Annotated[str, typer.Argument(help="run/ULID")],
    key: Annotated[str | None, typer.Argument(help="One metric: print every point.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    max_points: Annotated[
        int | None,
        typer.Option(
            "--max-points", min=1, help="At most N points per key, shape and extremes kept."
        ),
    ] = None,
    from_step: Annotated[
        int | None, typer.Option("--from-step", help="Only points from this step on.")
    ] = None,
    to_step: Annotated[
        int | None, typer.Option("--to-step", help="Only points up to this step.")
    ] = None,
) -> None:
    """Show a run's metrics: a summary per key, or every point of one KEY."""
    from lineal.tracking.search import erased_metrics, metric_points

    with open_client() as client:
        # The summary table counts every point: only listed points are thinned.
        thin = max_points if key is not None or as_json else None
        series = metric_points(
            client, ref, key, max_points=thin, from_step=from_step, to_step=to_step
        )
        erased = erased_metrics(client, ref)
    for gone in erased:  # on stderr: stdout stays the table (or JSON) a script reads
        sys.stderr.write(f"note: redacted metrics batch: {redaction_line(gone)}\n")
    if as_json:
        sys.stdout.write(_series_json(series))
        return
    if key is not None:
        one = series.get(key)
        if one is None:  # logged, but not between --from-step and --to-step
            sys.stdout.write("step\tvalue\n")
            return
        sys.stdout.write("step\tvalue\n")
        sys.stdout.writelines(
            f"{step}\t{_number(value)}\n" for step, value in zip(one.steps, one.values, strict=True)
        )
        return
    # Tab-separated, written as is (rich would expand the tabs): ready for cut and awk.
    sys.stdout.write("key\tpoints\tfirst step\tlast step\tlast\tmin\tmax\n")
    for name, one in sorted(series.items()):
        finite = [v for v in one.values if not math.isnan(v)]
        low = min(finite) if finite else None
        high = max(finite) if finite else None
        sys.stdout.write(
            f"{name}\t{len(one)}\t{one.steps[0]}\t{one.steps[-1]}\t{_number(one.values[-1])}\t"
            f"{_number(low)}\t{_number(high)}\n"
        )


def _echo(label: str, chunk: bytes) -> None:
    stream = sys.stdout if label == "stdout" else sys.stderr
    stream.buffer.write(chunk)
    stream.flush()


@handle_errors
def run(
    command: Annotated[list[str], typer.Argument(help="The command, after `--`.")],
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Run name (default: the program).")
    ] = None,
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--in",
            help="A file or folder the command reads (snapshotted before); ROLE=PATH gives "
            "it a role, e.g. train=data/train, eval=data/val.",
        ),
    ] = None,
    outputs: Annotated[
        list[str] | None,
        typer.Option("--out", help="A file or folder the command writes (snapshotted after)."),
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="A KEY=VALUE param (repeatable).")
    ] = None,
) -> None:
    """Run any command as a recorded run: inputs before, outputs after, exit code → status."""
    from lineal.tracking.command import parse_params, run_command

    params = parse_params(param or [])
    with open_client() as client:
        result = run_command(
            client,
            command,
            name=name,
            inputs=inputs or [],
            outputs=outputs or [],
            params=params,
            echo=_echo,
        )
    info = result.run
    err.print(
        f"{info.ref} {info.status} in {_duration(info.duration)}"
        + "".join(f"\n  generated {a.ref}" for a in result.generated),
        markup=False,
    )
    for path in result.missing:
        err.print(f"error: --out {path} was not created by the command", markup=False)
    if result.exit_code:
        raise typer.Exit(result.exit_code if result.exit_code > 0 else 128 - result.exit_code)
    if result.missing:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(runs)
    app.command()(metrics)
    app.command(
        context_settings={"allow_interspersed_args": False},
    )(run)
