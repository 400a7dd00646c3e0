"""The guided example: datasets, a label schema, a tracked training run, a command run, the log.

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

        step("a training run: capture, params, inputs, buffered metrics, the model")
        weights = HERE / "detector.pt"
        with lineal.start_run(
            "train-detector", params={"lr": 3e-4, "epochs": 30}, seed=7, repo=repo
        ) as run:
            run.use(raw_v2.ref, role="train")
            run.use(base.ref, role="init")
            run.log_split("train", fraction=0.8, seed=7, count=8, strategy="random")
            for epoch in range(30):
                run.log({"loss": 1.0 / (epoch + 1), "mAP": 0.5 + 0.01 * epoch}, step=epoch)
            weights.write_bytes(b"detector weights, epoch 30")
            model = run.log_model(weights, name="detector", flavor="torch")
            run.summary(best_mAP=0.79)
        repo.link("derived_from", base, model)
        repo.set_alias(model.ref, "production")
        print(f"  {run.ref} -> {model.ref} (alias model/detector:production)")

    step("lineal run: any command as a recorded run")
    subprocess.run(  # noqa: S603 - our own CLI
        [LINEAL, "run", "--name", "count-frames", "--in", "data/street-scenes", "--out",
         "counts.txt", "--", sys.executable, "-c",
         "import os; open('counts.txt', 'w').write(str(len(os.listdir('data/street-scenes'))))"],
        cwd=HERE, check=True,
    )  # fmt: skip

    for command in (
        ["runs"],
        ["runs", "--where", "metrics.mAP >= 0.7 and uses(dataset/street-scenes)"],
        ["metrics", run.ref],
        ["upstream", "model/detector:production"],
        ["downstream", "dataset/street-scenes", "--kind", "model"],
        ["log", "--limit", "8"],
        ["show", "model/detector:production"],
        ["verify"],
        ["checkpoint", "--out", "checkpoint.json"],
    ):
        cli(*command)
    print(f"\nThe store is in {HERE / '.lineal'}; try `cd {HERE.name} && lineal show run/{run.id}`")


if __name__ == "__main__":
    main()
