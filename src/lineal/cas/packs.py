"""Packs: many small objects in one immutable file.

A snapshot of 20,000 small files would otherwise create 20,000 files in the cache, and on
ext4 creating a file costs more than reading and hashing 4 KiB; git packs its objects for the
same reason. Objects up to :data:`PACK_OBJECT_MAX` that a snapshot adds go into packs; bigger
ones stay loose files (they cost one create each, and checkout can copy them whole).

Layout of a pack (integers unsigned little-endian)::

    b"LNPK" u32 version                 header, 8 bytes
    object bytes, one after another     each object once
    index: count x (32-byte sha256, u64 offset, u64 size), sorted by digest
    footer: u64 index offset, u64 count, 32-byte sha256 of the index, b"LNPKEND1"

A pack is written as a temp file and renamed into ``packs/`` only when complete and fsynced,
so a pack under its final name is always whole (a writer killed at any moment leaves a temp
file, which gc removes once it is old). Packs are never modified, and a pack's name is its
index's checksum: an index read once stays true while the pack is there, so a process reads
each pack's index once (:func:`shared`, :meth:`PackSet.refresh`), not once per command.
``repack`` (gc) writes a new pack with the objects to keep and then deletes the old one.
A pack's mtime is the age of every object in it: a writer that reuses one of them touches the
pack, and gc leaves young packs alone. The index checksum catches a damaged index; an
object's bytes are checked against its digest whenever they are copied out (checkout, push,
verify, a merge).

A snapshot's writers are :mod:`lineal.cas.packing`'s; many small snapshots each seal a small
pack, and :mod:`lineal.cas.repacking` merges them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lineal.errors import IntegrityError

# Hot paths use os calls on str paths, as in lineal.cas.objects.
# ruff: noqa: PTH103, PTH105, PTH108, PTH110, PTH208

#: Objects up to this size go into packs during a packing session.
PACK_OBJECT_MAX = 1 << 20
HEADER = b"LNPK" + struct.pack("<I", 1)
_ENTRY = struct.Struct("<32sQQ")
_FOOTER = struct.Struct("<QQ32s8s")
_END = b"LNPKEND1"
SUFFIX = ".pack"
_BUFFER = 1 << 20
#: Told how many objects are done so far (objects removed, by a repack).
Counted = Callable[[int], None]


def uncounted(done: int) -> None:
    """A Counted that keeps no count."""


def damaged(path: str, why: str) -> IntegrityError:
    return IntegrityError(
        f"the pack {path} is damaged ({why})",
        hint="move it out of .lineal/objects/packs and `lineal pull` the data again",
    )


def read_index(path: str) -> list[tuple[bytes, int, int]]:
    """The ``(raw sha256, offset, size)`` entries of a pack, checked against its footer."""
    with open(path, "rb") as f:  # noqa: PTH123 (a str path on a hot path)
        end = f.seek(0, os.SEEK_END)
        if end < len(HEADER) + _FOOTER.size:
            raise damaged(path, "too short")
        f.seek(end - _FOOTER.size)
        offset, count, checksum, magic = _FOOTER.unpack(f.read(_FOOTER.size))
        if magic != _END or offset + count * _ENTRY.size != end - _FOOTER.size:
            raise damaged(path, "bad footer")
        f.seek(offset)
        table = f.read(count * _ENTRY.size)
    if hashlib.sha256(table).digest() != checksum:
        raise damaged(path, "index checksum mismatch")
    entries = list(_ENTRY.iter_unpack(table))
    if any(o + s > offset or o < len(HEADER) for _, o, s in entries):
        raise damaged(path, "an object lies outside the pack")
    return entries


class PackWriter:
    """Appends objects to a temp file; :meth:`finish` seals it and renames it into place."""

    def __init__(self, temp: str, folder: str) -> None:
        self._temp = temp
        self._folder = folder
        self._fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
        self._buffer = bytearray()  # one write per MiB, not one per small object
        self._pos = 0
        self._entries: list[tuple[bytes, int, int]] = []
        self._write(HEADER)

    @property
    def size(self) -> int:
        return self._pos

    def _write(self, data: bytes | memoryview) -> None:
        self._buffer += data
        self._pos += len(data)
        if len(self._buffer) >= _BUFFER:
            self._drain()

    def _drain(self) -> None:
        view = memoryview(self._buffer)
        while view:
            view = view[os.write(self._fd, view) :]
        view.release()
        self._buffer.clear()

    def add(self, raw: bytes, data: bytes) -> tuple[int, int]:
        """Append one object (``raw``: its 32-byte sha256); returns its (offset, size)."""
        at = self._pos
        self._write(data)
        self._entries.append((raw, at, len(data)))
        return at, len(data)

    def finish(self) -> tuple[str, list[tuple[bytes, int, int]]]:
        """Write index and footer, fsync, rename into the folder: ``(final path, entries)``."""
        try:
            self._entries.sort()
            table = b"".join(_ENTRY.pack(*e) for e in self._entries)
            checksum = hashlib.sha256(table).digest()
            offset = self._pos
            self._write(table)
            self._write(_FOOTER.pack(offset, len(self._entries), checksum, _END))
            self._drain()
            os.fsync(self._fd)
        finally:
            os.close(self._fd)
        final = f"{self._folder}/pack-{checksum.hex()[:40]}{SUFFIX}"
        os.makedirs(self._folder, exist_ok=True)
        os.replace(self._temp, final)
        dir_fd = os.open(self._folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a power cut
        finally:
            os.close(dir_fd)
        return final, self._entries

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._temp)


@dataclass(frozen=True, slots=True)
class Located:
    pack: str
    offset: int
    size: int


class PackSet:
    """Every pack in a folder, indexed by raw digest.

    :meth:`refresh` lists the folder and reads the index of each pack not seen before, once:
    a pack under its final name never changes (its name is its index's checksum), so an index
    once read stays true until the pack goes, and then only its entries are dropped.
    """

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._names: frozenset[str] = frozenset()
        self._where: dict[bytes, tuple[str, int, int]] = {}
        self._entries: dict[str, list[tuple[bytes, int, int]]] = {}  # path -> its index
        self._loaded = False

    def listing(self) -> frozenset[str]:
        """The names of the packs in the folder now (one directory read)."""
        try:
            return frozenset(n for n in os.listdir(self.folder) if n.endswith(SUFFIX))
        except FileNotFoundError:
            return frozenset()

    def refresh(self) -> bool:
        """Load packs written since the last look, forget removed ones; True if any changed.

        A pack listed but gone when its index is read was merged away meanwhile (gc, a
        writer's merge), and the pack now holding its objects was renamed in before it went,
        perhaps after the listing: the folder is listed again, for as long as that changes.
        """
        with self._lock:
            changed, before, listed = False, None, self.listing()
            while listed != before and not (self._loaded and listed == self._names):
                names = (listed & self._names) | {
                    n for n in sorted(listed - self._names) if self._load(n)
                }
                self._forget({f"{self.folder}/{n}" for n in self._names - names})
                changed = changed or not self._loaded or names != self._names
                self._names, self._loaded = names, True
                # A listed pack gone: look again (the same listing: a link to nothing, say).
                before, listed = listed, listed if names == listed else self.listing()
            return changed

    def _load(self, name: str) -> bool:
        """Read the index of the pack ``name``; False if it is gone (a repack removed it)."""
        path = f"{self.folder}/{name}"
        try:
            entries = read_index(path)
        except FileNotFoundError:
            return False
        self._entries[path] = entries
        self._where.update((raw, (path, off, size)) for raw, off, size in entries)
        return True

    def _forget(self, paths: set[str]) -> None:
        """Drop the entries of removed packs; an object another pack also holds (a repack's
        output beside its sources) points there instead."""
        orphans: set[bytes] = set()
        for path in paths:
            for raw, _, _ in self._entries.pop(path, []):
                hit = self._where.get(raw)
                if hit is not None and hit[0] == path:
                    del self._where[raw]
                    orphans.add(raw)
        if not orphans:
            return
        for path, entries in self._entries.items():
            for raw, off, size in entries:
                if raw in orphans:
                    self._where[raw] = (path, off, size)

    def adopt(self, path: str, entries: list[tuple[bytes, int, int]]) -> None:
        """Index a pack this process has just sealed at ``path`` without reading it back."""
        with self._lock:
            name = path.rsplit("/", 1)[-1]
            if not self._loaded or name in self._names:
                return
            self._entries[path] = entries
            self._where.update((raw, (path, off, size)) for raw, off, size in entries)
            self._names = self._names | {name}

    def _ensure(self) -> None:
        if not self._loaded:
            self.refresh()

    def find(self, raw: bytes) -> Located | None:
        self._ensure()
        hit = self._where.get(raw)
        if hit is None:  # one read of the folder, only on a miss
            self.refresh()  # (False too if another thread has just loaded what is new)
            hit = self._where.get(raw)
        return None if hit is None else Located(*hit)

    def holder(self, raw: bytes) -> str | None:
        """The path of a loaded pack holding ``raw`` (no reload, as :meth:`contains`)."""
        self._ensure()
        hit = self._where.get(raw)
        return None if hit is None else hit[0]

    def holds(self, raw: bytes) -> bool:
        """Whether a pack holds ``raw`` now. The indexes are the process's (:func:`shared`):
        a pack they name may have gone since (gc, a merge), so a hit counts while it is there."""
        hit = self.holder(raw)
        if hit is not None and os.path.exists(hit):
            return True
        self.refresh()
        return raw in self._where

    def contains(self, raw: bytes) -> bool:
        """Whether a loaded pack holds ``raw`` (no reload: for bulk checks after one refresh)."""
        self._ensure()
        return raw in self._where

    def digests(self) -> Iterator[bytes]:
        self.refresh()
        with self._lock:
            return iter(list(self._where))

    def packs(self) -> dict[str, list[tuple[bytes, int, int]]]:
        """Each pack's path and the entries it holds (from the loaded indexes)."""
        self.refresh()
        with self._lock:
            return dict(self._entries)

    def read(self, raw: bytes) -> bytes | None:
        """The bytes of a packed object (unchecked), or None if no pack holds it.

        A pack may go while this looks (a repack moved its objects into a new one): the
        folder is read again and the object looked for anew, until no pack changes.
        """
        while True:
            where = self.find(raw)
            if where is None:
                return None
            try:
                fd = os.open(where.pack, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                if not self.refresh():  # gone, yet still listed: moved meanwhile, look again
                    self._drop_missing(where.pack)
                continue
            try:
                data = os.pread(fd, where.size, where.offset)
            finally:
                os.close(fd)
            if len(data) != where.size:
                raise damaged(where.pack, "truncated")
            return data

    def _drop_missing(self, path: str) -> None:
        """Forget a pack that could not be opened although the last listing had it."""
        with self._lock:
            name = path.rsplit("/", 1)[-1]
            if name in self._names:
                self._forget({path})
                self._names = self._names - {name}


class _Shared:
    """The PackSets of this process, by folder."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sets: dict[str, PackSet] = {}


_shared = _Shared()


def shared(folder: str) -> PackSet:
    """This process's one :class:`PackSet` of ``folder``: every cache object opened on the
    same folder shares its indexes, so each pack's index is read once per process."""
    key = str(Path(folder).absolute())
    with _shared.lock:
        found = _shared.sets.get(key)
        if found is None:
            found = _shared.sets[key] = PackSet(folder)
        return found


def _after_fork() -> None:
    # A thread of the parent may have held a lock at the fork: the child's copies start free.
    _shared.lock = threading.Lock()
    for packs in _shared.sets.values():
        packs._lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork)
