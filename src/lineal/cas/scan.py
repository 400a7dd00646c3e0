"""Snapshots: walk files and folders, hash them in parallel, copy new objects, build a manifest.

Never records a file whose bytes changed while they were read, and never follows a symlink to a
folder (no cycles, no surprise trees).

What a snapshot walks (names, hidden files, symlinks, ignore rules): see
:mod:`lineal.cas.walk`. Beyond that:

- **Reference mode** (``objects=None``): files are hashed and nothing is copied.
- **Stat cache**: a file whose (device, inode, size, mtime) match a trusted row costs one stat
  and no read (and, in copy mode, a look that its object is still cached, which freshens it).

Hashing: the calling thread reads and hashes files up to 64 KiB itself (threads would
only fight over the GIL for them: measured, two threads hash 20,000 files of 4 KiB no faster
than one); bigger files go to ``workers`` threads, where hashlib releases the GIL, so they hash
on every core while the calling thread goes on. Files up to 1 MiB are read whole; bigger
ones stream in 1 MiB pieces, so memory does not grow with file size. ``progress(done,
total)`` is called from the calling thread only, at most ~20 times a second. New small
objects go into packs, sealed before ``snapshot`` returns; new big ones are loose files, not
fsynced here: call ``ObjectCache.sync()`` once before recording.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lineal.cas.hashing import Hashed, give_up_with, hash_file
from lineal.cas.manifest import Entry, Manifest, trusted_entry
from lineal.cas.statcache import StatCache, TreeStats, tree_key
from lineal.cas.walk import collect

if TYPE_CHECKING:  # at run time only snapshots that hash import what hashing needs
    from concurrent.futures import Future

    from lineal.cas.objects import ObjectCache

# Hot paths use os calls on str paths: a Path object per call costs more than the call.
# ruff: noqa: PTH116

#: Threads for big files when the caller does not say: one per core.
DEFAULT_WORKERS = min(8, os.cpu_count() or 1)
#: Files up to this size are hashed by the calling thread; bigger ones by worker threads.
INLINE_MAX = 64 << 10
_PROGRESS_EVERY = 0.05  # seconds: at most ~20 calls a second
_STAT_BATCH = 8192  # stat cache rows written per transaction


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    manifest: Manifest
    files: int
    hashed: int
    from_stat_cache: int
    new_objects: int
    bytes_hashed: int
    skipped: tuple[str, ...]


class _Tick(Protocol):
    def __call__(self, done: int, final: bool = False) -> None:
        """Report ``done`` files hashed (``final``: now, however soon after the last report)."""


def _known(
    files: list[tuple[str, str]], stat_cache: StatCache, tree: TreeStats
) -> tuple[list[tuple[str, str]], list[tuple[str, str, int, str]]]:
    """Split files into (to hash, known by the stat cache as (rel, digest, size, path)),
    noting in ``tree`` the stat of each known one."""
    todo: list[tuple[str, str]] = []
    known: list[tuple[str, str, int, str]] = []
    for position, item in enumerate(files):  # the walk's own tuples go in todo (no copies)
        rel, path = item
        if not stat_cache.covers(path):
            todo.append(item)  # never hashed here: a stat could not spare the read
            continue
        try:
            st = os.stat(path)
        except OSError:
            todo.append(item)  # hashing it will say what is wrong
            continue
        digest = stat_cache.lookup(path, st)
        if digest is None:
            todo.append(item)
        else:
            known.append((rel, digest, st.st_size, path))
            tree.note(position, st)
    return todo, known


def _run(
    todo: list[tuple[str, str]],
    small: Callable[[str, int], Hashed | None],
    whole: Callable[[str], Hashed],
    workers: int,
    tick: _Tick,
    sink: Callable[[int, Hashed], None],
) -> None:
    """Hash (and store) every abspath of ``todo``, handing ``sink(index, result)`` each result.

    The calling thread takes the files one by one; a file above INLINE_MAX goes to one of
    ``workers`` threads instead. Small files so pay no thread hand-over (with many tiny
    files that costs more than it saves, as threads fight over the GIL), while big files
    hash on every core (hashlib releases the GIL) and the calling thread goes on meanwhile.
    ``sink`` and ``tick`` run in the calling thread only.
    """
    if workers <= 1:
        for i, (_, path) in enumerate(todo):
            sink(i, whole(path))
            tick(i + 1)
        return
    slots = threading.BoundedSemaphore(2 * workers)  # bounds open files and queued work
    pending: dict[int, Future[Hashed]] = {}
    done = inline = 0
    # Files the workers finished, counted by them: exact whenever this thread stops.
    finished = [0]
    lock = threading.Lock()

    def counted(path: str) -> Hashed:
        result = whole(path)
        with lock:
            finished[0] += 1
        return result

    def collect(block: bool) -> None:
        nonlocal done
        for i, future in list(pending.items()):
            if block or future.done():
                while True:
                    try:
                        result = future.result(timeout=_PROGRESS_EVERY)
                        break
                    except TimeoutError:
                        tick(done)
                del pending[i]
                sink(i, result)
                done += 1
                tick(done)

    from concurrent.futures import ThreadPoolExecutor  # ~10 ms: not for a status with no hashing

    stop = threading.Event()  # set when this call gives up: workers drop their big files
    with ThreadPoolExecutor(
        workers, thread_name_prefix="lineal-hash", initializer=give_up_with, initargs=(stop,)
    ) as pool:
        try:
            for i, (_, path) in enumerate(todo):
                result = small(path, INLINE_MAX)
                if result is not None:
                    sink(i, result)
                    done += 1
                    inline += 1
                    tick(done)
                else:
                    while not slots.acquire(timeout=_PROGRESS_EVERY):
                        collect(block=False)
                    future = pool.submit(counted, path)
                    future.add_done_callback(lambda _: slots.release())
                    pending[i] = future
                if pending:
                    collect(block=False)
            collect(block=True)
        except BaseException:  # Ctrl-C, or a file that cannot be read
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            tick(inline + finished[0], True)  # those under way were hashed all the same
            raise


def _record_tree(
    stat_cache: StatCache,
    paths: Sequence[Path],
    files: list[tuple[str, str]],
    tree: TreeStats,
    digest: str,
    started_ns: int,
) -> None:
    stat_cache.record_tree(
        tree_key(paths),
        tree.signature(files),
        digest,
        newest_mtime_ns=tree.newest_mtime_ns,
        statted_ns=started_ns,
    )


def snapshot(
    paths: Sequence[Path],
    *,
    objects: ObjectCache | None,
    stat_cache: StatCache | None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SnapshotResult:
    """Snapshot files and folders into a manifest (see the module docstring for the rules)."""
    # A snapshot makes a few small objects per file and no reference cycles; the cyclic
    # collector's full passes over them would make time grow faster than the file count
    # (measured: 20% of a 200,000-file re-snapshot). Paused only while this call runs.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _snapshot(paths, objects, stat_cache, workers, progress)
    finally:
        if paused:
            gc.enable()


def _snapshot(
    paths: Sequence[Path],
    objects: ObjectCache | None,
    stat_cache: StatCache | None,
    workers: int | None,
    progress: Callable[[int, int], None] | None,
) -> SnapshotResult:
    started_ns = time.time_ns()  # before any stat: the racy-clean rule counts from here
    files, skipped = collect(paths)
    total = len(files)
    entries: list[Entry] = []
    todo = files
    cached = 0
    tree = TreeStats(total if stat_cache is not None else 0)  # recorded in the stat cache only
    if stat_cache is not None:
        todo, known = _known(files, stat_cache, tree)
        if objects is not None:  # trust a digest only while its object is still cached
            # and freshened: this snapshot reuses it, so a gc beside it must count it young
            cached_objects = objects.freshen(k[1] for k in known)
            todo.extend(
                (rel, path) for rel, digest, _, path in known if digest not in cached_objects
            )
            known = [k for k in known if k[1] in cached_objects]
            todo.sort()
        entries = [trusted_entry(rel, digest, size) for rel, digest, size, _ in known]
        cached = len(entries)

    last = [0.0]

    def tick(done: int, final: bool = False) -> None:
        if progress is None:
            return
        now = time.monotonic()
        if final or now - last[0] >= _PROGRESS_EVERY or done == len(todo):
            last[0] = now
            progress(cached + done, total)

    # Results are folded in as they come, and stat rows written in batches, so memory holds
    # an Entry per file rather than every file's stat result.
    rows: list[tuple[str, os.stat_result, str]] = []
    counts = [0, 0]  # new objects, bytes hashed
    position = {path: i for i, (_, path) in enumerate(files)} if stat_cache is not None else {}

    def sink(i: int, result: Hashed) -> None:
        digest, size, new, st = result
        rel, path = todo[i]
        entries.append(trusted_entry(rel, digest, size))
        counts[0] += new
        counts[1] += size
        if stat_cache is not None:
            tree.note(position[path], st)
            rows.append((path, st, digest))
            if len(rows) >= _STAT_BATCH:
                stat_cache.update(rows)
                rows.clear()

    tick(0)
    count = DEFAULT_WORKERS if workers is None else workers
    if objects is None:
        _run(todo, hash_file, hash_file, count, tick, sink)
    else:
        with objects.packing():
            _run(todo, objects.ingest, objects.ingest, count, tick, sink)
    manifest = Manifest.from_entries(entries)
    if stat_cache is not None:
        stat_cache.update(rows)
        if tree.complete:  # so that status can see this tree unchanged from stat calls alone
            _record_tree(stat_cache, paths, files, tree, manifest.digest, started_ns)
    return SnapshotResult(
        manifest=manifest,
        files=total,
        hashed=len(todo),
        from_stat_cache=cached,
        new_objects=counts[0],
        bytes_hashed=counts[1],
        skipped=tuple(skipped),
    )
