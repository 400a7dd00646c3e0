"""`lineal demo [DIR]`: the guided demo, a synthetic-data robotics story recorded in a new store.

Thin: lineal.demo.story does the work and says what it recorded through a callback; this
module prints it and what to try next.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lineal.cli.common import handle_errors, out
from lineal.errors import MissingExtra

if TYPE_CHECKING:
    from lineal.demo.story import Story


def _say(text: str) -> None:
    out.print(text, markup=False, emoji=False, highlight=False)


def _next_steps(story: Story) -> list[tuple[str, str]]:
    """What to try next in the demo's store, with the references the story created."""
    first, second = story.iterations
    held = "production" if "production" in {one.alias for one in story.iterations} else "staging"
    found = [
        (f"lineal upstream model/street-classifier:{held}", f"what the {held} model came from"),
        (
            f"lineal diff {first.evaluation.ref} {second.evaluation.ref}",
            "the metrics that moved between the iterations, and what changed upstream",
        ),
    ]
    if second.baseline is not None:
        found.append(
            (
                f"lineal diff {second.baseline.ref} {second.evaluation.ref}",
                "the old and the new model on the same benchmark",
            )
        )
    found.append(
        (f"lineal scene diff {first.scene.ref} {second.scene.ref}", "what changed in the scene")
    )
    if first.schemas and second.schemas:
        found.append(
            (f"lineal schema diff {first.schemas[0]} {second.schemas[0]}", "the renamed class")
        )
    found += [
        (
            f"lineal replay {first.generated['train'].run.ref}",
            "re-render the first training set, compare every digest",
        ),
        ("lineal model history street-classifier", "who promoted what, when and why"),
        ("lineal policy check --all", "the models holding a policy alias, checked now"),
        ("lineal verify", "check every signature and hash in the ledger"),
    ]
    return found


def _policy(story: Story) -> None:
    for one in story.policy:
        if one["passed"]:
            _say(f"{one['ref']} holds {one['alias']} and passes its policy")
            continue
        _say(f"{one['ref']} holds {one['alias']} but VIOLATES its policy:")
        for check in one["checks"]:
            if not check["passed"]:
                _say(f"  FAIL {check['check']}: {check['detail']}")


@handle_errors
def demo(
    directory: Annotated[
        Path, typer.Argument(help="A new or empty folder for the demo's store and files.")
    ] = Path("lineal-demo"),
) -> None:
    """Record a small robotics story in a new store: a USD scene, randomized rendering, a
    labelled dataset, training, evaluation, registration and promotion; twice."""
    try:
        from lineal.demo import story as tale
    except ImportError as exc:
        raise MissingExtra(f"{exc.name or 'a demo dependency'} (for the demo)", "demo") from exc
    told = tale.run(directory, _say)
    first, second = told.iterations
    _say("\n== What moved between the iterations (each model on its own held-out set)")
    for key in sorted({*first.metrics, *second.metrics}):
        before, after = first.metrics.get(key), second.metrics.get(key)
        shown = [f"{v:.3f}" if v is not None else "-" for v in (before, after)]
        _say(f"  {key:<14} {shown[0]:>6} -> {shown[1]:>6}")
    _say(
        f"\nRecorded {told.records} signed records in {told.seconds:.1f}s; "
        "`lineal verify` checked them all: OK"
    )
    _policy(told)
    _say("\nTry next:")
    _say(f"  cd {told.directory}")
    for command, why in _next_steps(told):
        _say(f"  # {why}\n  {command}")


def register(app: typer.Typer) -> None:
    app.command()(demo)
