"""`lineal audit`: who read or changed what, and when; `lineal audit export` and `lineal audit
verify FILE` (the offline check of an export).

Thin: calls lineal.audit and prints what it returns; never reads the store itself.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from lineal.cli.common import fail, handle_errors, open_client, out
from lineal.cli.plain import print_json
from lineal.model.entities import MAX_LIMIT

audit_app = typer.Typer(
    help="The audit log: who read or changed what, and when (every request to a server; "
    "every write of an embedded store). Subcommands: export, verify.",
)
Json = Annotated[bool, typer.Option("--json", help="Print as JSON.")]


def _say(text: str) -> None:
    out.print(text, markup=False, emoji=False, highlight=False)


@audit_app.callback(invoke_without_command=True)
@handle_errors
def show(
    ctx: typer.Context,
    agent: Annotated[str | None, typer.Option(help="Only what this agent did.")] = None,
    ref: Annotated[
        str | None,
        typer.Option(help="Only requests naming REF (KIND/NAME: any version or alias of it)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="From then on: an ISO date or time, or an age (30d, 12h, 15m, 2w)."),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Up to then (an ISO date: to its end), or an age.")
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=MAX_LIMIT, help="At most the latest N rows.")
    ] = 100,
    as_json: Json = False,
) -> None:
    """List the audit log's rows, oldest first: time, agent, request, status, references."""
    if ctx.invoked_subcommand is not None:
        return
    from lineal import audit

    with open_client() as client:
        found = audit.read(
            client.store, agent=agent, ref=ref, since=since, until=until, limit=limit
        )
    if as_json:
        print_json(found.as_dict())
        return
    if not found.rows:
        _say("No audit rows match.")
        return
    for row in found.rows:
        event = row.event
        status = "-" if event.status is None else str(event.status)
        refs = " ".join(event.refs) if event.refs else "-"
        _say(
            f"{row.seq:>6}  {event.time}  {event.agent or '-'}  {event.method} "
            f"{event.endpoint}  {status} {event.outcome}  {refs}"
        )


@audit_app.command("export")
@handle_errors
def export(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to FILE (default: stdout).")
    ] = None,
) -> None:
    """Write the whole audit log as JSON lines: rows, signed heads, the keys that signed."""
    from lineal import audit

    with open_client() as client:
        lines = audit.export_lines(client.store)
        if output is None:
            for line in lines:
                sys.stdout.write(line)
            return
        rows = 0
        with output.open("w", encoding="utf-8") as file:
            for line in lines:
                file.write(line)
                rows += '"type":"row"' in line
    _say(f"Exported {rows:,} audit rows to {output}")


@audit_app.command("verify")
@handle_errors
def verify(
    path: Annotated[Path, typer.Argument(help="An export made by `lineal audit export`.")],
    as_json: Json = False,
) -> None:
    """Check an export offline: its hash chain and every signed head (name the first bad row)."""
    from lineal import audit

    report = audit.check_export(path)
    if as_json:
        print_json(report.as_dict())
        if not report.ok:
            raise typer.Exit(1)
        return
    if not report.ok:
        where = f" (row {report.problem_seq})" if report.problem_seq else ""
        raise fail(
            f"the audit export is damaged{where}: {report.problem}",
            "compare with the server's log, or an earlier export",
        )
    _say(
        f"OK: {report.rows:,} audit rows chain; head at row {report.signed_seq} signed by "
        f"{report.signer} (key {report.key_id}: check it is the key you trust)"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
