"""`lineal model show`: a registered model's versions, aliases, evaluations and upstream.

Reads only, through the registry and lineage services; never prints.
"""

from __future__ import annotations

from typing import Any

from lineal.client import Lineal
from lineal.labels.record import labeled_with, named
from lineal.registry.checks import Context
from lineal.registry.models import resolve_model, versions


def environment_summary(meta: dict[str, Any]) -> str:
    python = meta.get("python") or {}
    system = meta.get("os") or {}
    packages = meta.get("packages") or {}
    parts = [f"Python {python.get('version', '?')}", str(system.get("system") or "")]
    if packages:
        parts.append(f"{len(packages)} packages")
    return ", ".join(part for part in parts if part)


def upstream_summary(ctx: Context) -> dict[str, list[dict[str, Any]]]:
    """The datasets (with licences and sources), label schemas, scenes, code and
    environments upstream of the version."""
    summary: dict[str, list[dict[str, Any]]] = {}
    schemas: dict[str, str] = {ctx.artifact(n).digest: ctx.label(n) for n in ctx.upstream("schema")}
    for key, kind in (("datasets", "dataset"), ("scenes", "scene")):
        summary[key] = []
        for node in ctx.upstream(kind):
            artifact = ctx.artifact(node)
            summary[key].append(
                {
                    "ref": ctx.label(node),
                    "digest": artifact.digest,
                    "license": ctx.stated(artifact, "license"),
                    "source": ctx.stated(artifact, "source"),
                }
            )
            if kind == "dataset":  # a dataset is labelled with (points down to) its schema
                schemas.update(
                    (s.digest, named(ctx.repo, s).ref) for s in labeled_with(ctx.repo, artifact)
                )
    summary["schemas"] = [{"ref": ref, "digest": d} for d, ref in sorted(schemas.items())]
    summary["code"] = [
        {"ref": ctx.label(d), "commit": ctx.artifact(d).meta.get("commit"),
         "diff": ctx.artifact(d).meta.get("diff")}
        for d in ctx.upstream("code")
    ]  # fmt: skip
    summary["environments"] = [
        {"ref": ctx.label(d), "summary": environment_summary(dict(ctx.artifact(d).meta))}
        for d in ctx.upstream("env")
    ]
    summary["runs"] = [
        {"ref": node.id, "name": node.name, "status": node.status}
        for node in ctx.graph.nodes.values()
        if node.type == "run"
    ]
    return summary


def show(repo: Lineal, ref: str) -> dict[str, Any]:
    """Everything the registry knows about the version ``ref`` names and its model."""
    model = resolve_model(repo, ref)
    assert model.name is not None  # noqa: S101 - model references name a version
    listed: list[dict[str, Any]] = versions(repo, model.name)
    ctx = Context(repo, model)
    evaluations = [
        {
            "ref": run.ref,
            "name": run.name,
            "status": run.status,
            "role": "trained" if run.ref == ctx.trained_by else "evaluated",
            "datasets": [ctx.label(d) for d in ctx.eval_datasets(run, None)],
            "metrics": dict(sorted(run.metrics.items())),
        }
        for run in ctx.runs
    ]
    return {
        "model": f"model/{model.name}",
        "ref": f"model/{model.name}@v{model.version}",
        "digest": model.digest,
        "run": ctx.trained_by,
        "versions": listed,
        "aliases": {alias: one["ref"] for one in listed for alias in one["aliases"]},
        "evaluations": evaluations,
        "upstream": upstream_summary(ctx),
    }
