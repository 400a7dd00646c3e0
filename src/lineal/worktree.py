"""Working copies of datasets: what changed since the version they hold, and checking out.

A service over lineal.datasets and the object cache; never prints, never runs SQL itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lineal.cas.manifest import Entry, Manifest, ManifestDiff, diff
from lineal.cas.progress import Progress, stage
from lineal.cas.scan import snapshot
from lineal.cas.unchanged import unchanged
from lineal.datasets import (
    absolute,
    checkouts,
    latest,
    manifest_of,
    objects,
    remember,
    resolve_dataset,
    stat_cache,
    workspace_root,
)
from lineal.errors import Conflict, IntegrityError, NotFound

if TYPE_CHECKING:
    from lineal.cas.objects import ObjectCache
    from lineal.client import Lineal
    from lineal.model.entities import Artifact

_NO_CHANGES = ManifestDiff((), (), ())


@dataclass(frozen=True, slots=True)
class Status:
    artifact: Artifact
    path: str
    changes: ManifestDiff


def _base(repo: Lineal, name: str, checked_out: Mapping[str, str]) -> Artifact | None:
    digest = checked_out.get(name)
    if digest is not None:
        try:
            return resolve_dataset(repo, f"dataset/{name}@{digest}")
        except NotFound:
            pass
    return latest(repo, name)


def status(
    repo: Lineal, ref: str | None = None, *, progress: Progress | None = None
) -> list[Status]:
    """What changed in each dataset's working copy since the version it holds."""
    root = workspace_root(repo)
    names = [str(resolve_dataset(repo, ref).name)] if ref else repo.names("dataset")
    checked_out = checkouts(root)
    found: list[Status] = []
    stats = stat_cache(repo)
    try:
        for name in names:
            base = _base(repo, name, checked_out)
            if base is None or base.meta.get("ref_only"):
                continue
            paths = [absolute(repo, p) for p in base.meta.get("paths", [])]
            if not paths or not all(p.exists() for p in paths):
                continue
            if unchanged(paths, base.digest, stats):  # stat calls only, when it can tell
                changes = _NO_CHANGES
            else:
                stage(
                    progress,
                    f"comparing {base.meta['paths'][0]}",
                    "hashed",
                    unit="files",
                    after="status changes nothing: run it again to see what changed",
                )
                current = snapshot(
                    paths, objects=None, stat_cache=stats, progress=progress
                ).manifest
                changes = diff(manifest_of(repo, base), current)
            found.append(Status(base, ", ".join(base.meta["paths"]), changes))
    finally:
        stats.close()
    return found


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    artifact: Artifact
    directory: Path
    written: int
    unchanged: int
    removed: int


def checkout(
    repo: Lineal,
    ref: str,
    directory: Path | None = None,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> CheckoutResult:
    """Materialise a version into ``directory`` (default: where it was snapshotted)."""
    from lineal import remotes  # only to fetch missing objects: it loads the remote backends

    artifact = resolve_dataset(repo, ref)
    cache = objects(repo)
    if not cache.has(artifact.digest) and remotes.usable(repo):
        remotes.pull(repo, [artifact.ref], progress=progress)  # its manifest, then its objects
    manifest = manifest_of(repo, artifact)
    default = absolute(repo, str(artifact.meta.get("root", artifact.name)))
    target = directory or default
    missing = sorted(set(cache.missing(e.digest for e in manifest.entries)))
    if missing and remotes.usable(repo):
        # From the default remote, verified on arrival.
        remotes.pull(repo, [artifact.ref], progress=progress)
        missing = cache.missing(missing)
    if missing:
        raise NotFound(
            f"{len(missing)} objects of {artifact.ref} are not in the local cache",
            hint=f"add a remote that has them (`lineal remote add`), then `lineal checkout {ref}`",
        )
    known = _known_contents(repo, artifact)
    wanted = manifest.by_path()
    untouched = f"nothing was written to {target}"
    stage(progress, f"comparing {target}", "hashed", unit="files", after=untouched)
    stats = stat_cache(repo)
    try:
        current = {
            e.path: e
            for e in (
                snapshot(
                    [target], objects=None, stat_cache=stats, progress=progress
                ).manifest.entries
                if target.is_dir()
                else ()
            )
        }
    finally:
        stats.close()
    blocked = sorted(
        path
        for path, entry in current.items()
        if (
            (path in wanted and entry.digest != wanted[path].digest)
            or (path not in wanted and path in known)
        )
        and entry.digest not in known.get(path, set())
    )
    if blocked and not force:
        raise Conflict(
            f"{len(blocked)} files in {target} have local changes, e.g. {blocked[0]}",
            hint="snapshot them with `lineal add`, or pass --force to overwrite them",
        )
    written = unchanged = removed = 0
    total = len(wanted)
    stage(
        progress,
        "checking out",
        "checked out",
        unit="files",
        total=total,
        after=f"{target} is partial, a mix of versions: run lineal checkout {artifact.ref} "
        f"{target}{' --force' if force else ''} again to finish",
    )
    for done, (path, entry) in enumerate(wanted.items(), start=1):
        if path in current and current[path].digest == entry.digest:
            unchanged += 1
        else:
            materialise(cache, entry, target / path)
            written += 1
        if progress is not None:
            progress(done, total)
    for path in sorted(set(current) - set(wanted)):
        if path in known:  # belonged to another version of this dataset; untracked files stay
            (target / path).unlink()
            removed += 1
    if directory is None or target.resolve() == default.resolve():
        remember(workspace_root(repo), str(artifact.name), artifact.digest)
    return CheckoutResult(artifact, target, written, unchanged, removed)


def materialise(cache: ObjectCache, entry: Entry, dest: Path) -> None:
    """Copy one object out of the cache, hashing as it goes: a damaged object never lands."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.lineal-tmp")
    hasher = hashlib.sha256()
    try:
        with cache.open(entry.digest) as src, tmp.open("wb") as out:
            while chunk := src.read(1 << 20):
                hasher.update(chunk)
                out.write(chunk)
        if "sha256:" + hasher.hexdigest() != entry.digest:
            raise IntegrityError(
                f"the cached object for {entry.path} ({entry.digest}) is damaged",
                hint="delete it from .lineal/objects and `lineal pull` it again",
            )
        tmp.replace(dest)
    except BaseException:  # Ctrl-C (up to the rename), a full disk, a damaged object:
        tmp.unlink(missing_ok=True)  # no half-written or unchecked file is left behind
        raise


def _known_contents(repo: Lineal, artifact: Artifact) -> dict[str, set[str]]:
    """Every (path → digests) any version of this dataset ever held: safe to replace."""
    known: dict[str, set[str]] = {}
    cache = objects(repo)
    for digest in repo.versions("dataset", str(artifact.name)):
        if cache.has(digest):
            for entry in Manifest.decode(cache.read_bytes(digest), expected=digest).entries:
                known.setdefault(entry.path, set()).add(entry.digest)
    return known
