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
file, which gc removes once it is old). Packs are never modified; ``repack`` writes a new one
with the objects to keep and then deletes the old. A pack's mtime is the age of every object
in it: a writer that reuses one of them touches the pack, and gc leaves young packs alone.
The index checksum catches a damaged index; an object's bytes are checked against its digest
whenever they are copied out (checkout, push, verify).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lineal.errors import IntegrityError

# Hot paths use os calls on str paths, as in lineal.cas.objects.
# ruff: noqa: PTH103, PTH105, PTH108, PTH116, PTH208

#: Objects up to this size go into packs during a packing session.
PACK_OBJECT_MAX = 1 << 20
#: A writer starts a new pack once its current one holds this many bytes.
PACK_TARGET = 512 << 20
HEADER = b"LNPK" + struct.pack("<I", 1)
_ENTRY = struct.Struct("<32sQQ")
_FOOTER = struct.Struct("<QQ32s8s")
_END = b"LNPKEND1"
SUFFIX = ".pack"
#: Start writing a pack's pages to disk every this many bytes, so the final fsync is short.
_WRITEBACK_EVERY = 8 << 20
_BUFFER = 1 << 20
#: Told how many objects are done so far (objects removed, by a repack).
Counted = Callable[[int], None]


def uncounted(done: int) -> None:
    """A Counted that keeps no count."""


def _damaged(path: str, why: str) -> IntegrityError:
    return IntegrityError(
        f"the pack {path} is damaged ({why})",
        hint="move it out of .lineal/objects/packs and `lineal pull` the data again",
    )


def read_index(path: str) -> list[tuple[bytes, int, int]]:
    """The ``(raw sha256, offset, size)`` entries of a pack, checked against its footer."""
    with open(path, "rb") as f:  # noqa: PTH123 (a str path on a hot path)
        end = f.seek(0, os.SEEK_END)
        if end < len(HEADER) + _FOOTER.size:
            raise _damaged(path, "too short")
        f.seek(end - _FOOTER.size)
        offset, count, checksum, magic = _FOOTER.unpack(f.read(_FOOTER.size))
        if magic != _END or offset + count * _ENTRY.size != end - _FOOTER.size:
            raise _damaged(path, "bad footer")
        f.seek(offset)
        table = f.read(count * _ENTRY.size)
    if hashlib.sha256(table).digest() != checksum:
        raise _damaged(path, "index checksum mismatch")
    entries = list(_ENTRY.iter_unpack(table))
    if any(o + s > offset or o < len(HEADER) for _, o, s in entries):
        raise _damaged(path, "an object lies outside the pack")
    return entries


class PackWriter:
    """Appends objects to a temp file; :meth:`finish` seals it and renames it into place."""

    def __init__(self, temp: str, folder: str) -> None:
        self._temp = temp
        self._folder = folder
        self._fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
        self._buffer = bytearray()  # one write per MiB, not one per small object
        self._pos = 0
        self._flushed = 0
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
        if self._pos - self._flushed >= _WRITEBACK_EVERY:
            # Linux starts writing these pages back now (and drops them once clean), so the
            # fsync in finish() waits for the last few MiB rather than the whole pack.
            os.posix_fadvise(
                self._fd, self._flushed, self._pos - self._flushed, os.POSIX_FADV_DONTNEED
            )
            self._flushed = self._pos

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


class Packing:
    """One snapshot's packs: a writer per hashing thread, sealed together at the end."""

    def __init__(self, temp_name: Callable[[], str], folder: str) -> None:
        self._temp_name = temp_name
        self._folder = folder
        self._local = threading.local()
        self._lock = threading.Lock()
        self._writers: list[PackWriter] = []
        self.added: set[bytes] = set()

    def claim(self, raw: bytes) -> bool:
        """True unless a thread of this snapshot has packed ``raw`` already.

        Lock-free: the set only grows, so if ``raw`` is new the size grows past what it was
        here; a race can only make two threads both pack it (harmless), never neither.
        """
        added = self.added
        before = len(added)
        added.add(raw)
        return len(added) != before

    def add(self, raw: bytes, data: bytes) -> None:
        writer: PackWriter | None = getattr(self._local, "writer", None)
        if writer is not None and writer.size >= PACK_TARGET:
            with self._lock:
                self._writers.remove(writer)
            writer.finish()
            writer = None
        if writer is None:
            writer = PackWriter(self._temp_name(), self._folder)
            self._local.writer = writer
            with self._lock:
                self._writers.append(writer)
        writer.add(raw, data)

    def finish(self) -> None:
        for writer in self._writers:
            writer.finish()
        self._writers.clear()

    def abort(self) -> None:
        for writer in self._writers:
            writer.abort()
        self._writers.clear()


@dataclass(frozen=True, slots=True)
class Located:
    pack: str
    offset: int
    size: int


class PackSet:
    """Every pack in a folder, indexed by raw digest; reloads when packs come or go."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._names: frozenset[str] = frozenset()
        self._where: dict[bytes, tuple[str, int, int]] = {}
        self._loaded = False

    def _listing(self) -> frozenset[str]:
        try:
            return frozenset(n for n in os.listdir(self.folder) if n.endswith(SUFFIX))
        except FileNotFoundError:
            return frozenset()

    def refresh(self) -> bool:
        """Load packs written since the last look, forget removed ones; True if any changed."""
        with self._lock:
            names = self._listing()
            if self._loaded and names == self._names:
                return False
            gone = self._names - names
            if gone:
                paths = {f"{self.folder}/{n}" for n in gone}
                self._where = {k: v for k, v in self._where.items() if v[0] not in paths}
            for name in sorted(names - self._names):
                path = f"{self.folder}/{name}"
                try:
                    entries = read_index(path)
                except FileNotFoundError:
                    continue  # removed by a repack since the listing
                self._where.update((raw, (path, off, size)) for raw, off, size in entries)
            self._names = names
            self._loaded = True
            return True

    def _ensure(self) -> None:
        if not self._loaded:
            self.refresh()

    def find(self, raw: bytes) -> Located | None:
        self._ensure()
        hit = self._where.get(raw)
        if hit is None and self.refresh():
            hit = self._where.get(raw)
        return None if hit is None else Located(*hit)

    def holder(self, raw: bytes) -> str | None:
        """The path of a loaded pack holding ``raw`` (no reload, as :meth:`contains`)."""
        self._ensure()
        hit = self._where.get(raw)
        return None if hit is None else hit[0]

    def contains(self, raw: bytes) -> bool:
        """Whether a loaded pack holds ``raw`` (no reload: for bulk checks after one refresh)."""
        self._ensure()
        return raw in self._where

    def digests(self) -> Iterator[bytes]:
        self.refresh()
        return iter(list(self._where))

    def packs(self) -> dict[str, list[tuple[bytes, int, int]]]:
        """Each pack's path and the entries it holds (from the loaded indexes)."""
        self.refresh()
        found: dict[str, list[tuple[bytes, int, int]]] = {}
        for raw, (path, off, size) in self._where.items():
            found.setdefault(path, []).append((raw, off, size))
        for name in self._names:
            found.setdefault(f"{self.folder}/{name}", [])
        return found

    def read(self, raw: bytes) -> bytes | None:
        """The bytes of a packed object (unchecked), or None if no pack holds it."""
        for _ in range(2):
            where = self.find(raw)
            if where is None:
                return None
            try:
                fd = os.open(where.pack, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                self.refresh()  # a repack replaced it: look again
                continue
            try:
                data = os.pread(fd, where.size, where.offset)
            finally:
                os.close(fd)
            if len(data) != where.size:
                raise _damaged(where.pack, "truncated")
            return data
        return None


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
                            raise _damaged(path, f"object sha256:{raw.hex()} does not match")
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
