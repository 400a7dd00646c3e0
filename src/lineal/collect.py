"""What recorded versions need from the object cache, and collecting what none needs (gc).

A service over the object cache and the store; never prints, never removes an object a
recorded version references.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lineal.cas.manifest import Manifest
from lineal.cas.progress import Progress, Tally, stage
from lineal.client import Lineal
from lineal.datasets import objects
from lineal.errors import InvalidInput
from lineal.model.entities import Artifact


def resolve_stored(repo: Lineal, ref: str) -> Artifact:
    """A dataset, model or other artifact version, by reference (bare NAME: a dataset)."""
    found = repo.resolve(ref if "/" in ref or ref.startswith("sha256:") else f"dataset/{ref}")
    if not isinstance(found, Artifact):
        raise InvalidInput(f"{ref} is a run, not an artifact", hint="use KIND/NAME[@vN]")
    return found


def stored(repo: Lineal, refs: Sequence[str] = ()) -> list[Artifact]:
    """The artifacts ``refs`` name, or every recorded artifact."""
    return [resolve_stored(repo, r) for r in refs] if refs else repo.artifacts()


def referenced(repo: Lineal, refs: Sequence[str] = ()) -> list[str]:
    """Objects the given versions (default: every artifact) need: manifests and file contents."""
    cache = objects(repo)
    needed: set[str] = set()
    for artifact in stored(repo, refs):
        needed.add(artifact.digest)
        # Snapshots (datasets, models, …) are manifests: they need their files too.
        if (
            "files" in artifact.meta
            and cache.has(artifact.digest)
            and not artifact.meta.get("ref_only")
        ):
            needed.update(
                e.digest
                for e in Manifest.decode(
                    cache.read_bytes(artifact.digest), expected=artifact.digest
                ).entries
            )
    return sorted(needed)


@dataclass(frozen=True, slots=True)
class GcResult:
    removed: int
    bytes: int
    kept: int


def gc(repo: Lineal, *, dry_run: bool = False, progress: Progress | None = None) -> GcResult:
    """Remove cached objects that no recorded version references."""
    stage(progress, "finding unreferenced objects", after="nothing was removed")
    cache = objects(repo)
    keep = set(referenced(repo))
    present = list(cache.digests())
    gone = [digest for digest in present if digest not in keep]
    size = sum(cache.size(digest) for digest in gone)
    if not dry_run:
        shown = progress or Tally()
        after = "the objects removed are gone, the others still cached: run lineal gc again"
        shown.stage("removing", "removed", unit="objects", total=len(gone), after=after)
        try:  # each pack holding some is rewritten once
            cache.remove_all(gone, progress=lambda done: shown(done, len(gone)))
        except BaseException:  # Ctrl-C: say exactly how many went, whenever it landed
            shown(len(cache.missing(gone)), len(gone))
            raise
        cache.clean_temp()
    return GcResult(len(gone), size, len(present) - len(gone))
