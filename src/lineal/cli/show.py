"""`lineal show REF`: any artifact or run, in full.

Thin: formats what lineal.client returns; never reads the store directly.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from lineal.cli.common import handle_errors, open_client, out
from lineal.cli.plain import print_json, redaction_line
from lineal.errors import InvalidInput


def _line(key: str, value: Any) -> None:
    if value in (None, {}, []):
        return
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    out.print(f"{key:<11} {value}", markup=False)


@handle_errors
def show(
    ref: Annotated[
        str,
        typer.Argument(
            help="dataset/NAME[@vN|@sha256:HEX], KIND/NAME:ALIAS, run/ULID or sha256:HEX."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show an artifact or a run: identity, versions, aliases, params, metrics, edges."""
    from lineal.quality.show import show as show_all

    with open_client() as client:
        body = show_all(client, ref)
    if as_json:
        print_json(body)
        return
    for key, value in body.items():
        if key in (
            "upstream",
            "downstream",
            "schema_warnings",
            "schemas",
            "class_metrics",
            "redactions",
            "leakage",
            "classified",
            "drift",
        ):
            continue
        _line(key, value)
    for one in body.get("classified", ()):
        _line("classified", one["text"])
    for one in body.get("redactions", ()):
        _line("redacted", redaction_line(one))
    for one in body.get("schemas", ()):
        _line("schema", f"{one['schema']} ({one['role']} data {one['input']})")
    for key, value in body.get("class_metrics", {}).items():
        _line("class", f"{key} measures {value['class']} in {value['schema']}")
    if "drift" in body:
        _drift(body["ref"], body["drift"])
    for warning in body.get("schema_warnings", ()):
        _line("warning", warning)
    _leakage(body.get("leakage", []))
    for direction in ("upstream", "downstream"):
        for edge in body[direction]:
            role = f" ({edge['role']})" if edge["role"] else ""
            unnamed = edge["ref"].startswith("sha256:")
            what = f"{edge['node_kind']} {edge['ref']}" if unnamed else edge["ref"]
            _line(direction, f"{edge['kind']}{role} {what}")


def _drift(ref: str, drift: dict[str, Any]) -> None:
    """The drift line: as recorded when the version was added, and as today's thresholds
    judge it when that differs (or when nothing was recorded)."""

    def said(drifted: list[str]) -> str:
        return f"{', '.join(drifted)} (lineal drift {ref})" if drifted else "none"

    now = drift.get("error") or said(drift["drifted"])
    held = drift.get("recorded")
    if held is None:
        _line("drift", f"from {drift['a']}: {now}")
        return
    _line("drift", f"from {held['from']}: {said(held['drifted'])} (recorded at seq {held['seq']})")
    if "error" not in drift and sorted(held["drifted"]) != sorted(drift["drifted"]):
        _line("drift", f"from {drift['a']} by today's thresholds: {now}")


def _leakage(found: list[dict[str, Any]]) -> None:
    for one in found:
        trained = f" (trained by {one['trained_by']})" if one["trained_by"] else ""
        if not one["leaked"]:
            unknown = one["unknown"]
            not_here = f"; not compared: {', '.join(unknown)}" if unknown else ""
            _line("leakage", f"none: eval data shares no file with the training data{not_here}")
            continue
        _line(
            "leakage",
            f"LEAK: {one['shared']:,} file(s) of the eval data ({', '.join(one['eval'])}) are "
            f"in the training data ({', '.join(one['train'])}){trained}",
        )
        for shared in one["examples"]:
            _line("shared", f"{shared['eval']} = {shared['train']}")


def _pairs(pairs: list[str]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            raise InvalidInput(
                f"bad tag {pair!r}: expected KEY=VALUE",
                hint="e.g. lineal tag dataset/x license=CC-BY-4.0 (--unset KEY removes one)",
            )
        found[key] = value
    return found


@handle_errors
def tag(
    ref: Annotated[str, typer.Argument(help="The artifact or run to tag (any reference).")],
    pairs: Annotated[
        list[str] | None, typer.Argument(help="KEY=VALUE tags to set, e.g. license=MIT.")
    ] = None,
    unset: Annotated[
        list[str] | None, typer.Option("--unset", help="A tag key to remove (repeatable).")
    ] = None,
) -> None:
    """Set or remove tags on an artifact or run (all in one transaction); `license` and
    `source` tags state what an artifact was recorded without, for the registry's policies."""
    wanted: dict[str, str | None] = {**_pairs(pairs or []), **dict.fromkeys(unset or [])}
    if not wanted:
        raise InvalidInput("nothing to tag", hint="pass KEY=VALUE pairs or --unset KEY")
    with open_client() as client:
        node = client.resolve(ref)
        with client.atomic():
            for key, value in wanted.items():
                client.set_tag(node, key, value)
        label = node.ref
    for key, value in wanted.items():
        out.print(f"{label}: {key} = {value}" if value else f"{label}: {key} removed", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(show)
    app.command()(tag)
