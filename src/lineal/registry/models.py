"""Registered models: `model/NAME` versions v1, v2, … each pointing at its artifact and the
run that generated it.

A registered model is a named model artifact; registering records a version, never a copy.
Never prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lineal import datasets
from lineal.client import Lineal
from lineal.errors import InvalidInput, NotFound
from lineal.model.entities import Artifact, Run, check_name
from lineal.model.refs import Ref, parse


@dataclass(frozen=True, slots=True)
class Registered:
    artifact: Artifact  # the version, named model/NAME@vN
    run: str | None  # run/ULID that generated it, if a run did
    created: bool  # False when that content already was a version of NAME


def parse_model_ref(text: str) -> Ref:
    """``NAME``, ``NAME@vN``, ``NAME@sha256:…``, ``NAME:ALIAS`` (or with ``model/`` in front)."""
    if not isinstance(text, str) or ("/" in text and not text.startswith("model/")):
        raise InvalidInput(
            f"bad model reference {text!r}: expected NAME[@vN|:ALIAS] or model/NAME[@vN|:ALIAS]",
            hint="`lineal ls model` lists the registered models",
        )
    return parse(text if text.startswith("model/") else f"model/{text}")


def resolve_model(repo: Lineal, text: str) -> Artifact:
    """The model version a reference names."""
    found = repo.resolve(parse_model_ref(text))
    assert isinstance(found, Artifact)  # noqa: S101 - a model/ reference names an artifact
    return found


def generated_by(repo: Lineal, artifact: Artifact | str) -> str | None:
    """The run that generated this artifact (the first, if several did); for a version
    registered from bytes a run made (a file, a logged model), the run that made those."""
    node = repo.node(artifact)
    seen = {node}
    while True:
        edges = [e for e in repo.edges(node) if e.child == node]
        for edge in edges:
            if edge.kind == "generated":
                return edge.parent
        sources = [e.parent for e in edges if e.kind == "derived_from" and e.role == _REGISTERED]
        if not sources or sources[0] in seen:
            return None
        node = sources[0]
        seen.add(node)


#: The role of the ``derived_from`` edge from what was registered to the model version.
_REGISTERED = "registered"


def register_artifact(repo: Lineal, artifact: Artifact, name: str) -> Registered:
    """Make ``artifact`` (a model a run logged, a file a run wrote, …) a version of
    ``model/NAME``; no-op if that content already is one. The version is a node of its own,
    ``derived_from`` the artifact (role ``registered``), so its lineage reaches the run that
    made the bytes."""
    check_name(name, "model name")
    if artifact.kind not in _REGISTRABLE:
        raise InvalidInput(
            f"{artifact.ref} is a {artifact.kind}, not a model",
            hint="register a model file or folder, or a run that logged one",
        )
    with repo.atomic():
        known = artifact.digest in repo.versions("model", name)
        if not known:
            repo.record_artifact(
                "model",
                digest=artifact.digest,
                name=name,
                size=artifact.size,
                uri=artifact.uri,
                meta=artifact.meta,
            )
        version = repo.resolve(Ref(kind="model", name=name, digest=artifact.digest))
        assert isinstance(version, Artifact)  # noqa: S101
        if not known and version.node != artifact.node:
            repo.link("derived_from", artifact, version, role=_REGISTERED)
    return Registered(version, generated_by(repo, version), not known)


#: What a model version may be registered from: a model, or the file or folder a run wrote.
_REGISTRABLE = ("model", "file", "dataset")


def _run_model(repo: Lineal, run: Run) -> Artifact:
    """What a run made that ``model register run/ID`` means: its one model, else its one
    file or folder output (a model saved as a plain output)."""
    made: list[Artifact] = []
    for edge in repo.edges(run.ref):
        if edge.kind == "generated" and edge.parent == run.ref:
            found = repo.resolve(edge.child)
            if isinstance(found, Artifact) and found.kind in _REGISTRABLE:
                made.append(found)
    models = [a for a in made if a.kind == "model"] or made
    if not models:
        raise NotFound(
            f"{run.ref} generated no model, file or folder",
            hint="log one with run.log_model(PATH, name=...), or register a file by its path",
        )
    if len(models) > 1:
        raise InvalidInput(
            f"{run.ref} generated {len(models)} of them: {', '.join(a.ref for a in models)}",
            hint="register one of them by reference: lineal model register REF --name NAME",
        )
    return models[0]


def _made_by_a_run(repo: Lineal, digest: str) -> Artifact | None:
    """The latest recorded node holding these bytes that a run generated (a file or folder a
    run wrote, a model it logged), if any."""
    for holder in reversed(repo.holders(digest)):
        if holder.kind in _REGISTRABLE and any(
            e.kind == "generated" and e.child == holder.node for e in repo.edges(holder)
        ):
            return holder
    return None


def register(repo: Lineal, source: str | Path, name: str) -> Registered:
    """Register ``source`` (a model file or folder, ``run/ID``, or an artifact reference) as
    the next version of ``model/NAME``; bytes a run wrote keep that run upstream."""
    check_name(name, "model name")
    text = str(source)
    path = Path(text)
    if text.startswith("run/") or not path.exists():
        with repo.atomic():
            return register_artifact(repo, _named(repo, text), name)
    # The cache's lock outlasts the transaction: a gc must not run before the record commits.
    with datasets.objects(repo).writing(), repo.atomic():
        before = set(repo.versions("model", name))
        added = datasets.add(repo, [path], name=name, kind="model").artifact
        created = added.digest not in before
        source_node = _made_by_a_run(repo, added.digest) if created else None
        if source_node is not None and source_node.node != added.node:
            repo.link("derived_from", source_node, added, role=_REGISTERED)
    return Registered(added, generated_by(repo, added), created)


def _named(repo: Lineal, text: str) -> Artifact:
    """The artifact ``run/ID`` (the model that run logged) or a reference names."""
    if text.startswith("run/"):
        run = repo.resolve(text)
        assert isinstance(run, Run)  # noqa: S101 - a run/ reference names a run
        return _run_model(repo, run)
    try:
        ref = parse(text)
    except InvalidInput:
        raise InvalidInput(
            f"cannot register {text}: no such file or folder, nor a reference",
            hint="pass a model file or folder, run/ULID or an artifact reference",
        ) from None
    found = repo.resolve(ref)
    if not isinstance(found, Artifact):
        raise InvalidInput(f"{text} is not an artifact", hint="pass a model file or REF")
    return found


def versions(repo: Lineal, name: str) -> list[dict[str, object]]:
    """Every version of ``model/NAME`` with its digest, run and the aliases it holds now."""
    rows = repo.store.versions("model", name)
    if not rows:
        raise NotFound(
            f"no registered model named {name!r}",
            hint=f"lineal model register PATH --name {name}",
        )
    held: dict[str, list[str]] = {}
    for _, alias, digest, _ in repo.store.alias_holders("model", name):
        held.setdefault(digest, []).append(alias)
    return [
        {
            "version": version,
            "ref": f"model/{name}@v{version}",
            "digest": digest,
            "run": generated_by(repo, f"model/{name}@{digest}"),
            "aliases": held.get(digest, []),
            "seq": seq,
        }
        for version, digest, seq in rows
    ]
