"""What changed between two scene versions: layers and assets by path, what went missing,
lights, cameras, transforms and semantic labels by prim path, up axis and units.

Pure: compares the meta two scene versions record; never reads files or the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_LIGHT_FIELDS = ("type", "intensity", "exposure", "color", "transform")
_CAMERA_FIELDS = (
    "projection",
    "focal_length",
    "horizontal_aperture",
    "vertical_aperture",
    "clipping_range",
    "transform",
)


def _files(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> dict[str, Any]:
    before = {f["path"]: f["digest"] for f in old}
    after = {f["path"]: f["digest"] for f in new}
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "changed": [
            {"path": path, "before": before[path], "after": after[path]}
            for path in sorted(set(before) & set(after))
            if before[path] != after[path]
        ],
    }


def _by_path(
    before: Mapping[str, Mapping[str, Any]],
    after: Mapping[str, Mapping[str, Any]],
    fields: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Prims added, removed, and changed in ``fields`` (default: any field either side has)."""
    changed = []
    for path in sorted(set(before) & set(after)):
        names = fields or tuple(sorted(set(before[path]) | set(after[path])))
        fields_changed = {
            name: {"before": before[path].get(name), "after": after[path].get(name)}
            for name in names
            if before[path].get(name) != after[path].get(name)
        }
        if fields_changed:
            changed.append({"path": path, "changes": fields_changed})
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "changed": changed,
    }


def _prims(old: list[dict[str, Any]], new: list[dict[str, Any]], fields: tuple[str, ...]) -> Any:
    return _by_path({p["path"]: p for p in old}, {p["path"]: p for p in new}, fields)


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The difference of two scene versions' recorded meta, JSON-shaped; ``same`` when none."""
    left, right = old.get("summary") or {}, new.get("summary") or {}
    moves_before = left.get("transforms") or {}
    moves_after = right.get("transforms") or {}
    result: dict[str, Any] = {
        "same": old.get("digest") == new.get("digest"),
        "root": None
        if old.get("root") == new.get("root")
        else {"before": old.get("root"), "after": new.get("root")},
        "layers": _files(old.get("layers", []), new.get("layers", [])),
        "assets": _files(old.get("assets", []), new.get("assets", [])),
        "missing": {
            "added": sorted(set(new.get("missing", [])) - set(old.get("missing", []))),
            "removed": sorted(set(old.get("missing", [])) - set(new.get("missing", []))),
        },
        "lights": _prims(left.get("lights", []), right.get("lights", []), _LIGHT_FIELDS),
        "cameras": _prims(left.get("cameras", []), right.get("cameras", []), _CAMERA_FIELDS),
        "transforms": {
            "added": sorted(set(moves_after) - set(moves_before)),
            "removed": sorted(set(moves_before) - set(moves_after)),
            "changed": sorted(
                path
                for path in set(moves_before) & set(moves_after)
                if moves_before[path] != moves_after[path]
            ),
        },
        "labels": _by_path(left.get("labels") or {}, right.get("labels") or {}),
        "stage": {
            key: {"before": left.get(key), "after": right.get(key)}
            for key in ("up_axis", "meters_per_unit", "prims", "default_prim")
            if left.get(key) != right.get(key)
        },
    }
    return result


def lines(result: Mapping[str, Any]) -> list[str]:
    """The diff as lines a person reads, most telling first."""
    out: list[str] = []
    if result["root"]:
        out.append(f"root layer   {result['root']['before']} -> {result['root']['after']}")
    for group in ("layers", "assets"):
        label = group[:-1]
        for change in result[group]["changed"]:
            out.append(f"changed {label:<6} {change['path']}")
        out.extend(f"added {label:<8} {path}" for path in result[group]["added"])
        out.extend(f"removed {label:<6} {path}" for path in result[group]["removed"])
    out.extend(f"now missing    {path}" for path in result["missing"]["added"])
    out.extend(f"now found      {path}" for path in result["missing"]["removed"])
    for group in ("lights", "cameras"):
        label = group[:-1]
        for change in result[group]["changed"]:
            for name, values in change["changes"].items():
                if name == "transform":
                    out.append(f"moved {label:<8} {change['path']}")
                else:
                    out.append(
                        f"{label} {change['path']}: {name} {values['before']} -> {values['after']}"
                    )
        out.extend(f"added {label:<8} {path}" for path in result[group]["added"])
        out.extend(f"removed {label:<6} {path}" for path in result[group]["removed"])
    out.extend(f"moved prim     {path}" for path in result["transforms"]["changed"])
    labels = result.get("labels") or {"changed": [], "added": [], "removed": []}
    for change in labels["changed"]:
        for name, values in change["changes"].items():
            out.append(f"label {change['path']}: {name} {values['before']} -> {values['after']}")
    out.extend(f"labelled prim  {path}" for path in labels["added"])
    out.extend(f"unlabelled     {path}" for path in labels["removed"])
    for key, values in result["stage"].items():
        out.append(f"{key.replace('_', ' ')}: {values['before']} -> {values['after']}")
    return out
