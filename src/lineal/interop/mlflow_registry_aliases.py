"""MLflow's aliases and legacy stages on lineal: an alias is lineal's alias of the version
(``alias.set``), a stage a tag on the version and the alias named after it (``staging``,
``production``, ``archived``). An alias the project's promotion policy protects is refused,
naming the ``lineal model promote`` to run instead. Never prints.
"""

from __future__ import annotations

from lineal.client import Lineal
from lineal.errors import InvalidInput, NotFound
from lineal.interop import mlflow_registry_nodes as nodes
from lineal.interop import mlflow_registry_versions as versions
from lineal.model.entities import Artifact
from lineal.model.ops import AliasSet, Op, TagSet

#: MLflow's stages (any case in a request) -> their spelling; each but None is an alias.
STAGES = {"none": "None", "staging": "Staging", "production": "Production", "archived": "Archived"}


def _stage_ops(
    repo: Lineal, lname: str, artifact: Artifact, stage: str, held: dict[str, int]
) -> list[Op]:
    """Put ``artifact`` in ``stage``: its tag, and the alias named after the stage."""
    old = repo.store.tags(artifact.node).get(nodes.STAGE, "None")
    ops: list[Op] = [TagSet(target=artifact.node, key=nodes.STAGE, value=stage)]
    if old not in ("None", stage) and held.get(old.lower()) == artifact.version:
        nodes.guard(repo, lname, old.lower(), artifact.version)
        ops.append(AliasSet(kind="model", name=lname, alias=old.lower(), digest=None))
    if stage != "None":
        nodes.guard(repo, lname, stage.lower(), artifact.version)
        ops.append(AliasSet(kind="model", name=lname, alias=stage.lower(), digest=artifact.digest))
        held[stage.lower()] = artifact.version or 0
    return ops


def transition(
    repo: Lineal, name: object, version: object, stage: object, archive_existing: object = False
) -> versions.ModelVersion:
    """MLflow's legacy stage transition: the stage's alias moves to this version; with
    ``archive_existing_versions``, the others in that stage become Archived."""
    wanted = STAGES.get(str(stage).lower()) if isinstance(stage, str) else None
    if wanted is None:
        raise InvalidInput(
            f"Invalid Model Version stage: {stage}", hint=f"use one of {', '.join(STAGES.values())}"
        )
    with repo.atomic():
        lname, artifact, _ = versions.find(repo, name, version)
        held = versions.aliases_of(repo, lname)
        ops = _stage_ops(repo, lname, artifact, wanted, held)
        now = str(nodes.now_ms())
        ops.append(TagSet(target=artifact.node, key=nodes.UPDATED, value=now))
        if archive_existing in (True, "true", "True") and wanted in ("Staging", "Production"):
            for other, tags in versions.live(repo, lname):
                if other.node != artifact.node and tags.get(nodes.STAGE) == wanted:
                    ops += _stage_ops(repo, lname, other, "Archived", held)
                    ops.append(TagSet(target=other.node, key=nodes.UPDATED, value=now))
        repo.store.append(ops)
        return versions.get(repo, name, version)


def set_alias(repo: Lineal, name: object, alias: object, version: object) -> None:
    """Point ``alias`` at a version (lineal's AliasSet); a protected alias is refused."""
    if not isinstance(alias, str):
        raise InvalidInput(f"bad alias {alias!r}")
    with repo.atomic():
        lname, artifact, _ = versions.find(repo, name, version)
        nodes.guard(repo, lname, alias, artifact.version)
        _, registered, _ = nodes.registration(repo, name)
        repo.store.append(
            [
                AliasSet(kind="model", name=lname, alias=alias, digest=artifact.digest),
                TagSet(target=registered, key=nodes.UPDATED, value=str(nodes.now_ms())),
            ]
        )


def delete_alias(repo: Lineal, name: object, alias: object) -> None:
    with repo.atomic():
        lname, _, _ = nodes.registration(repo, name)
        held = versions.aliases_of(repo, lname)
        if not isinstance(alias, str) or alias not in held:
            return  # as MLflow: deleting an alias that is not there changes nothing
        nodes.guard(repo, lname, alias, held[alias])
        repo.store.append(AliasSet(kind="model", name=lname, alias=alias, digest=None))


def by_alias(repo: Lineal, name: object, alias: object) -> versions.ModelVersion:
    lname, _, _ = nodes.registration(repo, name)
    held = versions.aliases_of(repo, lname)
    for artifact, tags in versions.live(repo, lname):
        if isinstance(alias, str) and held.get(alias) == artifact.version:
            return versions.view(artifact, tags, held)
    raise NotFound(
        f"Registered model alias {alias} not found.",
        hint=f"aliases of {name}: {', '.join(sorted(held)) or 'none'}",
    )


def latest(repo: Lineal, name: object, stages: object = None) -> list[versions.ModelVersion]:
    """The newest version in each stage (of ``stages``, default: every stage)."""
    if isinstance(stages, str):
        stages = [stages]
    wanted = (
        {STAGES.get(str(s).lower(), str(s)) for s in stages}
        if isinstance(stages, list) and stages
        else None
    )
    newest: dict[str, versions.ModelVersion] = {}
    for one in versions.versions(repo, str(name)):
        if wanted is None or one.stage in wanted:
            newest[one.stage] = one
    return sorted(newest.values(), key=lambda v: int(v.version))
