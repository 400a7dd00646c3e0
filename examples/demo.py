"""The interim guided example: a scratch store, a few artifacts, edges and a run, then the log.

Run with `make demo`. Creates ./demo-store (removed and recreated on every run).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import lineal

HERE = Path.cwd() / "demo-store"
LINEAL = str(Path(sys.executable).parent / "lineal")


def step(text: str) -> None:
    print(f"\n== {text}")


def cli(*args: str) -> None:
    step("lineal " + " ".join(args))
    subprocess.run([LINEAL, *args], cwd=HERE, check=True)  # noqa: S603 - our own CLI


def main() -> None:
    shutil.rmtree(HERE, ignore_errors=True)
    HERE.mkdir()
    step("lineal init: a store, a signing key, and you registered as an agent")
    lineal.init(HERE, agent="demo-engineer")

    step("lineal add: snapshot a folder of images as dataset versions")
    images = HERE / "data" / "street-scenes"
    images.mkdir(parents=True)
    for n in range(8):
        (images / f"frame{n:03d}.png").write_bytes(bytes([n]) * (1024 + n))
    cli("add", "data/street-scenes", "--name", "dataset/street-scenes", "--license", "CC-BY-4.0")
    (images / "frame007.png").write_bytes(b"relabelled night frame")
    (images / "frame008.png").write_bytes(b"a new frame")
    cli("status")
    cli("add", "data/street-scenes", "--name", "dataset/street-scenes", "--license", "CC-BY-4.0")
    cli("diff", "dataset/street-scenes@v1", "dataset/street-scenes@v2")

    with lineal.open(path=HERE) as repo:
        step("record a label schema and a base model through the Python API")
        raw_v1 = repo.resolve("dataset/street-scenes@v1")
        raw_v2 = repo.resolve("dataset/street-scenes@v2")
        schema = repo.record_artifact(
            "schema", data=json.dumps({"classes": ["car", "pedestrian"]}).encode(), name="coco-2"
        )
        base = repo.record_artifact("model", data=b"resnet50 weights", name="backbone")
        repo.link("derived_from", raw_v1, raw_v2)
        repo.link("labeled_with", schema, raw_v2)
        print(f"  {schema.ref}  {base.ref}")

        step("a training run: params, used inputs, metrics, the model it generated")
        with repo.atomic():  # one signed transaction: all of it lands, or none
            run = repo.start_run("train-detector", params={"lr": 3e-4, "epochs": 3, "seed": 7})
            repo.link("used", raw_v2, run, role="train")
            repo.link("used", base, run, role="init")
        for epoch in range(3):
            repo.log_metrics(run, {"loss": 1.0 / (epoch + 1), "mAP": 0.5 + 0.1 * epoch}, step=epoch)
        model = repo.record_artifact("model", data=b"detector weights, epoch 3", name="detector")
        repo.link("generated", run, model, role="weights")
        repo.link("derived_from", base, model)
        repo.finish_run(run, summary={"mAP": 0.7})
        repo.set_alias(model.ref, "production")
        print(f"  {run.ref} -> {model.ref} (alias model/detector:production)")

    for command in (
        ["log", "--limit", "8"],
        ["show", "model/detector:production"],
        ["verify"],
        ["checkpoint", "--out", "checkpoint.json"],
    ):
        cli(*command)
    print(f"\nThe store is in {HERE / '.lineal'}; try `cd {HERE.name} && lineal show run/{run.id}`")


if __name__ == "__main__":
    main()
