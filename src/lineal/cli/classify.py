"""`lineal classified [CLASS]`: everything carrying a classification, its own or inherited
from a tagged ancestor (lineal.quality.classify).

Thin: calls the service and prints what it returns; never reads the store itself.
"""

from __future__ import annotations

from typing import Annotated

import typer

from lineal.cli.common import handle_errors, open_client, out
from lineal.cli.plain import print_json


@handle_errors
def classified(
    classification: Annotated[
        str | None,
        typer.Argument(help="Only this class, e.g. pii (default: every classification)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List everything that carries a classification (`lineal tag REF classification=pii`),
    set on it or inherited from a tagged ancestor, and from where."""
    from lineal.quality.classify import classified as find

    with open_client() as client:
        found = find(client, classification)
    if as_json:
        print_json([one.as_dict() for one in found])
        return
    if not found:
        what = f"classified {classification}" if classification else "classified"
        out.print(f"Nothing is {what}.", markup=False)
        return
    width = max(len(one.label) for one in found)
    for one in found:
        texts = "; ".join(carried.text() for carried in one.carried)
        out.print(f"{one.label:<{width}}  {texts}", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(classified)
