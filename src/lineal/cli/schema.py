"""`lineal schema import|show|diff|export`: label schemas (COCO, KITTI, YOLO, VOC) as lineage.

Thin: formats what lineal.labels returns; never reads label files or the store itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lineal.cli.common import err, handle_errors, open_client, out
from lineal.cli.plain import print_json

schema_app = typer.Typer(
    help="Label schemas: import from COCO, KITTI, YOLO or VOC; show, diff, export.",
    no_args_is_help=True,
)
_REF_HELP = "schema/NAME[@vN], a dataset version labelled with one schema, or a label file."


def _print_schema(body: dict[str, Any]) -> None:
    for key in ("ref", "digest", "format", "source", "id_rule"):
        if body.get(key) is not None:
            out.print(f"{key:<17} {body[key]}", markup=False)
    out.print(
        f"{'annotation types':<17} {', '.join(body['annotation_types']) or '-'}", markup=False
    )
    if body["attributes"]:
        out.print(f"{'attributes':<17} {', '.join(body['attributes'])}", markup=False)
    for key in ("derived_from", "datasets", "same_content"):
        for node in body.get(key) or ():
            out.print(f"{key.replace('_', ' '):<17} {node}", markup=False)
    out.print(f"classes ({len(body['classes'])}):", markup=False)
    for one in body["classes"]:
        label = one["name"] if one["id"] is None else f"{one['id']:>4}  {one['name']}"
        extra = [f"supercategory {one['supercategory']}"] if one.get("supercategory") else []
        if one.get("keypoints"):
            extra.append(f"{len(one['keypoints'])} keypoints: {', '.join(one['keypoints'])}")
        if one.get("skeleton"):
            extra.append(f"skeleton of {len(one['skeleton'])} links")
        if one.get("parts"):
            extra.append(f"parts: {', '.join(one['parts'])}")
        out.print(f"  {label}" + (f"  ({'; '.join(extra)})" if extra else ""), markup=False)


@schema_app.command("import")
@handle_errors
def import_(
    path: Annotated[Path, typer.Argument(help="A label file, or a folder in a known layout.")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="coco, kitti, yolo, voc or auto.")
    ] = "auto",
    name: Annotated[
        str | None,
        typer.Option("--name", "-n", help="schema/NAME (default: from the file or folder)."),
    ] = None,
    lenient: Annotated[
        bool, typer.Option("--lenient", help="List bad entries and import the rest.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Import a label schema as a versioned schema artifact (its digest is its identity)."""
    from lineal.labels import record
    from lineal.labels.detect import import_path

    given = record.schema_name(name) if name else None
    imported = import_path(path, format=format, lenient=lenient)  # refuses a bad path first
    label = given or record.default_name(path)
    with open_client() as client:
        done = record.record(client, imported, name=label, source=path)
    artifact, schema = done.artifact, imported.schema
    if as_json:
        print_json(
            {
                "ref": artifact.ref,
                "digest": artifact.digest,
                "created": done.created,
                "derived_from": None if done.previous is None else done.previous.ref,
                **imported.report(),
                "schema": schema.canonical(),
                "stats": imported.stats.as_dict(),
            }
        )
        return
    what = f"{imported.format}, {len(schema.classes)} classes ({schema.id_rule} ids)"
    if not done.created:
        out.print(f"{artifact.ref} unchanged ({what}); no new version", markup=False)
    else:
        came = "" if done.previous is None else f", derived from {done.previous.ref}"
        out.print(f"{artifact.ref}  {artifact.digest[:19]}  {what}{came}", markup=False)
    _problems(imported.problems)


def _problems(problems: Any) -> None:
    if problems:
        err.print(f"{len(problems)} problems skipped (--lenient):", markup=False)
        for problem in problems:
            err.print(f"  {problem}", markup=False)


@schema_app.command()
@handle_errors
def show(
    ref: Annotated[str, typer.Argument(help=_REF_HELP)],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show a schema version: classes with ids, annotation types, attributes, lineage."""
    from lineal.labels import record

    with open_client() as client:
        body = record.show(client, ref)
    if as_json:
        print_json(body)
        return
    _print_schema(body)


@schema_app.command()
@handle_errors
def diff(
    a: Annotated[str, typer.Argument(help="The older schema. " + _REF_HELP)],
    b: Annotated[str, typer.Argument(help="The newer schema. " + _REF_HELP)],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Classes added, removed, renamed, re-numbered; supercategory and type changes."""
    from lineal.labels.record import compare, compared

    with open_client() as client:
        left, right, result = compare(client, a, b)
    if as_json:
        print_json(compared(left, right, result))
        return
    out.print(f"{left} -> {right}" + (": same schema" if result.same else ""), markup=False)
    for line in result.lines():
        out.print(f"  {line}", markup=False)


@schema_app.command()
@handle_errors
def export(
    ref: Annotated[str, typer.Argument(help=_REF_HELP)],
    format: Annotated[
        str, typer.Option("--format", "-f", help="coco (categories JSON) or yolo (names: YAML).")
    ] = "coco",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default: print).")
    ] = None,
) -> None:
    """Write a schema's COCO categories or YOLO names: block for another tool."""
    from lineal.labels.export import export as export_text
    from lineal.labels.export import write
    from lineal.labels.record import load

    with open_client() as client:
        _, schema = load(client, ref)
    if output is None:
        out.print(export_text(schema, format), end="", markup=False)
    else:
        write(schema, format, output)
        err.print(f"wrote {output}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(schema_app, name="schema")
