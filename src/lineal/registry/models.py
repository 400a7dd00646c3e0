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
from lineal.store import queries


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


def generated_by(repo: Lineal, digest: str) -> str | None:
    """The run that generated this artifact (the first, if several did)."""
    for edge in repo.edges(digest):
        if edge.kind == "generated" and edge.child == digest:
            return edge.parent
    return None


def register_artifact(repo: Lineal, artifact: Artifact, name: str) -> Registered:
    """Make ``artifact`` (a model) a version of ``model/NAME``; no-op if it already is one."""
    check_name(name, "model name")
    if artifact.kind != "model":
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
    return Registered(version, generated_by(repo, version.digest), not known)


def _run_model(repo: Lineal, run: Run) -> Artifact:
    models: dict[str, Artifact] = {}
    for edge in repo.edges(run.ref):
        if edge.kind == "generated" and edge.parent == run.ref:
            found = repo.resolve(Ref(kind=None, digest=edge.child))
            if isinstance(found, Artifact) and found.kind == "model":
                models[found.digest] = found
    if not models:
        raise NotFound(
            f"{run.ref} generated no model",
            hint="log one with run.log_model(PATH, name=...), or register a file by its path",
        )
    if len(models) > 1:
        raise InvalidInput(
            f"{run.ref} generated {len(models)} models: {', '.join(sorted(models))}",
            hint="register one of them by its path or digest: lineal model register PATH --name N",
        )
    return next(iter(models.values()))


def register(repo: Lineal, source: str | Path, name: str) -> Registered:
    """Register ``source`` (a model file or folder, ``run/ID``, or a model artifact reference)
    as the next version of ``model/NAME``."""
    check_name(name, "model name")
    text = str(source)
    with repo.atomic():
        if text.startswith("run/"):
            run = repo.resolve(text)
            assert isinstance(run, Run)  # noqa: S101 - a run/ reference names a run
            return register_artifact(repo, _run_model(repo, run), name)
        if text.startswith(("model/", "sha256:")):
            found = repo.resolve(text)
            assert isinstance(found, Artifact)  # noqa: S101
            return register_artifact(repo, found, name)
        path = Path(text)
        if not path.exists():
            raise InvalidInput(
                f"cannot register {text}: no such file or folder",
                hint="pass a model file or folder, run/ULID or a model reference",
            )
        before = set(repo.versions("model", name))
        added = datasets.add(repo, [path], name=name, kind="model").artifact
    return Registered(added, generated_by(repo, added.digest), added.digest not in before)


def versions(repo: Lineal, name: str) -> list[dict[str, object]]:
    """Every version of ``model/NAME`` with its digest, run and the aliases it holds now."""
    db = repo.store.sql()
    rows = queries.versions_with_seq(db, "model", name)
    if not rows:
        raise NotFound(
            f"no registered model named {name!r}",
            hint=f"lineal model register PATH --name {name}",
        )
    held: dict[str, list[str]] = {}
    for _, alias, digest, _ in queries.alias_holders(db, "model", name):
        held.setdefault(digest, []).append(alias)
    return [
        {
            "version": version,
            "ref": f"model/{name}@v{version}",
            "digest": digest,
            "run": generated_by(repo, digest),
            "aliases": held.get(digest, []),
            "seq": seq,
        }
        for version, digest, seq in rows
    ]
