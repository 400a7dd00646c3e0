"""What a model version was made from, in one read: the run that generated it and that run's
inputs and environment, the runs that evaluated it (with their data), the datasets upstream.

What attestations and bills of materials are built from. Reads only, through the registry,
lineage and store services; never writes and never prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lineal import datasets
from lineal.cas.manifest import Entry
from lineal.client import Lineal
from lineal.errors import LinealError, NotFound
from lineal.model.entities import Artifact, Run, node_type
from lineal.registry.checks import Context
from lineal.registry.models import resolve_model
from lineal.registry.stated import meta_value, stated

#: Roles under which a training run reads data it measures itself on (not data it learns from).
EVAL_ROLES = frozenset({"eval", "evaluation", "test", "val", "valid", "validation"})


@dataclass(frozen=True, slots=True)
class Input:
    """An artifact a run used, by its reference (``dataset/x@v2``; a digest when unnamed)."""

    artifact: Artifact
    ref: str
    role: str | None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A run whose metrics speak of the model: the one that trained it, or one that used it."""

    run: Run
    trained: bool
    datasets: tuple[str, ...]  # the references of the data the metrics were measured on


@dataclass(frozen=True, slots=True)
class ModelProvenance:
    model: Artifact
    ref: str  # model/NAME@vN
    run: Run | None  # the run that generated it, if lineal recorded one
    inputs: tuple[Input, ...]  # everything that run used, in recording order
    evaluations: tuple[Evaluation, ...]
    datasets: tuple[Input, ...]  # every dataset version upstream (role: how the run used it)
    base_models: tuple[Input, ...]  # other models upstream: what it was fine-tuned from…
    environments: tuple[Artifact, ...]  # the software environment(s) the run captured
    files: tuple[Entry, ...]  # the model's files, when it is a folder whose manifest is here
    context: Context

    def require_run(self) -> Run:
        """The generating run, or NotFound saying what is missing and how to record it."""
        if self.run is None:
            raise NotFound(
                f"{self.ref} has no generating run: lineal did not record the run that made it",
                hint="log the model from a run (run.log_model(PATH, name=..., register=NAME)) "
                "or register what a run generated: lineal model register run/ID --name NAME",
            )
        return self.run

    def stated(self, artifact: Artifact, key: str) -> str | None:
        """``key`` (license, source, …) as the artifact's tag says it now, else as recorded."""
        return stated(self.context.repo, artifact, key)

    def tagged(self, artifact: Artifact, key: str) -> str | None:
        """``key`` as a tag of the artifact, else as its recorded meta."""
        value = self.context.repo.store.tags(artifact.node).get(key)
        return value or meta_value(artifact, key)

    def nearest_upstream(self, node: str, kinds: frozenset[str]) -> list[str]:
        """The artifacts of ``kinds`` nearest upstream of ``node``, walking through runs and
        other kinds (and through the model's own bytes, as a run logged them before they were
        registered)."""
        graph = self.context.graph
        found: list[str] = []
        seen = {node}
        frontier = [node]
        while frontier:
            onward = []
            for current in frontier:
                for parent in graph.parents(current):
                    if parent.id in seen:
                        continue
                    seen.add(parent.id)
                    own = parent.type == "artifact" and parent.id.endswith(self.model.digest)
                    if parent.type == "artifact" and parent.kind in kinds and not own:
                        found.append(parent.id)
                    else:
                        onward.append(parent.id)
            frontier = onward
        return found


def _inputs(ctx: Context, run: Run) -> list[Input]:
    found = []
    for edge in ctx.repo.edges(run.ref):
        if edge.kind == "used" and edge.child == run.ref and node_type(edge.parent) == "artifact":
            found.append(Input(ctx.artifact(edge.parent), ctx.label(edge.parent), edge.role))
    return found


def _evaluations(ctx: Context) -> list[Evaluation]:
    found = []
    for run in ctx.runs:
        trained = run.ref == ctx.trained_by
        data = [
            i.ref
            for i in _inputs(ctx, run)
            if i.artifact.kind == "dataset" and (not trained or i.role in EVAL_ROLES)
        ]
        found.append(Evaluation(run, trained, tuple(data)))
    return found


def model_files(repo: Lineal, model: Artifact) -> tuple[Entry, ...]:
    """The files of a model folder or file, from its manifest in the local object cache;
    none when lineal holds no manifest for it here (bytes recorded by digest alone)."""
    try:
        return datasets.manifest_of(repo, model).entries
    except LinealError:
        return ()


def model_provenance(repo: Lineal, ref: str) -> ModelProvenance:
    """Everything lineal knows about how the model version ``ref`` was made and measured."""
    model = resolve_model(repo, ref)
    ctx = Context(repo, model)
    run = ctx.run(ctx.trained_by) if ctx.trained_by else None
    inputs = _inputs(ctx, run) if run is not None else []
    roles = {i.artifact.node: i.role for i in inputs}

    def upstream(kind: str) -> tuple[Input, ...]:
        return tuple(
            Input(ctx.artifact(node), ctx.label(node), roles.get(node))
            for node in ctx.upstream(kind)
            if ctx.artifact(node).digest != model.digest  # the bytes a run logged, registered
        )

    return ModelProvenance(
        model=model,
        ref=ctx.label(model.node),
        run=run,
        inputs=tuple(inputs),
        evaluations=tuple(_evaluations(ctx)),
        datasets=upstream("dataset"),
        base_models=upstream("model"),
        environments=tuple(i.artifact for i in inputs if i.artifact.kind == "env"),
        files=model_files(repo, model),
        context=ctx,
    )


def command_of(provenance: ModelProvenance, run: Run) -> list[str] | None:
    """The command line that ran: what `lineal run` recorded, else what the SDK captured."""
    for item in provenance.inputs:
        if item.role == "command" and item.artifact.kind == "config":
            argv = item.artifact.meta.get("argv")
            if isinstance(argv, list):
                return [str(arg) for arg in argv]
    context: Any = run.meta.get("context")
    if isinstance(context, dict) and isinstance(context.get("argv"), list):
        return [str(arg) for arg in context["argv"]]
    return None
