"""`lineal upstream`, `lineal downstream` and `lineal path`: lineage as a tree, JSON, dot, mermaid.

Thin: calls lineal.lineage.queries and prints what it returns; never reads the store itself.
"""

from __future__ import annotations

from typing import Annotated

import typer

from lineal.cli.common import handle_errors, open_client, out
from lineal.cli.plain import print_json
from lineal.errors import InvalidInput, NotFound
from lineal.lineage import queries
from lineal.lineage.graph import Graph

FORMATS = ("tree", "json", "columns", "dot", "mermaid")

Ref = Annotated[
    str,
    typer.Argument(
        help="KIND/NAME[@vN|@sha256:HEX], KIND/NAME:ALIAS, run/ULID, agent/NAME or sha256:HEX."
    ),
]
Depth = Annotated[
    int | None,
    typer.Option(help="Follow at most this many edges (default: all the way).", min=0),
]
Kinds = Annotated[
    list[str] | None,
    typer.Option(
        "--kind",
        "-k",
        help="Show only nodes of this kind (dataset, model, …, run, agent) and the roots; may "
        "repeat. What descends from what is kept: two shown nodes joined only through hidden "
        "ones get a link saying how many ('⋯ via N hidden'; 'via' edges in JSON, dashed in dot, "
        "dotted in mermaid), and the footer counts real edges apart from those links.",
    ),
]
AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Answer as the store stood then: a ledger seq, an ISO-8601 time (UTC unless an "
        "offset is given) or a date (2026-11-25); a date means the end of that day, UTC.",
    ),
]
Format = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        help=f"Output: {', '.join(FORMATS)} (columns: the JSON with nodes and edges as lists "
        "of values per field, edges naming nodes by position; compact for a big answer).",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print as JSON (same as --format json).")]


def _format(fmt: str, as_json: bool) -> str:
    chosen = "json" if as_json else fmt.strip().lower()
    if chosen not in FORMATS:
        raise InvalidInput(
            f"bad format {fmt!r}: expected one of {', '.join(FORMATS)}",
            hint="e.g. --format dot | dot -Tsvg > lineage.svg",
        )
    return chosen


def _print(graph: Graph, fmt: str) -> None:
    if fmt in ("json", "columns"):
        print_json(graph.as_dict() if fmt == "json" else graph.as_columns())
        return
    if fmt == "tree":
        text = "\n".join(graph.to_tree())
    elif fmt == "dot":
        text = graph.to_dot().rstrip("\n")
    else:
        text = graph.to_mermaid().rstrip("\n")
    out.print(text, markup=False, emoji=False, highlight=False)


@handle_errors
def upstream(
    ref: Ref,
    depth: Depth = None,
    kind: Kinds = None,
    as_of: AsOf = None,
    fmt: Format = "tree",
    as_json: Json = False,
) -> None:
    """Show where REF came from: the runs, data, code and agents upstream of it."""
    chosen = _format(fmt, as_json)
    with open_client() as client:
        graph = queries.upstream(client, ref, depth=depth, kinds=kind, as_of=as_of)
    _print(graph, chosen)


@handle_errors
def downstream(
    ref: Ref,
    depth: Depth = None,
    kind: Kinds = None,
    as_of: AsOf = None,
    fmt: Format = "tree",
    as_json: Json = False,
) -> None:
    """Show what REF fed into: every run, dataset and model downstream of it (its impact).

    A bare KIND/NAME means all its versions; models show the aliases they hold.
    """
    chosen = _format(fmt, as_json)
    with open_client() as client:
        graph = queries.downstream(client, ref, depth=depth, kinds=kind, as_of=as_of)
    _print(graph, chosen)


@handle_errors
def path(
    a: Annotated[str, typer.Argument(help="The upstream end (a bare KIND/NAME: any version).")],
    b: Annotated[str, typer.Argument(help="The downstream end.")],
    as_of: AsOf = None,
    fmt: Format = "tree",
    as_json: Json = False,
) -> None:
    """Show how A reached B: every node on some path from A down to B."""
    chosen = _format(fmt, as_json)
    with open_client() as client:
        graph = queries.path(client, a, b, as_of=as_of)
    if not graph.nodes:
        moment = f" as of {as_of}" if as_of is not None else ""
        raise NotFound(
            f"no path from {a} to {b}{moment}",
            hint=f"`lineal downstream {a}` shows everything {a} reaches",
        )
    _print(graph, chosen)


def register(app: typer.Typer) -> None:
    app.command()(upstream)
    app.command()(downstream)
    app.command()(path)
