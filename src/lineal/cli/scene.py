"""`lineal scene add|show|diff|config`: OpenUSD scenes and randomization configs as lineage.

Thin: formats what lineal.scenes returns; never reads USD files or the store itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lineal.cli.common import err, handle_errors, open_client, out
from lineal.cli.plain import print_json

scene_app = typer.Typer(
    help="OpenUSD scenes: add (Merkle digest over every layer and asset), show, diff; "
    "randomization configs.",
    no_args_is_help=True,
)
_REF_HELP = "scene/NAME[@vN], a digest, or a USD file (read now, not recorded)."


@scene_app.command()
@handle_errors
def add(
    path: Annotated[
        Path, typer.Argument(help="The scene's root layer: .usd, .usda, .usdc, .usdz.")
    ],
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="scene/NAME (default: the file's stem).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Record a scene: every layer and asset it composes, hashed; its summary and arcs."""
    from lineal.scenes import record

    with open_client() as client:
        done = record.add(client, path, name=name)
    artifact, found = done.artifact, done.fingerprint
    if as_json:
        print_json(
            {
                "ref": artifact.ref,
                "digest": artifact.digest,
                "created": done.created,
                "derived_from": None if done.previous is None else done.previous.ref,
                "root": found.root,
                "layers": [e.path for e in found.layers()],
                "assets": [e.path for e in found.assets()],
                "missing": list(found.missing),
                "summary": {k: v for k, v in artifact.meta["summary"].items() if k != "transforms"},
            }
        )
        return
    what = f"{len(found.layers())} layers, {len(found.assets())} assets"
    if found.missing:
        what += f", {len(found.missing)} missing"
    if not done.created:
        out.print(f"{artifact.ref} unchanged ({what}); no new version", markup=False)
    else:
        came = "" if done.previous is None else f", derived from {done.previous.ref}"
        out.print(f"{artifact.ref}  {artifact.digest[:19]}  {what}{came}", markup=False)
    for missing in found.missing:
        err.print(f"warning: missing dependency {missing} (recorded as missing)", markup=False)
    for path_text in found.absolute:
        err.print(f"warning: absolute asset path {path_text} ties the scene to this machine")


def _print_scene(body: dict[str, Any]) -> None:
    summary = body.get("summary") or {}
    for key in ("ref", "digest", "source", "root"):
        if body.get(key) is not None:
            out.print(f"{key:<15} {body[key]}", markup=False)
    for key in ("up_axis", "meters_per_unit", "default_prim", "prims"):
        out.print(f"{key.replace('_', ' '):<15} {summary.get(key)}", markup=False)
    counts = summary.get("counts") or {}
    out.print(
        f"{'contents':<15} "
        + ", ".join(f"{n} {k}" for k, n in counts.items() if k != "transforms"),
        markup=False,
    )
    for key in ("derived_from", "rendered"):
        for node in body.get(key) or ():
            out.print(f"{key.replace('_', ' '):<15} {node}", markup=False)
    _print_files(body)
    for light in summary.get("lights", []):
        out.print(
            f"light  {light['path']}  {light['type']}  intensity {light['intensity']}  "
            f"color {light['color']}",
            markup=False,
        )
    for camera in summary.get("cameras", []):
        out.print(f"camera {camera['path']}  focal length {camera['focal_length']}", markup=False)


def _print_files(body: dict[str, Any]) -> None:
    out.print(f"layers ({len(body.get('layers', []))}):", markup=False)
    for layer in body.get("layers", []):
        arcs = ", ".join(f"{a['kind']} {a['target']}" for a in layer.get("arcs", []))
        out.print(f"  {layer['digest'][:19]}  {layer['path']}", markup=False)
        if arcs:
            out.print(f"      -> {arcs}", markup=False)
    if body.get("assets"):
        out.print(f"assets ({len(body['assets'])}):", markup=False)
        for asset in body["assets"]:
            out.print(f"  {asset['digest'][:19]}  {asset['path']}", markup=False)
    if body.get("missing"):
        out.print(f"missing ({len(body['missing'])}):", markup=False)
        for missing in body["missing"]:
            out.print(f"  {missing}", markup=False)


@scene_app.command()
@handle_errors
def show(
    ref: Annotated[str, typer.Argument(help=_REF_HELP)],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show a scene version: layers with their arcs, assets, missing files, lights, cameras."""
    from lineal.scenes import record

    with open_client() as client:
        body = record.show(client, ref)
    if as_json:
        print_json(body)
        return
    _print_scene(body)


@scene_app.command()
@handle_errors
def diff(
    a: Annotated[str, typer.Argument(help="The older scene. " + _REF_HELP)],
    b: Annotated[str, typer.Argument(help="The newer scene. " + _REF_HELP)],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Changed layers and assets; changed lights, cameras and transforms."""
    from lineal.scenes import record
    from lineal.scenes.diff import lines

    with open_client() as client:
        result = record.compare(client, a, b)
    if as_json:
        print_json(result)
        return
    left, right = result["a"], result["b"]
    out.print(f"{left} -> {right}" + (": same scene" if result["same"] else ""), markup=False)
    for line in lines(result):
        out.print(f"  {line}", markup=False)


@scene_app.command()
@handle_errors
def config(
    path: Annotated[Path, typer.Argument(help="A randomization config: YAML or JSON.")],
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="config/NAME (default: the file's stem).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Record a randomization config (ranges and a seed) as a versioned config artifact."""
    from lineal.scenes import randomization

    with open_client() as client:
        done = randomization.add(client, path, name=name)
    artifact = done.artifact
    if as_json:
        print_json({"ref": artifact.ref, "digest": artifact.digest, "created": done.created,
                    "config": done.config})  # fmt: skip
        return
    state = "" if done.created else " unchanged; no new version"
    out.print(
        f"{artifact.ref}  {artifact.digest[:19]}  seed {done.config['seed']}, "
        f"{len(done.config['ranges'])} ranges{state}",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(scene_app, name="scene")
