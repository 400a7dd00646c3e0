"""Synthetic-data generation runs: a command that renders a dataset from a scene and a
randomization config, recorded so that `lineal replay` can run it again.

The SDK entry point is :func:`generation_run`; never prints (the command's output goes
through ``echo``, by default to this process's stdout and stderr).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.model.entities import Artifact, Run, check_name

Echo = Callable[[str, bytes], None]


@dataclass(frozen=True, slots=True)
class Generated:
    run: Run
    exit_code: int
    scene: Artifact
    config: Artifact
    dataset: Artifact | None  # None when the command failed or wrote nothing
    schemas: tuple[Artifact, ...]  # the label schemas the dataset is labeled_with


def _to_stdio(label: str, chunk: bytes) -> None:
    os.write(1 if label == "stdout" else 2, chunk)


def _scene(repo: Lineal, scene: str | Path) -> tuple[Artifact, str]:
    """The scene artifact and the folder the command finds its files in (its base)."""
    from lineal.scenes import record

    path = Path(scene)
    if path.suffix.lower() in (".usd", ".usda", ".usdc", ".usdz") and path.is_file():
        added = record.add(repo, path)
        return added.artifact, os.path.relpath(added.fingerprint.base, Path.cwd())
    artifact = record.resolve(repo, str(scene))
    source = Path(str(artifact.meta.get("source", "")))
    root = str(artifact.meta.get("root", ""))
    if repo.workspace is not None and repo.workspace.root is not None:
        source = repo.workspace.root.parent / source
    if not source.as_posix().endswith(root) or not source.is_file():
        raise InvalidInput(
            f"the files of {artifact.ref} are not where they were recorded ({source})",
            hint="pass the scene's USD file instead of its reference",
        )
    base = Path(source.as_posix()[: -len(root)] or ".")
    return artifact, os.path.relpath(base, Path.cwd())


def _config(repo: Lineal, config: str | Path) -> tuple[Artifact, str]:
    from lineal.scenes import randomization

    path = Path(config)
    if path.is_file():
        return randomization.add(repo, path).artifact, os.path.relpath(path, Path.cwd())
    raise InvalidInput(
        f"no such randomization config file: {config}",
        hint="pass the YAML or JSON file the command reads",
    )


def generation_run(
    command: Sequence[str],
    *,
    scene: str | Path,
    config: str | Path,
    output: str | Path,
    renderer: str,
    renderer_version: str,
    name: str = "generate",
    params: Mapping[str, Any] | None = None,
    repo: Lineal | None = None,
    echo: Echo | None = None,
) -> Generated:
    """Run ``command`` as a recorded synthetic-generation run and record what it made.

    ``scene`` is a USD file (recorded as a scene version if new) or a ``scene/NAME``
    reference; ``config`` the randomization config file the command reads (recorded as a
    ``config`` version; its ``seed`` becomes the run's seed and ``LINEAL_SEED``). The run
    uses both, with the renderer or simulator's name and version as params; ``output``, the
    folder the command writes, is snapshotted as a dataset the run generated, its label
    schemas are recorded (``labeled_with``, when it holds COCO, KITTI, YOLO or VOC labels),
    and the dataset is linked ``rendered_from`` the scene. ``lineal replay RUN`` re-executes
    the same command on the same inputs and compares the output's digest.

    Paths are taken relative to the current folder, which is where the command runs.
    """
    from lineal.labels.record import labeled_with
    from lineal.tracking.command import Bound, run_command

    check_name(name, "run name")
    if not renderer or not renderer_version:
        raise InvalidInput("a generation run needs the renderer's name and version")
    owns = repo is None
    store = Lineal.open() if repo is None else repo
    try:
        scene_artifact, scene_path = _scene(store, scene)
        config_artifact, config_path = _config(store, config)
        seed = config_artifact.meta.get("seed")
        recorded = {
            **(params or {}),
            "renderer": renderer,
            "renderer_version": renderer_version,
            "scene": scene_artifact.ref,
            "randomization": config_artifact.ref,
        }
        result = run_command(
            store,
            list(command),
            name=name,
            outputs=[str(output)],
            params=recorded,
            echo=echo or _to_stdio,
            bound=[
                Bound(scene_path, scene_artifact, "scene"),
                Bound(config_path, config_artifact, "randomization"),
            ],
            seed=seed if isinstance(seed, int) else None,
        )
        dataset = result.outputs[0] if result.outputs else None
        schemas: tuple[Artifact, ...] = ()
        if dataset is not None:
            # Parent upstream, as every edge: the scene -> the dataset rendered from it (the
            # other way round would close a cycle through the run that used the scene).
            already = any(
                e.kind == "rendered_from" and e.parent == scene_artifact.node
                for e in store.edges(dataset)
            )
            if not already:
                store.link("rendered_from", scene_artifact, dataset, role=renderer)
            schemas = tuple(labeled_with(store, dataset))
        return Generated(result.run, result.exit_code, scene_artifact, config_artifact,
                         dataset, schemas)  # fmt: skip
    finally:
        if owns:
            store.close()
