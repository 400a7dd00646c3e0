"""Rewriting packs: gc's removal of objects (:func:`repack`) and the merge of small packs
that writers make as packs pile up (:func:`auto_repack`).

Many small snapshots (a run logging one output file at a time) each seal a small pack. As
git's ``gc --auto`` with ``gc.autoPackLimit``, a writer that seals a pack while more than
:data:`AUTO_PACK_LIMIT` are in the folder merges small ones (:func:`auto_repack`), choosing
them as git's ``repack --geometric=2`` does, so that an object is rewritten about log(packs)
times in all. Only one process rewrites packs at a time (the cache's ``repack.lock``, which a
writer only tries, never waits for); a merge seals its new pack before it deletes a source,
so a merge killed at any moment leaves every object readable, and a reader whose index names
a pack that a merge deleted reads the folder again and finds the object in the new pack (as
does one that listed the folder before the merge and finds a listed pack gone as it reads
its index: see :meth:`lineal.cas.packs.PackSet.refresh`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from lineal.cas.lock import REPACK, attempt
from lineal.cas.packs import Counted, PackSet, PackWriter, damaged, uncounted

# os calls on str paths, as in lineal.cas.packs.
# ruff: noqa: PTH108, PTH116

#: A writer that seals a pack while more than this many are in the folder merges the small
#: ones (git's gc.autoPackLimit), so a cache written by many small snapshots keeps few packs.
AUTO_PACK_LIMIT = 50
#: Packs of this many bytes or more are never merged automatically (gc rewrites them).
AUTO_PACK_SMALL = 32 << 20
#: After an automatic merge each pack is at least this many times bigger than the next smaller.
GEOMETRIC_FACTOR = 2


def _young(path: str, older_than: float | None) -> bool:
    """Was the pack at ``path`` written or touched at ``older_than`` or since?"""
    if older_than is None:
        return False
    try:
        return os.stat(path).st_mtime >= older_than
    except FileNotFoundError:
        return False


def repack(
    packs: PackSet,
    keep: Callable[[bytes], bool],
    new_temp: Callable[[], str],
    progress: Counted = uncounted,
    older_than: float | None = None,
) -> tuple[int, int]:
    """Rewrite each pack holding objects ``keep`` rejects: ``(objects dropped, bytes freed)``.

    The new pack (the kept objects, bytes checked against their digests) is in place before
    the old one is deleted, so every kept object stays readable throughout. ``progress(n)``
    is told the objects dropped so far after each pack. With ``older_than`` (a time), a pack
    written or touched since then is left whole, even if touched while it was being rewritten.
    """
    dropped = freed = 0
    for path, entries in packs.packs().items():
        gone = [e for e in entries if not keep(e[0])]
        if (not gone and entries) or _young(path, older_than):
            continue
        kept = [e for e in entries if keep(e[0])]
        new = None
        if kept:
            writer = PackWriter(new_temp(), packs.folder)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    for raw, off, size in kept:
                        data = os.pread(fd, size, off)
                        if hashlib.sha256(data).digest() != raw:
                            raise damaged(path, f"object sha256:{raw.hex()} does not match")
                        writer.add(raw, data)
                finally:
                    os.close(fd)
                final, _ = writer.finish()
            except BaseException:
                writer.abort()
                raise
            if final == path:  # same objects, same name: nothing to delete
                continue
            new = final
        if _young(path, older_than):  # a writer reused an object of it meanwhile: keep it all
            if new is not None:
                os.unlink(new)
            continue
        os.unlink(path)
        dropped += len(gone)
        freed += sum(size for _, _, size in gone)
        progress(dropped)
    packs.refresh()
    return dropped, freed


def _rollup(sizes: list[tuple[int, str]]) -> list[str]:
    """The packs to merge so that, with the merged one, the packs form a geometric progression
    (each at least :data:`GEOMETRIC_FACTOR` times the next smaller), as git's
    ``repack --geometric``: an object is rewritten about log(packs) times, never once per pack
    added. ``sizes``: ``(bytes, path)`` of each candidate."""
    packs = sorted(sizes)
    if len(packs) < 2:
        return []
    split = 0
    for i in range(len(packs) - 1, 0, -1):
        if packs[i][0] < GEOMETRIC_FACTOR * packs[i - 1][0]:
            split = i + 1  # the larger of the pair breaks the progression: it is merged too
            break
    total = sum(size for size, _ in packs[:split])
    for size, _ in packs[split:]:
        if size >= GEOMETRIC_FACTOR * total:
            break
        split += 1
        total += size
    return [path for _, path in packs[:split]] if split >= 2 else []


def merge(packs: PackSet, paths: list[str], new_temp: Callable[[], str]) -> str | None:
    """Write every object of the packs at ``paths`` into one new pack, then delete those
    packs: the new pack's path, or None if nothing was merged.

    Each object's bytes are checked against its digest as they are copied. The new pack is
    sealed, fsynced and renamed into place before a source is deleted, so a merge killed at
    any moment leaves every object readable (at worst in two packs, until the next merge).
    A source with a damaged object keeps its place (its good objects are copied anyway).
    The new pack is new: its objects count as young to gc (never older than they were).
    The caller holds the cache's :data:`lineal.cas.lock.REPACK` lock.
    """
    indexes = packs.packs()
    writer = PackWriter(new_temp(), packs.folder)
    merged: list[str] = []
    seen: set[bytes] = set()
    try:
        for path in paths:
            entries = indexes.get(path)
            if entries is None:
                continue
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue  # removed since it was listed: its objects are elsewhere or gone
            whole = True
            try:
                for raw, off, size in entries:
                    if raw in seen:
                        continue
                    data = os.pread(fd, size, off)
                    if hashlib.sha256(data).digest() != raw:
                        whole = False  # left as it is, for verify to name
                        continue
                    seen.add(raw)
                    writer.add(raw, data)
            finally:
                os.close(fd)
            if whole:
                merged.append(path)
        if not seen:
            writer.abort()
            return None
        final, written = writer.finish()
    except BaseException:
        writer.abort()
        raise
    packs.adopt(final, written)
    for path in merged:
        if path != final:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
    packs.refresh()
    return final


def auto_repack(packs: PackSet, root: Path, new_temp: Callable[[], str]) -> int:
    """Merge small packs once there are more than :data:`AUTO_PACK_LIMIT` packs (git's
    ``gc.autoPackLimit``): how many packs were merged (0: too few, or another process is
    repacking now, which then does it). Packs of :data:`AUTO_PACK_SMALL` bytes or more stay
    as they are. Called by a writer after it sealed a pack."""
    if len(packs.listing()) <= AUTO_PACK_LIMIT:
        return 0
    with attempt(root, REPACK) as mine:
        if not mine:
            return 0
        sizes = []
        for path in packs.packs():
            with contextlib.suppress(FileNotFoundError):
                size = os.stat(path).st_size
                if size < AUTO_PACK_SMALL:
                    sizes.append((size, path))
        if len(packs.listing()) <= AUTO_PACK_LIMIT:
            return 0  # another process merged them just before this one took the lock
        chosen = _rollup(sizes)
        if not chosen:
            return 0
        return len(chosen) if merge(packs, chosen, new_temp) is not None else 0
