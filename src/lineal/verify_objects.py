"""Checking the bytes behind recorded versions: every object a version needs is in the object
cache, and (on request) still hashes to its name.

A service over the object cache and the store; never prints, never changes or removes an object.

Which objects a version needs: a snapshot (a dataset, a model: an artifact recorded with
``files``) needs its manifest and, unless it was added ``--ref-only`` (data left where it is),
every file the manifest lists. Other artifacts (an environment, a code state) may have no bytes
stored anywhere; those that are cached are re-hashed with the rest.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lineal import collect
from lineal.cas.manifest import Manifest
from lineal.cas.parallel import parallel
from lineal.cas.progress import Progress, stage
from lineal.client import Lineal
from lineal.datasets import objects
from lineal.errors import LinealError
from lineal.model.digests import digest_bytes
from lineal.model.entities import Artifact

if TYPE_CHECKING:
    from lineal.cas.objects import ObjectCache

#: How an object a version needs stands, worst first.
MISSING, DAMAGED, NOT_PULLED = "missing", "damaged", "not pulled"


@dataclass(frozen=True, slots=True)
class VersionDamage:
    """One version whose data is not all here and sound: its own object (a snapshot's
    manifest) and how many of its files are missing, damaged, or only on a remote."""

    ref: str
    own: str | None  # MISSING, DAMAGED or NOT_PULLED: the version's own object (manifest)
    files: int  # files its manifest lists (0 when the manifest cannot be read)
    missing: int = 0
    damaged: int = 0
    not_pulled: int = 0

    @property
    def broken(self) -> bool:
        """Missing or damaged here and on every remote asked (not merely not pulled)."""
        return self.own in (MISSING, DAMAGED) or bool(self.missing or self.damaged)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "own_object": self.own,
            "files": self.files,
            "missing": self.missing,
            "damaged": self.damaged,
            "not_pulled": self.not_pulled,
        }


@dataclass(frozen=True, slots=True)
class ObjectReport:
    """What `lineal verify` found of the bytes behind recorded versions."""

    checked: bool  # False: no object cache here (a store opened without a workspace)
    mode: str = "exists"  # "exists" (presence only), "all" (every object re-hashed), "sample"
    versions: int = 0  # snapshot versions checked
    ref_only: int = 0  # of which added --ref-only: their files are not in the cache
    objects: int = 0  # objects those versions need (manifests and files)
    present: int = 0
    hashed: int = 0  # objects re-hashed, with the manifests (always re-hashed when read)
    sampled: int = 0  # of which chosen at random (--sample)
    sample: int | None = None
    seed: int | None = None
    missing: tuple[str, ...] = ()
    damaged: tuple[str, ...] = ()
    not_pulled: tuple[str, ...] = ()
    remotes_asked: tuple[str, ...] = ()
    remote_errors: tuple[str, ...] = ()
    damage: tuple[VersionDamage, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.damaged

    @property
    def broken(self) -> list[VersionDamage]:
        return [one for one in self.damage if one.broken]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "mode": self.mode,
            "versions": self.versions,
            "ref_only_versions": self.ref_only,
            "objects": self.objects,
            "present": self.present,
            "hashed": self.hashed,
            "sampled": self.sampled,
            "sample": self.sample,
            "seed": self.seed,
            "missing": list(self.missing),
            "damaged": list(self.damaged),
            "not_pulled": list(self.not_pulled),
            "remotes_asked": list(self.remotes_asked),
            "remote_errors": list(self.remote_errors),
            "versions_with_problems": [one.as_dict() for one in self.damage],
        }


@dataclass(slots=True)
class _Found:
    """What the first pass learnt: manifests read, and the objects needed."""

    snapshots: list[Artifact] = field(default_factory=list)
    ref_only: int = 0
    needed: set[str] = field(default_factory=set)  # manifests and files
    others: dict[str, list[str]] = field(default_factory=dict)  # digest -> refs (maybe no bytes)
    bad_manifests: set[str] = field(default_factory=set)  # present but not hashing right
    manifests: set[str] = field(default_factory=set)  # present and sound
    listed: set[str] = field(default_factory=set)  # manifests whose files are in ``needed``


def check_objects(
    repo: Lineal,
    *,
    rehash: bool = False,
    sample: int | None = None,
    seed: int | None = None,
    workers: int = 4,
    progress: Progress | None = None,
) -> ObjectReport:
    """Check that every object recorded versions need is cached; ``rehash`` re-hashes every
    cached object versions need, ``sample`` re-hashes that many chosen at random (with
    ``seed``, or a fresh one the report gives, so the same choice can be made again)."""
    if repo.workspace is None or repo.workspace.root is None:
        return ObjectReport(checked=False)
    cache = objects(repo)
    stage(progress, "reading manifests", after="nothing was changed")
    found = _first_pass(cache, collect.stored(repo))
    present = cache.present(found.needed)
    absent = {d for d in found.needed if d not in present}
    candidates = sorted(
        (present - found.bad_manifests - found.manifests)
        | (cache.present(set(found.others) - found.needed))
    )
    mode = "all" if rehash else "sample" if sample is not None else "exists"
    if sample is not None:
        seed = seed if seed is not None else int.from_bytes(os.urandom(4), "big")
        chooser = random.Random(seed)  # noqa: S311 - picks objects to check, not a secret
        candidates = chooser.sample(candidates, min(sample, len(candidates)))
    elif not rehash:
        candidates = []
    damaged = set(found.bad_manifests) | _rehash(cache, candidates, workers, progress)
    not_pulled, asked, errors = _on_remotes(repo, absent, progress) if absent else (set(), (), ())
    missing = absent - not_pulled
    damage = (
        _attribute(cache, found, missing, damaged, not_pulled)
        if missing or damaged or not_pulled
        else []
    )
    return ObjectReport(
        checked=True,
        mode=mode,
        versions=len(found.snapshots),
        ref_only=found.ref_only,
        objects=len(found.needed),
        present=len(present),
        hashed=len(candidates) + len(found.manifests) + len(found.bad_manifests),
        sampled=len(candidates) if sample is not None else 0,
        sample=sample,
        seed=seed if sample is not None else None,
        missing=tuple(sorted(missing)),
        damaged=tuple(sorted(damaged)),
        not_pulled=tuple(sorted(not_pulled)),
        remotes_asked=asked,
        remote_errors=errors,
        damage=tuple(damage),
    )


def _first_pass(cache: ObjectCache, artifacts: Iterable[Artifact]) -> _Found:
    # Manifests are read and dropped, not held: a few versions of 200,000 files would hold
    # hundreds of MB. Damage is rare; naming the versions it touches reads them again.
    found = _Found()
    for artifact in artifacts:
        digest = artifact.digest
        if "files" not in artifact.meta:
            found.others.setdefault(digest, []).append(artifact.ref)
            continue
        found.snapshots.append(artifact)
        found.needed.add(digest)
        ref_only = bool(artifact.meta.get("ref_only"))
        found.ref_only += ref_only
        files = not ref_only and digest not in found.listed
        if digest in found.bad_manifests or (digest in found.manifests and not files):
            continue
        damaged, manifest = _read_manifest(cache, digest)
        if damaged:
            found.bad_manifests.add(digest)
        elif manifest is not None:
            found.manifests.add(digest)
            if files:
                found.needed.update(entry.digest for entry in manifest.entries)
                found.listed.add(digest)
    return found


def _read_manifest(cache: ObjectCache, digest: str) -> tuple[bool, Manifest | None]:
    """(damaged, the manifest): (False, None) when it is not cached."""
    try:
        data = cache.read_bytes(digest)
    except LinealError:
        return False, None
    except OSError:
        return True, None
    if digest_bytes(data) != digest:
        return True, None
    try:
        return False, Manifest.decode(data, expected=digest)
    except LinealError:
        return True, None  # it hashes right but is no manifest: the record is what is wrong


def _rehash(
    cache: ObjectCache, digests: list[str], workers: int, progress: Progress | None
) -> set[str]:
    """The ones of ``digests`` whose cached bytes no longer hash to their name."""
    if not digests:
        return set()
    stage(
        progress, "re-hashing", "re-hashed", unit="objects", total=len(digests),
        after="nothing was changed: run lineal verify again to check the rest",
    )  # fmt: skip

    def one(digest: str) -> str:
        try:
            return "" if cache.verify(digest) else digest
        except (LinealError, OSError):
            return digest  # unreadable, or gone since it was listed

    results, _ = parallel(digests, one, workers, progress)
    return {digest for digest in results if digest}


def _on_remotes(
    repo: Lineal, absent: set[str], progress: Progress | None
) -> tuple[set[str], tuple[str, ...], tuple[str, ...]]:
    """Which of ``absent`` a configured remote holds (not pulled, not lost), the remotes asked,
    and what went wrong asking."""
    from lineal import remotes

    stage(progress, "asking remotes", after="nothing was changed")
    held: set[str] = set()
    asked: list[str] = []
    errors: list[str] = []
    for config in remotes.usable(repo):
        left = sorted(absent - held)
        if not left:
            break
        try:
            _, remote = remotes.remote(repo, config.name)
            held.update(set(left) - set(remote.missing(left)))
        except LinealError as exc:
            errors.append(f"{config.name}: {exc.message}")
            continue
        asked.append(config.name)
    return held, tuple(asked), tuple(errors)


def _attribute(
    cache: ObjectCache, found: _Found, missing: set[str], damaged: set[str], not_pulled: set[str]
) -> list[VersionDamage]:
    """Name each version whose data is missing, damaged or not pulled, with counts."""
    state = {
        **dict.fromkeys(not_pulled, NOT_PULLED),
        **dict.fromkeys(missing, MISSING),
        **dict.fromkeys(damaged, DAMAGED),
    }
    damage: list[VersionDamage] = []
    for artifact in found.snapshots:
        manifest = _read_manifest(cache, artifact.digest)[1]
        own = state.get(artifact.digest)
        if manifest is None:
            if own is not None:
                damage.append(VersionDamage(artifact.ref, own, 0))
            continue
        counts = {MISSING: 0, DAMAGED: 0, NOT_PULLED: 0}
        if not artifact.meta.get("ref_only"):
            for entry in manifest.entries:
                if entry.digest in state:
                    counts[state[entry.digest]] += 1
        if own is not None or any(counts.values()):
            damage.append(
                VersionDamage(
                    artifact.ref,
                    own,
                    len(manifest.entries),
                    counts[MISSING],
                    counts[DAMAGED],
                    counts[NOT_PULLED],
                )
            )
    for digest, refs in found.others.items():  # cached bytes of other artifacts
        if digest in damaged and digest not in found.needed:
            damage.extend(VersionDamage(ref, DAMAGED, 0) for ref in refs)
    return damage
