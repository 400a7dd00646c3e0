"""`lineal redact SEQ|REF` and `lineal retention apply`: erasing payloads (admin only).

Thin: calls lineal.redaction and lineal.retention and prints what they return.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from lineal.cli.common import fail, handle_errors, open_client, out
from lineal.cli.plain import print_json

retention_app = typer.Typer(
    help="Retention rules ([[retention]] in lineal.toml): erase old payloads.",
    no_args_is_help=True,
)
Json = Annotated[bool, typer.Option("--json", help="Print as JSON.")]


def _say(text: str) -> None:
    out.print(text, markup=False, emoji=False, highlight=False)


def _listing(seq: int, op: str, subject: str, by_seq: int | None) -> str:
    what = "logged points" if op == "metrics.batch" else "tag value"
    done = f" (erased by record {by_seq})" if by_seq else ""
    return f"  record {seq:>6}  {op:<14} {what} of {subject}{done}"


@handle_errors
def redact(
    target: Annotated[
        str,
        typer.Argument(
            help="A record's SEQ (see `lineal log`), or a reference: run/ULID erases its "
            "logged metrics and tag values, an artifact reference or agent/NAME its tag values."
        ),
    ],
    reason: Annotated[
        str, typer.Option("--reason", help="Why (kept in the ledger with who and when).")
    ],
    only: Annotated[
        str | None,
        typer.Option("--only", help="With a reference: only `metrics` or only `tags`."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Erase without asking.")] = False,
    as_json: Json = False,
) -> None:
    """Erase payloads for good (admin only): the chain still verifies, and the ledger says
    what was erased, when, by whom and why. Only logged metrics and tag values can be."""
    from lineal import redaction

    with open_client() as client:
        redaction.require_admin(client)  # refused before anything is listed or asked
        planned = redaction.plan(client, target, reason, only=only)
        if not planned.erase:
            if as_json:
                print_json(planned.as_dict())
            else:
                _say(f"nothing to erase for {planned.target}")
            return
        if not yes:
            if as_json or not sys.stdin.isatty():
                raise fail(
                    f"erasing {len(planned.erase)} payload(s) of {planned.target} needs "
                    "confirmation",
                    "pass --yes to erase without asking",
                )
            _say(f"This erases {len(planned.erase)} payload(s) for good:")
            for one in planned.erase:
                _say(_listing(one.seq, one.op, one.subject, None))
            if not typer.confirm("Erase them?", default=False):
                _say("nothing erased")
                raise typer.Exit(1)
        (done,) = redaction.apply(client, [planned])
    if as_json:
        print_json(done.as_dict())
        return
    _say(f"erased {len(done.erase)} payload(s) of {done.target}: {done.reason}")
    for one in done.erase:
        _say(_listing(one.seq, one.op, one.subject, one.by_seq))


@retention_app.command("apply")
@handle_errors
def apply(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what the rules would erase.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Erase what the [[retention]] rules of lineal.toml reach (admin only), each payload
    with a redact record naming its rule; a second apply erases nothing more."""
    from lineal import retention

    with open_client() as client:
        result = retention.apply(client, dry_run=dry_run)
    if as_json:
        print_json(result.as_dict())
        return
    verb = "would erase" if dry_run else "erased"
    for outcome in result.rules:
        kept = f", {len(outcome.kept)} kept (unless {outcome.rule.unless})" if outcome.kept else ""
        _say(
            f"{outcome.rule.name}: {verb} {len(outcome.erase)} payload(s) of "
            f"{len(outcome.runs)} run(s){kept}"
        )
        for one in outcome.erase:
            _say(_listing(one.seq, one.op, one.subject, one.by_seq))
    _say(f"{verb} {result.erased} payload(s) in all")


def register(app: typer.Typer) -> None:
    app.command()(redact)
    app.add_typer(retention_app, name="retention")
