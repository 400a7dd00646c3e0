"""Does a working copy still hold the manifest it was snapshotted as? Answered from stat calls.

Never says yes for a tree it cannot vouch for: any doubt is a "no", after which the caller
compares in full (snapshot and diff), so no result ever rests on this shortcut alone.

Two ways to say yes, cheapest first. Both walk the tree with the snapshot's own walk
(lineal.cas.walk), so names, ignore rules, hidden files and symlinks are treated exactly as a
snapshot treats them, and stat every file:

1. the tree's signature (lineal.cas.statcache.sign_tree) equals the one recorded for
   these paths, with this manifest digest: one row read, no manifest, no stat-cache rows;
2. every file has a trusted stat-cache row, and the manifest those digests and sizes make has
   this digest (no manifest decoded, no Entry made). Then the signature is recorded for next
   time (unless a file changed within the racy-clean window).

The ignore rules are not part of the signature: they only decide which files are walked, and
the walked relpaths are in it.
"""

from __future__ import annotations

import gc
import time
from array import array
from collections.abc import Sequence
from pathlib import Path

from lineal.cas.manifest import encode_rows
from lineal.cas.statcache import StatCache, sign_tree, stat_tree, tree_key
from lineal.cas.walk import collect  # the walk snapshot() runs: same files, names, order
from lineal.errors import LinealError
from lineal.model.digests import digest_bytes

# Hot path: os calls on str paths (a Path object per file costs more than its stat).


def unchanged(paths: Sequence[Path], digest: str, stat_cache: StatCache) -> bool:
    """True if a snapshot of ``paths`` now would give manifest ``digest``; False if unsure."""
    # Tuples and stat results by the thousand, none in a reference cycle: the cyclic collector's
    # passes over them (and over everything imported) would only add to the stat calls.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _unchanged(paths, digest, stat_cache)
    finally:
        if paused:
            gc.enable()


def _unchanged(paths: Sequence[Path], digest: str, stat_cache: StatCache) -> bool:
    statted_ns = time.time_ns()  # before the stat calls: the racy-clean rule counts from here
    try:
        files, _ = collect(paths)
        where = [path for _, path in files]
        ids, numbers = stat_tree(where)
    except (LinealError, OSError):
        return False  # the full comparison says what is wrong
    root = tree_key(paths)
    signature = sign_tree(files, ids, numbers)
    if stat_cache.tree(root) == (signature, digest):
        return True
    if not _same_by_stat_cache(files, where, ids, numbers, digest, stat_cache):
        return False
    stat_cache.record_tree(
        root,
        signature,
        digest,
        newest_mtime_ns=max(numbers[1::2], default=0),
        statted_ns=statted_ns,
    )
    return True


def _same_by_stat_cache(
    files: list[tuple[str, str]],
    where: list[str],
    ids: array[int],
    numbers: array[int],
    digest: str,
    stat_cache: StatCache,
) -> bool:
    """Do the stat cache's digests for these stats make manifest ``digest``?"""
    sizes = numbers[0::2]
    digests = stat_cache.known(
        list(zip(where, ids[0::2], ids[1::2], sizes, numbers[1::2], strict=True))
    )
    if digests is None:
        return False
    rows = [[rel, known, size] for (rel, _), known, size in zip(files, digests, sizes, strict=True)]
    return digest_bytes(encode_rows(rows)) == digest
