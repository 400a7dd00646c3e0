"""What a composed OpenUSD stage holds: prims, lights, cameras, materials, meshes, transforms
and the prims' semantic labels (what a renderer names in its annotations).

Reads the stage through pxr (imported lazily) with every payload loaded; never writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lineal.errors import InvalidInput
from lineal.scenes.fingerprint import pxr, quiet, tf_reason

#: At most this many prims are listed per group (meshes, transforms); all are counted.
MAX_LISTED = 500


def _number(value: Any) -> Any:
    """A USD value in a recordable form: floats rounded to 7 significant digits (USD stores
    most of them as 32-bit floats), vectors and matrices as lists."""
    if value is None:
        return None
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return float(f"{value:.7g}")
    try:
        return [_number(v) for v in value]
    except TypeError:
        return str(value)


def _get(prim: Any, name: str) -> Any:
    attribute = prim.GetAttribute(name)
    if not attribute or not attribute.HasValue():
        return None
    return _number(attribute.Get())


def _matrix(xformable: Any) -> list[list[float]]:
    from pxr import Usd

    matrix = xformable.ComputeLocalToWorldTransform(Usd.TimeCode.Default())
    return [[float(f"{matrix[r][c]:.7g}") + 0.0 for c in range(4)] for r in range(4)]


def _light(prim: Any) -> dict[str, Any]:
    from pxr import UsdGeom

    return {
        "path": str(prim.GetPath()),
        "type": str(prim.GetTypeName()),
        "intensity": _get(prim, "inputs:intensity"),
        "exposure": _get(prim, "inputs:exposure"),
        "color": _get(prim, "inputs:color"),
        "transform": _matrix(UsdGeom.Xformable(prim)),
    }


def _camera(prim: Any) -> dict[str, Any]:
    from pxr import UsdGeom

    return {
        "path": str(prim.GetPath()),
        "projection": _get(prim, "projection"),
        "focal_length": _get(prim, "focalLength"),
        "horizontal_aperture": _get(prim, "horizontalAperture"),
        "vertical_aperture": _get(prim, "verticalAperture"),
        "clipping_range": _get(prim, "clippingRange"),
        "transform": _matrix(UsdGeom.Xformable(prim)),
    }


#: Namespaces of semantic labels: ``semantic:`` (Isaac Replicator's SemanticsAPI, and the
#: plain ``semantic:class`` convention) and ``semantics:`` (OpenUSD's UsdSemantics labels).
LABEL_NAMESPACES = ("semantic", "semantics")


def _labels(prim: Any) -> dict[str, Any]:
    """The prim's authored semantic-label attributes, by attribute name."""
    found = {}
    for namespace in LABEL_NAMESPACES:
        for attribute in prim.GetAuthoredPropertiesInNamespace(namespace):
            if hasattr(attribute, "HasValue") and attribute.HasValue():
                found[attribute.GetName()] = _number(attribute.Get())
    return found


def summarize(root: Path) -> dict[str, Any]:
    """The summary a scene version records, of the stage composed from ``root``."""
    pxr()
    from pxr import Tf, Usd, UsdGeom, UsdLux, UsdShade

    with quiet():
        try:
            stage = Usd.Stage.Open(str(root), Usd.Stage.LoadAll)
        except Tf.ErrorException as exc:
            raise InvalidInput(
                f"cannot compose the scene {root}: {tf_reason(exc)}",
                hint="fix the layer it names, then add again",
            ) from exc
        prims = lights = cameras = materials = meshes = 0
        found: dict[str, list[Any]] = {"lights": [], "cameras": [], "materials": [], "meshes": []}
        transforms: dict[str, list[list[float]]] = {}
        labels: dict[str, dict[str, Any]] = {}
        for prim in stage.Traverse():
            prims += 1
            if len(labels) < MAX_LISTED and (found_labels := _labels(prim)):
                labels[str(prim.GetPath())] = found_labels
            if prim.HasAPI(UsdLux.LightAPI):
                lights += 1
                found["lights"].append(_light(prim))
            elif prim.IsA(UsdGeom.Camera):
                cameras += 1
                found["cameras"].append(_camera(prim))
            elif prim.IsA(UsdShade.Material):
                materials += 1
                if len(found["materials"]) < MAX_LISTED:
                    found["materials"].append(str(prim.GetPath()))
            elif prim.IsA(UsdGeom.Mesh):
                meshes += 1
                if len(found["meshes"]) < MAX_LISTED:
                    found["meshes"].append(str(prim.GetPath()))
            if (
                prim.IsA(UsdGeom.Xformable)
                and UsdGeom.Xformable(prim).GetOrderedXformOps()
                and len(transforms) < MAX_LISTED
            ):
                transforms[str(prim.GetPath())] = _matrix(UsdGeom.Xformable(prim))
        default = stage.GetDefaultPrim()
        return {
            "prims": prims,
            "default_prim": str(default.GetPath()) if default else None,
            "up_axis": str(UsdGeom.GetStageUpAxis(stage)),
            "meters_per_unit": _number(UsdGeom.GetStageMetersPerUnit(stage)),
            "counts": {
                "lights": lights,
                "cameras": cameras,
                "materials": materials,
                "meshes": meshes,
                "transforms": len(transforms),
                "labelled": len(labels),
            },
            **found,
            "transforms": transforms,
            "labels": labels,
        }
