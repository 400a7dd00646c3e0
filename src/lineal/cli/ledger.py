"""`lineal verify`, `lineal log` and `lineal checkpoint`: integrity and history of the ledger.

Thin: formats what lineal.client returns; never reads the store directly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from lineal.cli import verify_lines
from lineal.cli.common import Quiet, fail, handle_errors, open_client, out
from lineal.cli.plain import print_json
from lineal.cli.progress import progress
from lineal.model.ops import OPS


@handle_errors
def verify(
    objects: Annotated[
        bool, typer.Option("--objects", help="Also re-hash every object versions need.")
    ] = False,
    sample: Annotated[
        int | None,
        typer.Option("--sample", min=1, help="Also re-hash N objects chosen at random."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", min=0, help="Choose the --sample objects as this seed did before."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    quiet: Quiet = False,
) -> None:
    """Check the hash chain, signatures, payload digests, every projection row, the ledger
    against the newest checkpoint kept, and that the data of every version is here."""
    from lineal.verification import verify as verify_all

    if objects and sample is not None:
        raise typer.BadParameter("--objects re-hashes every object; --sample N only N of them")
    if seed is not None and sample is None:
        raise typer.BadParameter("--seed chooses the objects of --sample N", param_hint="--seed")
    with open_client() as client, progress(quiet=quiet) as shown:
        report = verify_all(client, rehash=objects, sample=sample, seed=seed, progress=shown)
    if as_json:
        print_json(report.as_dict())
        if not report.ok:
            raise typer.Exit(1)
        return
    lines, problems = verify_lines.verification(report)
    for line in lines:
        out.print(line, markup=False)
    if problems:
        (message, hint), rest = problems[0], problems[1:]
        more = (
            f" (and {len(rest)} more problem{'s' if len(rest) > 1 else ''} above)" if rest else ""
        )
        raise fail(message + more, hint)


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
        summary = _summary(record["payload"])
        if (erased := record.get("redaction")) is not None:
            when = str(erased["time"])[:19].replace("T", " ")
            summary = (
                f"(redacted by {erased['author']} at {when}, record {erased['by_seq']}: "
                f"{erased['reason']})"
            )
        line = f"{record['seq']:>6}  {when}  {record['author']}  {record['op']:<15} {summary}"
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
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="With --verify: trust only this key (public key or key id, hex) or this "
            "agent's keys (default: the keys the ledger records for the agent it names).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Print a signed Merkle tree head (kept in .lineal/checkpoints/ too), or check that an
    old one is still consistent and signed by whom it names."""
    from lineal import checkpoint_files

    if out_file is not None and verify_file is not None:
        raise typer.BadParameter("--out and --verify cannot be used together")
    if key is not None and verify_file is None:
        raise typer.BadParameter("--key goes with --verify FILE", param_hint="--key")
    with open_client() as client:
        if verify_file is None:
            document, kept = checkpoint_files.make(client)
            if out_file is not None:
                out_file.write_bytes(checkpoint_files.encode(document))
            if as_json or out_file is None:
                print_json(document)
            else:
                out.print(verify_lines.made(document, kept, out_file), markup=False)
            return
        result = checkpoint_files.check(client, checkpoint_files.read(verify_file), key)
    if as_json:
        print_json(result.as_dict())
        if not result.ok:
            raise typer.Exit(1)
        return
    if result.ok:
        out.print(verify_lines.consistent(result), markup=False)
        return
    raise fail(*verify_lines.checkpoint_problem(result, str(verify_file)))


@handle_errors
def sync(
    status: Annotated[
        bool, typer.Option("--status", help="Only show what is spooled; send nothing.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds to keep trying while the server is away.", min=0)
    ] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the state as JSON.")] = False,
) -> None:
    """Send what is spooled for the lineal server (and OpenLineage events for the receiver in
    `[openlineage]`) now, and show what is still pending."""
    from lineal.interop import openlineage_emit

    with open_client() as client:
        state = client.sync(timeout, status_only=status)
        emitted = (
            openlineage_emit.status(client) if status else openlineage_emit.sync(client, timeout)
        )
    if emitted is not None:  # the OpenLineage events waiting in the workspace's outbox
        state = {**state, "openlineage": emitted.as_dict()}
    if as_json:
        print_json(state)
    else:
        pending, size = state["pending_batches"], state["pending_bytes"]
        line = f"{pending} batches ({size} bytes) pending for {state['uri']}"
        if not pending:
            line = f"nothing pending for {state['uri']}"
        out.print(line, markup=False)
        if pending and state["error"]:
            out.print(f"  the server: {state['error']}", markup=False)
        for refused in state["rejected"]:
            out.print(
                f"refused by the server: batch {refused['digest']}: {refused['error']}",
                markup=False,
            )
        if emitted is not None:
            out.print(openlineage_emit.describe(emitted.as_dict()), markup=False)
            if emitted.pending and emitted.error:
                out.print(f"  the receiver: {emitted.error}", markup=False)
    waiting = emitted is not None and emitted.pending > 0
    if state["rejected"] or ((state["pending_batches"] or waiting) and not status):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(sync)
    app.command()(verify)
    app.command()(log)
    app.command()(checkpoint)
