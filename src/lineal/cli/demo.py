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


def _next_steps(story: Story) -> None:
    first, second = story.iterations
    names = {one.alias: one.model.ref for one in story.iterations}
    held = "production" if "production" in names else second.alias
    schemas = [one.schemas for one in story.iterations]
    commands = [
        (f"lineal upstream model/street-classifier:{held}", "where that model came from"),
        (
            f"lineal diff {first.evaluation.ref} {second.evaluation.ref}",
            "the metrics that moved, and what changed upstream",
        ),
        (f"lineal diff {first.model.ref} {second.model.ref}", "the two trainings compared"),
        (f"lineal scene diff {first.scene.ref} {second.scene.ref}", "what changed in the scene"),
    ]
    if schemas[0] and schemas[1]:
        commands.append(
            (f"lineal schema diff {schemas[0][0]} {schemas[1][0]}", "the renamed class")
        )
    commands += [
        (
            f"lineal replay {first.generated['train'].run.ref}",
            "re-render the first training set, compare every digest",
        ),
        ("lineal model history street-classifier", "who promoted what, when and why"),
        ("lineal verify", "check every signature and hash in the ledger"),
    ]
    _say(f"\nTry next, in {story.directory}:")
    for command, why in commands:
        _say(f"  # {why}\n  {command}")


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
    _say("\n== What moved between the iterations")
    for key in sorted({*first.metrics, *second.metrics}):
        before, after = first.metrics.get(key), second.metrics.get(key)
        shown = [f"{v:.3f}" if v is not None else "-" for v in (before, after)]
        _say(f"  {key:<14} {shown[0]:>6} -> {shown[1]:>6}")
    _say(
        f"\nRecorded {told.records} signed records in {told.seconds:.1f}s; "
        "`lineal verify` checked them all: OK"
    )
    _next_steps(told)


def register(app: typer.Typer) -> None:
    app.command()(demo)
