"""`lineal alerts [--send]`: what waits for the receivers of `lineal.toml`'s ``[alerts]``, what
was given up and why; ``--send`` delivers what waits now (lineal.quality.alerts).

Thin: calls the service and prints what it returns; never reads the store itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lineal.cli.common import handle_errors, open_client, out
from lineal.cli.plain import print_json

if TYPE_CHECKING:
    from lineal.quality.alerts import SinkStatus


#: ``--send`` and ``--timeout``, of `lineal alerts` and `lineal server alerts`.
Send = Annotated[
    bool, typer.Option("--send", help="Deliver the waiting alerts now (exit 1 if any stay).")
]
Timeout = Annotated[
    float | None, typer.Option(help="With --send: give up the pass after this many seconds.")
]


@handle_errors
def alerts(
    send: Send = False,
    timeout: Timeout = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show the alerts waiting for the [alerts] command and webhook, and those given up."""
    from lineal.quality.alerts import status

    with open_client() as client:
        found = status(client, send=send, timeout=timeout)
    show(
        found,
        send=send,
        as_json=as_json,
        none="No [alerts] table in lineal.toml: findings alert nobody.",
    )


def show(found: list[SinkStatus], *, send: bool, as_json: bool, none: str) -> None:
    """Print each receiver's line (``none`` when there is no receiver); exit 1 after
    ``send`` when some alert still waits."""
    if as_json:
        print_json([one.as_dict() for one in found])
    elif not found:
        out.print(none, markup=False)
    for one in found if not as_json else ():
        line = f"{one.sink} {one.target}: {one.pending} waiting, {one.given_up} given up"
        if send:
            line += f", {one.sent} sent now"
        if one.error:
            line += f"; last error: {one.error}"
        out.print(line, markup=False)
    if send and any(one.pending for one in found):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(alerts)
