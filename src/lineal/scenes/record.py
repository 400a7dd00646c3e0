"""Scenes in the store: record a USD scene as a versioned ``scene`` artifact whose layers and
assets are ``file`` artifacts linked by their composition arcs; read scenes back.

A service over lineal.client and the object cache; never prints. One call, one transaction.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal import datasets
from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.model import canonical
from lineal.model.entities import Artifact, kind_name
from lineal.model.refs import Ref
from lineal.scenes.fingerprint import FORMAT, Fingerprint, fingerprint

if TYPE_CHECKING:
    from lineal.cas.objects import ObjectCache

KIND = "scene"


@dataclass(frozen=True, slots=True)
class Added:
    """A scene as recorded: ``created`` False when that name already had this version."""

    artifact: Artifact
    created: bool
    previous: Artifact | None
    fingerprint: Fingerprint


def scene_name(text: str) -> str:
    """``scene/NAME`` or ``NAME`` → NAME (validated)."""
    return kind_name(text, KIND)


def default_name(path: Path) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-._")
    return base[:128] or "scene"


def _arcs_into(found: Fingerprint) -> dict[str, str]:
    """How each file enters the scene: the first arc naming it (the root layer: ``root``)."""
    roles = {found.root: "root"}
    for arc in found.arcs:
        if not arc.missing:
            roles.setdefault(arc.target, arc.kind)
    return roles


def scene_meta(repo: Lineal | None, found: Fingerprint, summary: dict[str, Any]) -> dict[str, Any]:
    """What a scene version records: the per-layer and per-asset list (so a diff can name the
    file that changed), what is missing, the arcs, and the stage summary."""
    arcs: dict[str, list[dict[str, Any]]] = {}
    for arc in found.arcs:
        arcs.setdefault(arc.source, []).append(
            {"kind": arc.kind, "target": arc.target, **({"missing": True} if arc.missing else {})}
        )
    source = str(found.base / found.root)
    if repo is not None and repo.workspace is not None and repo.workspace.root is not None:
        with contextlib.suppress(ValueError):  # outside the workspace: kept absolute
            source = (found.base / found.root).relative_to(repo.workspace.root.parent).as_posix()
    return {
        "format": FORMAT,
        "root": found.root,
        "source": source,
        "layers": [
            {"path": e.path, "digest": e.digest, "size": e.size, "arcs": arcs.get(e.path, [])}
            for e in found.layers()
        ],
        "assets": [{"path": e.path, "digest": e.digest, "size": e.size} for e in found.assets()],
        "missing": list(found.missing),
        "absolute_paths": list(found.absolute),
        "summary": summary,
    }


def inspect(path: Path, hasher: Any = None) -> tuple[Fingerprint, dict[str, Any]]:
    """Fingerprint and summarise a scene file without recording it."""
    from lineal.cas.hashing import hash_file
    from lineal.scenes.summary import summarize

    def plain(file: Path) -> tuple[str, int]:
        digest, size, _, _ = hash_file(str(file))
        return digest, size

    found = fingerprint(path, hasher or plain)
    return found, summarize(found.base / found.root)


def add(repo: Lineal, path: Path, *, name: str | None = None) -> Added:
    """Record ``path``'s scene as a version of ``scene/NAME``; its files go into the cache."""
    label = scene_name(name) if name else default_name(path)
    cache = datasets.objects(repo)
    with cache.writing():  # a gc waits: until the record lands, nothing references its files
        return _add(repo, cache, path, label)


def _add(repo: Lineal, cache: ObjectCache, path: Path, label: str) -> Added:
    def cached(file: Path) -> tuple[str, int]:
        digest, size, _ = cache.add_file(file)
        return digest, size

    found, summary = inspect(path, cached)
    listing = canonical.encode(found.identity())
    cache.add_bytes(listing)  # its digest is the scene's: checkouts and gc read it
    cache.sync()
    meta = scene_meta(repo, found, summary)
    with repo.atomic():
        versions = repo.versions(KIND, label)
        if found.digest in versions:
            same = repo.resolve(Ref(kind=KIND, name=label, digest=found.digest))
            assert isinstance(same, Artifact)  # noqa: S101 - a version is an artifact
            return Added(same, False, None, found)
        previous = None
        if versions:
            latest = repo.resolve(f"{KIND}/{label}")
            previous = latest if isinstance(latest, Artifact) else None
        artifact = repo.record_artifact(
            KIND,
            digest=found.digest,
            name=label,
            size=sum(e.size for e in found.entries),
            meta=meta,
        )
        roles = _arcs_into(found)
        linked: set[tuple[str, str]] = set()
        for entry in found.entries:
            role = roles.get(entry.path, "asset" if entry.role == "asset" else "layer")
            if (entry.digest, role) in linked:
                continue
            linked.add((entry.digest, role))
            part = file_artifact(repo, entry.digest, entry.size, entry.role, entry.path)
            repo.link("derived_from", part, artifact, role=role)
        if previous is not None:
            repo.link("derived_from", previous, artifact, role="previous")
    return Added(artifact, True, previous, found)


def file_artifact(repo: Lineal, digest: str, size: int, role: str, path: str) -> Artifact:
    """The artifact for one layer or asset's bytes (its digest is the cached object's)."""
    found = repo.unnamed(digest)
    if found is None:
        return repo.record_artifact(
            "file", digest=digest, size=size, meta={"usd": role, "path": path}
        )
    return found


def resolve(repo: Lineal, text: str) -> Artifact:
    """The scene artifact ``text`` names: ``scene/NAME[@vN]``, a bare NAME or a digest."""
    ref = text if "/" in text or text.startswith("sha256:") else f"{KIND}/{text}"
    found = repo.resolve(ref)
    if not isinstance(found, Artifact) or found.kind != KIND:
        raise InvalidInput(f"{text} is not a scene", hint="use scene/NAME[@vN]")
    return found


def load(repo: Lineal, text: str, *, paths: bool = True) -> tuple[str, dict[str, Any]]:
    """A recorded scene by reference, or (with ``paths``; never on a server) a USD file read
    now (not recorded): its name and the meta a scene version records."""
    path = Path(text)
    usd = path.suffix.lower() in (".usd", ".usda", ".usdc", ".usdz")
    if paths and usd and path.exists():
        found, summary = inspect(path)
        return text, {**scene_meta(None, found, summary), "digest": found.digest}
    artifact = resolve(repo, text)
    return artifact.ref, {**artifact.meta, "digest": artifact.digest}


def show(repo: Lineal, text: str) -> dict[str, Any]:
    """A scene version with its files, what is missing, its summary and its lineage."""
    artifact = resolve(repo, text)
    body = repo.show(artifact.ref)

    previous = [
        e["ref"]
        for e in body["upstream"]
        if e["kind"] == "derived_from" and e["role"] == "previous"
    ]
    return {
        "ref": artifact.ref,
        "digest": artifact.digest,
        "name": artifact.name,
        "version": artifact.version,
        **{k: v for k, v in artifact.meta.items() if k != "format"},
        "versions": body.get("versions", []),
        "derived_from": previous,
        "rendered": [e["ref"] for e in body["downstream"] if e["kind"] == "rendered_from"],
    }


def compare(repo: Lineal, a: str, b: str, *, paths: bool = True) -> dict[str, Any]:
    """What changed from scene ``a`` to ``b`` (references, or with ``paths`` USD files):
    `lineal scene diff --json`."""
    from lineal.scenes.diff import diff

    (left, old), (right, new) = load(repo, a, paths=paths), load(repo, b, paths=paths)
    return {"a": left, "b": right, **diff(old, new)}
