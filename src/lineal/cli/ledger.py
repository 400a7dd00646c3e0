"""`lineal verify`, `lineal log` and `lineal checkpoint`: integrity and history of the ledger.

Thin: formats what lineal.client returns; never reads the store directly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lineal.cli.common import fail, handle_errors, open_client, out, print_json
from lineal.errors import InvalidInput
from lineal.model.ops import OPS


@handle_errors
def verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check the hash chain, signatures, payload digests and every projection row."""
    with open_client() as client:
        report = client.verify()
    if as_json:
        print_json(report.as_dict())
    elif report.problem is None:
        out.print(
            f"OK: {report.records} records, {report.commits} signed commits, "
            f"{report.agents} agents, {report.redacted} redacted; "
            f"{report.projection_rows} projection rows match the ledger",
            markup=False,
        )
    if report.problem is not None:
        if as_json:
            raise typer.Exit(1)
        raise fail(
            f"verification failed at seq {report.problem.seq}: {report.problem.what}",
            "the store was altered outside lineal; restore it from a backup or a peer",
        )


def _summary(payload: Any) -> str:
    if not isinstance(payload, dict):
        return "(redacted)"
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= 90 else text[:87] + "..."


@handle_errors
def log(
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="Show at most N records.")
    ] = None,
    op: Annotated[
        str | None, typer.Option(help=f"Only records of this op ({', '.join(sorted(OPS))}).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print records as JSON.")] = False,
) -> None:
    """Show ledger records, newest first."""
    if op is not None and op not in OPS:
        raise InvalidInput(f"unknown op {op!r}: expected one of {', '.join(sorted(OPS))}")
    with open_client() as client:
        records = list(client.log(limit=limit, op=op))
    if as_json:
        print_json(records)
        return
    table = Table(box=None, pad_edge=False)
    for column in ("seq", "time", "author", "op", "payload"):
        table.add_column(column, overflow="fold")
    for record in records:
        table.add_row(
            str(record["seq"]),
            record["time"][:19].replace("T", " "),
            record["author"],
            record["op"],
            _summary(record["payload"]),
        )
    out.print(table)


@handle_errors
def checkpoint(
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the signed tree head to FILE.")
    ] = None,
    verify_file: Annotated[
        Path | None,
        typer.Option("--verify", help="Check an earlier checkpoint FILE against the ledger."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Print a signed Merkle tree head, or check that an old one is still consistent."""
    if out_file is not None and verify_file is not None:
        raise InvalidInput("--out and --verify cannot be used together")
    with open_client() as client:
        if verify_file is None:
            document = client.checkpoint()
            if out_file is not None:
                out_file.write_text(json.dumps(document, indent=2) + "\n")
            if as_json or out_file is None:
                print_json(document)
            else:
                out.print(
                    f"Checkpoint of {document['size']} records, root {document['root']}, "
                    f"signed by {document['agent']}, written to {out_file}",
                    markup=False,
                )
            return
        try:
            document = json.loads(verify_file.read_text())
        except (OSError, ValueError) as exc:
            raise InvalidInput(
                f"cannot read checkpoint {verify_file}: {exc}",
                hint="pass a file written by `lineal checkpoint --out FILE`",
            ) from exc
        if not isinstance(document, dict):
            raise InvalidInput(f"{verify_file} is not a lineal checkpoint")
        result = client.check_checkpoint(document)
    if as_json:
        print_json(result.as_dict())
    elif result.consistent:
        out.print(
            f"OK: the checkpoint of {result.size} records is consistent with today's "
            f"{result.current_size} (consistency proof of {result.proof_length} hashes)",
            markup=False,
        )
    if not result.consistent:
        if as_json:
            raise typer.Exit(1)
        where = (
            f"seq {result.first_bad_seq}"
            if result.first_bad_seq == result.last_bad_seq
            else f"seq {result.first_bad_seq}..{result.last_bad_seq}"
        )
        raise fail(
            f"history was rewritten since the checkpoint: first change at {where}",
            "compare with a backup taken before that point",
        )


def register(app: typer.Typer) -> None:
    app.command()(verify)
    app.command()(log)
    app.command()(checkpoint)
