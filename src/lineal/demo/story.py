"""The guided demo behind `lineal demo` and `make demo`: a small robotics story, recorded.

Two iterations on the embedded store. Each builds a procedural USD scene, writes seeded
randomization configs, renders a training and a held-out set with COCO labels in recorded
generation runs (``render.py``, replayable), trains a classifier on the one, evaluates it on
the other with per-class metrics, registers the model and promotes it under the policy of
``lineal.toml``. The second iteration widens the lighting range to dusk and renames a class;
its held-out set becomes the approved benchmark, so the production model is evaluated on it
first (it fails: it never learnt the renamed class) and the new model has to replace it.
Everything printed is read back from what was recorded; ``say`` prints, this module does not.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lineal
from lineal.client import Lineal
from lineal.demo import learn, scene
from lineal.errors import Conflict, IntegrityError, LinealError
from lineal.labels.record import named
from lineal.model.entities import Artifact, Run
from lineal.scenes import Generated, generation_run

Say = Callable[[str], None]

MODEL = "street-classifier"
EVAL_ALIAS = "eval-approved"
SCENE = Path("scene/street.usda")
MODEL_FILE = Path("models/street-classifier.npz")
RENDERER = "lineal-demo-raster"
SPLITS = (("train", 1, 300), ("eval", 2, 120))  # name, seed, images
TRAINING = {"epochs": 40, "hidden": 32, "crop": learn.CROP, "model": "sklearn MLPClassifier"}
SEED = 7
#: The registry's rules for this store: production needs the metrics below, measured on the
#: held-out set carrying alias eval-approved (the approved benchmark: when it moves to a new
#: set, the production model must pass on that one too), with the same label schema as
#: training.
POLICY = """\
# Written by `lineal demo`: the rules a model version must pass to move an alias.
[registry]
protected = ["production", "staging"]

[policy.production]
eval_alias = "eval-approved"
metrics = { mAP = { min = 0.95 }, accuracy = { min = 0.90 } }
licenses = { allow = ["CC0-1.0", "CC-BY-4.0", "MIT", "Apache-2.0"], deny = ["CC-BY-NC-*"] }
schema_match = true
"""
#: What the demo states for the scene and images it makes itself (they are its own work).
LICENSE = "CC0-1.0"
ITERATIONS = (
    ("daylight", (0.7, 1.3), {"Vehicle": "car", "Walker": "pedestrian", "TrafficCone": "cone"}),
    ("dusk to noon", (0.05, 1.5), {"Vehicle": "car", "Walker": "person", "TrafficCone": "cone"}),
)


@dataclass(slots=True)
class Iteration:
    scene: Artifact
    generated: dict[str, Generated]
    training: Run
    evaluation: Run
    model: Artifact
    metrics: dict[str, float]
    alias: str  # the alias the model was promoted to
    refused: list[str] = field(default_factory=list)  # failed production checks
    schemas: list[str] = field(default_factory=list)  # the training set's label schemas
    #: The production model of the iteration before, evaluated on this iteration's benchmark
    #: before anything is trained (None in the first iteration).
    baseline: Run | None = None


@dataclass(slots=True)
class Story:
    directory: Path
    iterations: list[Iteration] = field(default_factory=list)
    #: `lineal policy check --all` at the end: every version holding a policy alias, checked.
    policy: list[dict[str, Any]] = field(default_factory=list)
    records: int = 0
    seconds: float = 0.0


def _renderer_version() -> str:
    import numpy
    import PIL
    from pxr import Usd

    usd = ".".join(str(n) for n in Usd.GetVersion())
    return f"1.0 (numpy {numpy.__version__}, Pillow {PIL.__version__}, usd-core {usd})"


def _generate(repo: Lineal, split: str, say: Say) -> Generated:
    """Render one split in a recorded generation run; LinealError if the renderer fails."""
    tail: list[bytes] = []
    started = time.monotonic()
    made = generation_run(
        [
            sys.executable,
            "render.py",
            str(SCENE.parent),
            f"randomize-{split}.json",
            f"render-{split}",
        ],
        scene=SCENE,
        config=f"randomize-{split}.json",
        output=f"render-{split}",
        renderer=RENDERER,
        renderer_version=_renderer_version(),
        name=f"render-{split}",
        repo=repo,
        echo=lambda label, chunk: tail.append(chunk),
    )
    if made.exit_code != 0 or made.dataset is None:
        output = b"".join(tail).decode("utf-8", "replace")[-2000:]
        raise LinealError(f"the demo renderer failed ({made.run.ref}):\n{output}")
    schema = ", ".join(named(repo, s).ref for s in made.schemas) or "no schema"
    say(
        f"  rendered   {made.dataset.ref}: {made.dataset.meta.get('files', 0) - 1} images + "
        f"COCO labels ({schema}) in {time.monotonic() - started:.1f}s by {made.run.ref}"
    )
    return made


def _train(repo: Lineal, data: Artifact, say: Say) -> tuple[Run, Artifact]:
    samples = learn.samples(Path(str(data.meta.get("root", "render-train"))))
    MODEL_FILE.parent.mkdir(exist_ok=True)
    with lineal.start_run("train-classifier", params=TRAINING, seed=SEED, repo=repo) as run:
        run.use(data, role="train")
        run.log_split("train", fraction=1.0, count=len(samples.labels), strategy="all objects")
        figures = learn.train(
            samples,
            seed=SEED,
            epochs=TRAINING["epochs"],  # type: ignore[arg-type]
            hidden=TRAINING["hidden"],  # type: ignore[arg-type]
            path=MODEL_FILE,
            log=lambda epoch, values: run.log(values, step=epoch),
        )
        classes = sorted({str(c) for c in samples.labels})
        model = run.log_model(
            MODEL_FILE, name=MODEL, flavor="sklearn-mlp", meta={"classes": classes}, register=MODEL
        )
        run.summary(figures)
    say(
        f"  trained    {run.ref}: {len(samples.labels)} objects of {samples.images} images, "
        f"{TRAINING['epochs']} epochs, loss {figures['loss']:.3f}, "
        f"train accuracy {figures['train_accuracy']:.3f} -> {model.ref}"
    )
    return run.info, model


def _evaluate(
    repo: Lineal, model: Artifact, data: Artifact, say: Say
) -> tuple[Run, dict[str, float]]:
    """Evaluate ``model``, whose bytes MODEL_FILE holds, on the held-out set ``data``."""
    samples = learn.samples(Path(str(data.meta.get("root", "render-eval"))))
    with lineal.start_run("evaluate-classifier", repo=repo) as run:
        run.use(model, role="model")
        run.use(data, role="eval")
        metrics = learn.evaluate(MODEL_FILE, samples)
        run.log(metrics, step=0)
    shown = ", ".join(f"{k} {v:.3f}" for k, v in metrics.items())
    say(
        f"  evaluated  {model.ref} on {data.ref} ({len(samples.labels)} objects) "
        f"in {run.ref}: {shown}"
    )
    return run.info, metrics


def _recheck(repo: Lineal, production: Artifact, benchmark: Artifact, say: Say) -> Run:
    """Evaluate the production model on the newly approved benchmark (MODEL_FILE still holds
    it: nothing has been trained yet) and say whether it still passes the policy."""
    from lineal.registry.promote import check

    say("  re-check   the production model on the new benchmark, before training anything:")
    run, _ = _evaluate(repo, production, benchmark, say)
    _, _, outcomes = check(repo, production.ref, "production")
    failed = [one for one in outcomes if not one.passed]
    if not failed:
        say(f"  policy     {production.ref} still passes every production check")
        return run
    say(
        f"  policy     {production.ref} no longer passes for production "
        f"({len(failed)} of {len(outcomes)} checks fail):"
    )
    for one in failed:
        say(f"               FAIL {one.check}: {one.detail}")
    return run


def _promote(
    repo: Lineal, model: Artifact, metrics: dict[str, float], say: Say
) -> tuple[str, list[str]]:
    """Promote to production if the policy allows, else to staging; the failed checks."""
    from lineal.registry.promote import PolicyRefused, promote

    version = f"{MODEL}@v{model.version}"
    reason = f"mAP {metrics['mAP']:.3f}, accuracy {metrics['accuracy']:.3f} on the held-out set"
    try:
        done = promote(repo, version, "production", reason)
    except PolicyRefused as refused:
        failed = [f"{o.check}: {o.detail}" for o in refused.outcomes if not o.passed]
        say(f"  refused    {version} -> production by policy:")
        for line in failed:
            say(f"               FAIL {line}")
        done = promote(repo, version, "staging", f"{reason}; refused for production")
        say(f"  promoted   {done['ref']} -> staging instead (production stays as it was)")
        return "staging", failed
    was = f" (was {done['previous_ref']})" if done["previous_ref"] else ""
    say(
        f"  promoted   {done['ref']} -> production{was}; "
        f"{len(done['checks'])} policy checks passed:"
    )
    for check in done["checks"]:
        say(f"               pass {check['check']}: {check['detail']}")
    return "production", []


def _iteration(repo: Lineal, number: int, before: Iteration | None, say: Say) -> Iteration:
    title, light, labels = ITERATIONS[number - 1]
    classes = ", ".join(sorted(labels.values()))
    say(f"\n== Iteration {number}: {title} (light.scale {list(light)}), classes {classes}")
    scene.build(SCENE, labels)
    for split, seed, images in SPLITS:
        config = scene.randomization(seed, images, light=light)
        scene.write_config(Path(f"randomize-{split}.json"), config)
        shutil.rmtree(f"render-{split}", ignore_errors=True)
    generated = {split: _generate(repo, split, say) for split, _, _ in SPLITS}
    made = generated["train"]
    say(
        f"  recorded   {made.scene.ref} ({made.scene.digest[:19]}) and "
        f"{', '.join(generated[s].config.ref for s, _, _ in SPLITS)} as the runs' inputs"
    )
    held_out = generated["eval"].dataset
    assert held_out is not None  # noqa: S101 - _generate checked
    assert made.dataset is not None  # noqa: S101
    for artifact in (made.scene, made.dataset, held_out):  # generated here: licensed here
        repo.set_tag(artifact, "license", LICENSE)
    say(f"  licensed   {made.scene.ref}, {made.dataset.ref}, {held_out.ref} as {LICENSE} (tags)")
    repo.set_alias(held_out.ref, EVAL_ALIAS)
    say(
        f"  approved   {held_out.ref} as the benchmark: "
        f"{held_out.kind}/{held_out.name}:{EVAL_ALIAS}"
    )
    baseline = None
    if before is not None and before.alias == "production":
        baseline = _recheck(repo, before.model, held_out, say)
    training, model = _train(repo, made.dataset, say)
    evaluation, metrics = _evaluate(repo, model, held_out, say)
    alias, refused = _promote(repo, model, metrics, say)
    schemas = [named(repo, s).ref for s in made.schemas]
    return Iteration(
        made.scene,
        generated,
        training,
        evaluation,
        model,
        metrics,
        alias,
        refused,
        schemas,
        baseline,
    )


def run(directory: Path, say: Say) -> Story:
    """Record the whole story in a new store in ``directory`` (new or empty)."""
    from lineal.registry.grants import apply
    from lineal.registry.promote import check_all

    if directory.exists() and any(directory.iterdir()):
        raise Conflict(f"{directory} is not empty", hint="pass a new folder: lineal demo DIR")
    started = time.monotonic()
    directory.mkdir(parents=True, exist_ok=True)
    lineal.init(directory, agent="demo-engineer")
    (directory / "lineal.toml").write_text(POLICY)
    shutil.copyfile(Path(__file__).with_name("render.py"), directory / "render.py")
    say(
        f"Initialised a store in {directory}/.lineal (SQLite), "
        "with a production policy in lineal.toml, applied to the ledger by its admin"
    )
    story = Story(directory.resolve())
    here = Path.cwd()
    try:
        os.chdir(directory)  # generation runs record paths relative to the working folder
        with Lineal.open(path=Path()) as repo:
            apply(repo)  # the store's first agent is its admin: the policy is in force
            for number in (1, 2):
                before = story.iterations[-1] if story.iterations else None
                story.iterations.append(_iteration(repo, number, before, say))
            story.policy = check_all(repo)
            report = repo.verify()
    finally:
        os.chdir(here)
    if report.problem is not None:
        raise IntegrityError(
            f"verification failed at seq {report.problem.seq}: {report.problem.what}"
        )
    story.records = report.records
    story.seconds = time.monotonic() - started
    return story
