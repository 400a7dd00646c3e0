"""What recorded versions need from the object cache, and collecting what none needs (gc).

A service over the object cache and the store; never prints, never removes an object a
recorded version references, nor one a writer may be about to record (see _collect).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from lineal.cas import prune
from lineal.cas.lock import held
from lineal.cas.manifest import Manifest
from lineal.cas.progress import Progress, Tally, stage
from lineal.client import Lineal
from lineal.datasets import objects
from lineal.errors import InvalidInput, NotFound
from lineal.model.entities import Artifact

if TYPE_CHECKING:
    from lineal.cas.objects import ObjectCache

NOTHING_REMOVED = "nothing was removed"


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


#: How long an unreferenced object or temp file is kept after it was last written or reused:
#: longer than any writer takes from its first object to its record. On one machine the lock
#: (lineal.cas.lock) already keeps gc and writers apart; this covers the writers it cannot
#: see (another machine sharing the cache on a file system without locks). git keeps 2 weeks.
GRACE = 24 * 3600.0
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw]?)")


def parse_grace(text: str) -> float:
    """A duration (``90s``, ``30m``, ``2h``, ``1d``, ``2w``; plain seconds; ``now`` = 0)."""
    plain = text.strip().lower()
    if plain == "now":
        return 0.0
    found = _DURATION.fullmatch(plain)
    if found is None:
        raise InvalidInput(
            f"bad grace period {text!r}: expected a number and a unit",
            hint="e.g. 30m, 2h, 1d, 2w, or 0 (now)",
        )
    return float(found[1]) * _UNITS[found[2] or "s"]


def show_grace(seconds: float) -> str:
    """``parse_grace``'s form of a duration: 1d, 2h, 90s."""
    for unit in "wdhm":
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


@dataclass(frozen=True, slots=True)
class GcResult:
    removed: int  # unreferenced objects removed
    bytes: int
    kept: int  # objects still cached: referenced, or young
    young: int  # unreferenced objects kept: written or reused within the grace period
    young_bytes: int
    temp_files: int  # temp files removed: what interrupted writers left
    temp_bytes: int
    grace: float  # seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "removed": self.removed,
            "bytes": self.bytes,
            "kept": self.kept,
            "young": self.young,
            "young_bytes": self.young_bytes,
            "temp_files": self.temp_files,
            "temp_bytes": self.temp_bytes,
            "grace_seconds": self.grace,
        }


def gc(
    repo: Lineal,
    *,
    dry_run: bool = False,
    grace: float = GRACE,
    progress: Progress | None = None,
) -> GcResult:
    """Remove the cached objects that no recorded version references and that nothing wrote
    or reused within ``grace`` seconds, and the temp files nothing wrote to within it.

    Waits for the writers on this machine (lineal add, pull, …) that are between their first
    object and their record, and holds them off until done (a dry run waits for nothing).
    """
    if grace < 0:
        raise InvalidInput(f"bad grace period {grace}: it cannot be negative", hint="e.g. 1d")
    cache = objects(repo)
    if dry_run:
        return _collect(repo, cache, grace, dry_run, progress)

    def waiting() -> None:
        stage(progress, "waiting for the commands writing to the cache", after=NOTHING_REMOVED)

    with held(cache.root, exclusive=True, waiting=waiting):
        return _collect(repo, cache, grace, dry_run, progress)


def _collect(
    repo: Lineal, cache: ObjectCache, grace: float, dry_run: bool, progress: Progress | None
) -> GcResult:
    stage(progress, "finding unreferenced objects", after=NOTHING_REMOVED)
    # Why no version loses an object, even to a writer that the lock cannot hold off: the
    # cutoff is taken before the references are read. A version recorded before that read is
    # in `keep`. A version recorded after it comes from a writer that wrote or freshened each
    # object it names at most `grace` before recording it (see GRACE), so after the cutoff:
    # those objects count as young and stay, and so do the packs holding them. Ages are
    # looked at again as objects are removed (prune.remove); what is left is a writer reusing
    # an object in the instant between that look and the removal, which git leaves open too,
    # and which the lock closes on this machine.
    cutoff = time.time() - grace
    keep = set(referenced(repo))
    split = prune.unreferenced(cache, keep, cutoff)
    sizes = {digest: _size(cache, digest) for digest in split.old}
    young_bytes = sum(_size(cache, digest) for digest in split.young)
    result = GcResult(
        removed=len(split.old),
        bytes=sum(sizes.values()),
        kept=split.present - len(split.old),
        young=len(split.young),
        young_bytes=young_bytes,
        temp_files=0,
        temp_bytes=0,
        grace=grace,
    )
    if dry_run:
        temp_files, temp_bytes = prune.clean_temp(cache, cutoff, dry_run=True)
        return replace(result, temp_files=temp_files, temp_bytes=temp_bytes)
    shown = progress or Tally()
    total = len(split.old)
    after = "the objects removed are gone, the others still cached: run lineal gc again"
    shown.stage("removing", "removed", unit="objects", total=total, after=after)
    try:  # each pack holding some is rewritten once
        prune.remove(cache, split.old, older_than=cutoff, progress=lambda done: shown(done, total))
    except BaseException:  # Ctrl-C: say exactly how many went, whenever it landed
        shown(len(cache.missing(split.old)), total)
        raise
    gone = cache.missing(split.old)  # a writer gc cannot see may have reused some meanwhile
    temp_files, temp_bytes = prune.clean_temp(cache, cutoff)
    return replace(
        result,
        removed=len(gone),
        bytes=sum(sizes[digest] for digest in gone),
        kept=split.present - len(gone),
        temp_files=temp_files,
        temp_bytes=temp_bytes,
    )


def _size(cache: ObjectCache, digest: str) -> int:
    try:
        return cache.size(digest)
    except NotFound:  # removed meanwhile (a dry run does not hold gc's lock)
        return 0
