"""The demo's renderer: a USD scene and a seeded randomization config in, PNG images and COCO
labels out. A script, run by a recorded generation run as

    python render.py SCENE CONFIG.json OUT

SCENE is a USD file or a folder holding one (the folder keeps the scene out of the files a
recorded run takes for its code). It reads from the scene its lights (intensity, colour), its
ground colour and every prim that carries a ``semantic:class`` label (shape from the prim
type, size from its scale, base colour from ``primvars:displayColor``); from the config its
seed, image count and size and the ranges it draws each image's light, object poses and
colours from. Deterministic given the scene, the config and the library versions, so `lineal
replay` reproduces every byte. Imports nothing of lineal and writes nothing but OUT.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from pxr import Usd, UsdGeom, UsdLux

#: How the scene's prim types are drawn: a box seen side on, a capsule standing, a cone.
SHAPES = {"Cube": "box", "Capsule": "capsule", "Cylinder": "capsule", "Cone": "cone"}
REFERENCE_INTENSITY = 1000.0  # a sun of this intensity and scale 1 lights a frame fully


@dataclass(frozen=True, slots=True)
class Thing:
    label: str
    shape: str
    width: float  # scene units, before the pose scale
    height: float
    color: tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class Scene:
    sun: float  # distant-light intensity
    sun_color: tuple[float, float, float]
    ambient: float  # dome-light intensity
    ground: tuple[float, float, float]
    things: tuple[Thing, ...]


def _color(prim: Usd.Prim) -> tuple[float, float, float]:
    value = UsdGeom.Gprim(prim).GetDisplayColorAttr().Get()
    first = value[0] if value else (0.5, 0.5, 0.5)
    return (float(first[0]), float(first[1]), float(first[2]))


def _scale(prim: Usd.Prim) -> tuple[float, float, float]:
    for op in UsdGeom.Xformable(prim).GetOrderedXformOps():
        if op.GetOpType() == UsdGeom.XformOp.TypeScale:
            value = op.Get()
            return (float(value[0]), float(value[1]), float(value[2]))
    return (1.0, 1.0, 1.0)


def read_scene(path: str) -> Scene:
    stage = Usd.Stage.Open(path)
    sun, sun_color, ambient = 0.0, (1.0, 1.0, 1.0), 0.0
    ground = (0.5, 0.5, 0.5)
    things = []
    for prim in stage.Traverse():
        if prim.IsA(UsdLux.DistantLight):
            light = UsdLux.DistantLight(prim)
            sun += float(light.GetIntensityAttr().Get() or 0.0)
            color = light.GetColorAttr().Get()
            sun_color = (float(color[0]), float(color[1]), float(color[2]))
        elif prim.IsA(UsdLux.DomeLight):
            ambient += float(UsdLux.DomeLight(prim).GetIntensityAttr().Get() or 0.0)
        elif prim.GetName() == "Ground":
            ground = _color(prim)
        label = prim.GetAttribute("semantic:class")
        if label and label.Get() and prim.GetTypeName() in SHAPES:
            sx, _, sz = _scale(prim)
            shape = SHAPES[prim.GetTypeName()]
            things.append(Thing(str(label.Get()), shape, sx, sz, _color(prim)))
    if not things:
        raise SystemExit(f"{path}: no prim carries a semantic:class label")
    return Scene(sun, sun_color, ambient, ground, tuple(things))


def _draw(ctx: ImageDraw.ImageDraw, shape: str, box: tuple[int, int, int, int], fill: Any) -> None:
    x0, y0, x1, y1 = box
    if shape == "box":
        ctx.rectangle(box, fill=fill)
    elif shape == "capsule":
        ctx.rounded_rectangle(box, radius=max(1, (x1 - x0) // 2), fill=fill)
    else:
        ctx.polygon([((x0 + x1) / 2, y0), (x1, y1), (x0, y1)], fill=fill)


def render(scene: Scene, config: dict[str, Any], out: Path) -> None:
    ranges = config["ranges"]
    size = int(config["image_size"])
    rng = np.random.default_rng(int(config["seed"]))
    categories = sorted({t.label for t in scene.things})
    ids = {name: n + 1 for n, name in enumerate(categories)}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    (out / "images").mkdir(parents=True)
    rows = np.linspace(0.8, 1.15, size)[:, None, None]  # a sky-to-floor brightness gradient
    for index in range(int(config["images"])):
        scale = rng.uniform(*ranges["light.scale"])
        warmth = rng.uniform(*ranges["light.warmth"])
        tint = np.array(scene.sun_color) * np.array([1 + warmth, 1.0, 1 - warmth])
        light = (scene.ambient + scene.sun * scale) / REFERENCE_INTENSITY
        ground = np.clip(np.array(scene.ground) * light * tint, 0, 1)
        canvas = Image.fromarray(np.uint8(np.clip(ground * rows * 255, 0, 255)).repeat(size, 1))
        ctx = ImageDraw.Draw(canvas)
        low, high = ranges["objects.count"]
        for _ in range(int(rng.integers(low, high + 1))):
            thing = scene.things[int(rng.integers(len(scene.things)))]
            unit = size * 0.22 * rng.uniform(*ranges["pose.scale"])
            w, h = max(3, round(thing.width * unit)), max(3, round(thing.height * unit))
            x = round(rng.uniform(*ranges["pose.x"]) * (size - w))
            y = round(rng.uniform(*ranges["pose.y"]) * (size - h))
            low, high = ranges["color.jitter"]
            jitter = rng.uniform(float(low), float(high), size=3)
            color = np.clip((np.array(thing.color) + jitter) * light * tint, 0, 1)
            fill = tuple(int(c) for c in np.round(color * 255))
            _draw(ctx, thing.shape, (x, y, x + w - 1, y + h - 1), fill)
            annotations.append({
                "id": len(annotations) + 1,
                "image_id": index + 1,
                "category_id": ids[thing.label],
                "bbox": [x, y, w, h],
                "area": w * h,
                "iscrowd": 0,
            })  # fmt: skip
        noise = rng.normal(0.0, float(config["noise"]) * 255, (size, size, 3))
        pixels = np.uint8(np.clip(np.asarray(canvas, dtype=np.float64) + noise, 0, 255))
        name = f"images/{index:05d}.png"
        Image.fromarray(pixels).save(out / name, format="PNG")
        images.append({"id": index + 1, "file_name": name, "width": size, "height": size})
    labels = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": ids[n], "name": n, "supercategory": "object"} for n in categories],
    }
    (out / "annotations.json").write_text(json.dumps(labels) + "\n")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        raise SystemExit("usage: render.py SCENE CONFIG.json OUT")
    scene, config, out = argv
    if Path(scene).is_dir():
        found = sorted(p for p in Path(scene).iterdir() if p.suffix in (".usd", ".usda", ".usdc"))
        if len(found) != 1:
            raise SystemExit(f"{scene}: expected one USD file in the folder, found {len(found)}")
        scene = str(found[0])
    render(read_scene(scene), json.loads(Path(config).read_text()), Path(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
