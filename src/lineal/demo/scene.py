"""The demo's world: a procedural OpenUSD scene (usd-core) and its randomization configs.

A street corner: a ground plane, a sun and a sky dome, a camera, and three labelled props (a
car, a pedestrian, a traffic cone) whose ``semantic:class`` attribute names their class, as
synthetic-data pipelines label prims. Writes files; records nothing and never prints.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pxr import Gf, Sdf, Usd, UsdGeom, UsdLux


@dataclass(frozen=True, slots=True)
class Prop:
    path: str
    kind: str  # the USD prim type: Cube, Capsule, Cone
    label: str
    scale: tuple[float, float, float]  # x is the drawn width, z the height (z is up)
    color: tuple[float, float, float]
    at: tuple[float, float, float]


def props(labels: Mapping[str, str]) -> tuple[Prop, ...]:
    """The three props, their classes named by ``labels`` (prim name → class)."""
    return (
        Prop("Vehicle", "Cube", labels["Vehicle"], (1.5, 0.8, 0.75), (0.75, 0.18, 0.15),
             (-2.0, 1.0, 0.4)),
        Prop("Walker", "Capsule", labels["Walker"], (0.5, 0.5, 1.45), (0.2, 0.35, 0.75),
             (0.5, -1.0, 0.9)),
        Prop("TrafficCone", "Cone", labels["TrafficCone"], (0.85, 0.85, 1.0), (0.95, 0.55, 0.1),
             (2.0, 0.5, 0.5)),
    )  # fmt: skip


def build(path: Path, labels: Mapping[str, str], *, sun: float = 1000.0) -> None:
    """Write the scene to ``path`` (a .usda file, replaced if it exists)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    world = UsdGeom.Xform.Define(stage, "/World")
    stage.SetDefaultPrim(world.GetPrim())

    ground = UsdGeom.Cube.Define(stage, "/World/Ground")
    ground.AddScaleOp().Set(Gf.Vec3f(20.0, 20.0, 0.01))
    ground.CreateDisplayColorAttr([Gf.Vec3f(0.42, 0.44, 0.47)])

    light = UsdLux.DistantLight.Define(stage, "/World/Sun")
    light.CreateIntensityAttr(sun)
    light.CreateColorAttr(Gf.Vec3f(1.0, 0.96, 0.9))
    light.AddRotateXYZOp().Set(Gf.Vec3f(45.0, 0.0, 30.0))
    UsdLux.DomeLight.Define(stage, "/World/Sky").CreateIntensityAttr(250.0)

    camera = UsdGeom.Camera.Define(stage, "/World/Camera")
    camera.CreateFocalLengthAttr(35.0)
    camera.AddTranslateOp().Set(Gf.Vec3d(0.0, -12.0, 3.0))
    camera.AddRotateXYZOp().Set(Gf.Vec3f(80.0, 0.0, 0.0))

    UsdGeom.Scope.Define(stage, "/World/Props")
    for prop in props(labels):
        schema = {"Cube": UsdGeom.Cube, "Capsule": UsdGeom.Capsule, "Cone": UsdGeom.Cone}
        prim = schema[prop.kind].Define(stage, f"/World/Props/{prop.path}")
        prim.AddTranslateOp().Set(Gf.Vec3d(*prop.at))
        prim.AddScaleOp().Set(Gf.Vec3f(*prop.scale))
        prim.CreateDisplayColorAttr([Gf.Vec3f(*prop.color)])
        label = prim.GetPrim().CreateAttribute("semantic:class", Sdf.ValueTypeNames.String)
        label.Set(prop.label)
    stage.GetRootLayer().Save()


def randomization(
    seed: int, images: int, *, light: tuple[float, float], noise: float = 0.3
) -> dict[str, Any]:
    """A randomization config: what render.py draws each image's light, poses and colours
    from (``light`` scales the sun's intensity)."""
    return {
        "seed": seed,
        "images": images,
        "image_size": 64,
        "noise": noise,
        "ranges": {
            "light.scale": list(light),
            "light.warmth": [-0.15, 0.15],
            "objects.count": [1, 3],
            "pose.x": [0.0, 1.0],
            "pose.y": [0.1, 0.9],
            "pose.scale": [0.6, 1.3],
            "color.jitter": [-0.4, 0.4],
        },
    }


def write_config(path: Path, config: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(config, indent=2) + "\n")
