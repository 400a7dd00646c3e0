"""`lineal verify`, `lineal log` and `lineal checkpoint`: integrity and history of the ledger.

Thin: formats what lineal.client returns; never reads the store directly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from lineal.cli.common import fail, handle_errors, open_client, out
from lineal.cli.plain import print_json
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


def _short(value: Any) -> str:
    if isinstance(value, str):
        return value[:15] if value.startswith("sha256:") else value
    if isinstance(value, list):
        return f"[{len(value)} items]"
    if isinstance(value, dict):
        return "{" + ",".join(sorted(value)) + "}" if value else "{}"
    return json.dumps(value)


def _summary(payload: Any) -> str:
    """One line per record: key=value pairs, digests and lists shortened."""
    if not isinstance(payload, dict):
        return "(redacted)"
    return " ".join(
        f"{key}={_short(value)}"
        for key, value in payload.items()
        if value not in (None, {}, []) and key != "public_key"
    )


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
        raise typer.BadParameter(
            f"unknown op {op!r}: expected one of {', '.join(sorted(OPS))}", param_hint="--op"
        )
    with open_client() as client:
        records = list(client.log(limit=limit, op=op))
    if as_json:
        print_json(records)
        return
    for record in records:
        when = record["time"][:19].replace("T", " ")
        line = (
            f"{record['seq']:>6}  {when}  {record['author']}  {record['op']:<15} "
            f"{_summary(record['payload'])}"
        )
        if out.is_terminal:  # one screen line per record; a pipe gets every line whole
            out.print(line, markup=False, crop=True, no_wrap=True, overflow="ellipsis")
        else:
            sys.stdout.write(line + "\n")


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
        raise typer.BadParameter("--out and --verify cannot be used together")
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
