"""Removing things from the object cache: objects (loose or packed) and killed writers' temp files.

Never removes a copy of an object, nor a temp file, written or touched after the cutoff it is
given (a writer may be about to record it), and never leaves a kept object unreadable: a pack
is rewritten without the removed objects before the old one is deleted.

The age of a loose object is its file's mtime; of a packed one, its pack's. A writer freshens
what it reuses (lineal.cas.objects), and a temp file's mtime moves as it is written, so a copy
older than the cutoff is one that no writer has touched since.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lineal.cas.hashing import write_error
from lineal.cas.lock import REPACK, held
from lineal.cas.packs import Counted, uncounted
from lineal.cas.repacking import repack
from lineal.model.digests import PREFIX

if TYPE_CHECKING:
    from lineal.cas.objects import ObjectCache

# os calls on str paths, as in lineal.cas.objects.
# ruff: noqa: PTH108, PTH116


@dataclass(frozen=True, slots=True)
class Unreferenced:
    """The objects in a cache that nothing keeps, split by age."""

    old: list[str]  # every copy written and last reused before the cutoff: may be removed
    young: list[str]  # a copy written or reused since: a writer may be about to record it
    present: int  # objects in the cache, kept or not


def unreferenced(cache: ObjectCache, keep: Collection[str], cutoff: float) -> Unreferenced:
    """The objects of ``cache`` not in ``keep``, split by whether any copy is newer than
    ``cutoff`` (a time.time())."""
    every = list(cache.digests())
    outside = [digest for digest in every if digest not in keep]
    packed: dict[bytes, float] = {}  # raw digest -> mtime of the newest pack holding it
    wanted = {_raw(digest) for digest in outside}
    for path, entries in cache.packs.packs().items():
        mtime = _mtime(path)
        for raw, _, _ in entries:
            if raw in wanted and mtime > packed.get(raw, float("-inf")):
                packed[raw] = mtime
    old: list[str] = []
    young: list[str] = []
    for digest in outside:
        newest = max(_mtime(str(cache.path(digest))), packed.get(_raw(digest), float("-inf")))
        (young if newest >= cutoff else old).append(digest)
    return Unreferenced(old, young, len(every))


def _raw(digest: str) -> bytes:
    return bytes.fromhex(digest[len(PREFIX) :])


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except FileNotFoundError:
        return float("-inf")


def remove(
    cache: ObjectCache,
    digests: Iterable[str],
    *,
    older_than: float | None = None,
    progress: Counted = uncounted,
) -> None:
    """Delete these objects where present: loose files unlinked, each pack holding some of
    them rewritten once without them. ``progress(n)``: n objects are gone so far.

    With ``older_than`` (a time.time()), a loose file or a pack written or touched since
    then stays, whatever it holds: its age is checked again as it is removed, so an object
    a writer reused since its age was first looked at survives.
    """
    gone: set[bytes] = set()
    removed = 0
    for digest in digests:
        path = str(cache.path(digest))
        with contextlib.suppress(FileNotFoundError):
            if older_than is None or os.stat(path).st_mtime < older_than:
                os.unlink(path)
                removed += 1
                progress(removed)
        gone.add(_raw(digest))
    cache.packs.refresh()  # packs sealed since this cache last looked
    if any(cache.packs.contains(raw) for raw in gone):
        try:
            # One rewriter of packs at a time: a writer's automatic merge waits for none.
            with held(cache.root, exclusive=True, name=REPACK):
                repack(
                    cache.packs,
                    lambda raw: raw not in gone,
                    cache.temp_name,
                    lambda n: progress(removed + n),
                    older_than,
                )
        except OSError as exc:
            raise write_error(exc, cache.root) from exc


def clean_temp(cache: ObjectCache, older_than: float, *, dry_run: bool = False) -> tuple[int, int]:
    """Remove the temp files not written to since ``older_than`` (a time.time()): what
    writers killed before they finished left. ``(files removed, bytes freed)`` (with
    ``dry_run``: that would be, and nothing is removed)."""
    removed = freed = 0
    try:
        entries = list(os.scandir(cache.temp_folder))
    except FileNotFoundError:
        return 0, 0
    for entry in entries:
        with contextlib.suppress(FileNotFoundError):
            found = entry.stat(follow_symlinks=False)
            if found.st_mtime < older_than:
                if not dry_run:
                    os.unlink(entry.path)
                removed += 1
                freed += found.st_size
    return removed, freed
