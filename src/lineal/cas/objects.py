"""The local object cache: immutable files named by their sha256, at ``sha256/ab/cdef…``.

Never leaves a partial object under its final name, never changes an object's bytes.

Atomicity comes from writing a temp file in ``tmp/`` (same file system) and renaming it into
place, so a writer killed at any moment (even SIGKILL) leaves at most a temp file, which gc
removes once it is old (lineal.cas.prune). Objects are read-only (0o444). Beside gc, a writer
holds the cache's lock shared (:meth:`ObjectCache.writing`) until it has recorded what it
wrote, and *freshens* an object it finds there and reuses (its loose file, or the pack holding
it, gets a new mtime, as git does), so a gc that cannot see the lock still keeps it.

Inside :meth:`ObjectCache.packing` (a snapshot), objects up to ``PACK_OBJECT_MAX`` go into
packs (:mod:`lineal.cas.packs`), one per hashing thread (:mod:`lineal.cas.packing`), not a
file each; bigger ones stay loose files, copied while hashed; small packs are merged as they
pile up (:mod:`lineal.cas.repacking`). Packs are fsynced when sealed; loose files not one by
one, but by one :meth:`ObjectCache.sync`, made before anything naming them is recorded.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from io import BytesIO
from pathlib import Path
from typing import BinaryIO, overload

from lineal.cas.hashing import (
    O_TEMP,
    SMALL,
    Hashed,
    check_quiet,
    hash_path,
    make_durable,
    open_source,
    pump,
    read_small,
    stat_to_read,
    write_all,
    write_error,
)
from lineal.cas.lock import held, quiet
from lineal.cas.packing import Packing
from lineal.cas.packs import PACK_OBJECT_MAX, shared
from lineal.cas.repacking import auto_repack
from lineal.errors import IntegrityError, NotFound
from lineal.model.digests import PREFIX, check_digest, is_digest

# Hot paths use os calls on str paths: a Path object per call costs more than the call.
# ruff: noqa: PTH101, PTH103, PTH105, PTH108, PTH110, PTH116, PTH208

_HEX = frozenset("0123456789abcdef")
_DIGEST_LINES = re.compile(r"(?:sha256:[0-9a-f]{64}\n)*")


def _raw(digest: str) -> bytes:
    return bytes.fromhex(digest[7:])


class ObjectCache:
    """Loose objects at ``root/sha256/<2 hex>/<62 hex>``, packs in ``root/packs``, temp files
    in ``root/tmp``.

    Safe to share between threads and between processes: every writer has its own temp
    names, two writers of the same object rename identical bytes over each other, and a pack
    is visible only once it is whole.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._objects = self.root / "sha256"
        self.temp_folder = self.root / "tmp"
        self._objects_str = str(self._objects)
        self.packs = shared(str(self.root / "packs"))
        self._packing: Packing | None = None
        self._unsynced: list[str] = []
        self._made: set[str] = set()
        self._folders: set[str] | None = None
        self._touched: set[str] = set()  # packs freshened by this instance
        self._tmp_str: str | None = None
        self._names = itertools.count()
        self._tag = os.urandom(4).hex()  # not secrets: it imports ~5 ms of modules

    def writing(self, waiting: Callable[[], None] = quiet) -> AbstractContextManager[None]:
        """Hold the cache's lock shared (see lineal.cas.lock), from before a writer looks for
        objects until it has recorded what it wrote or reused; ``waiting()``: gc holds it."""
        return held(self.root, exclusive=False, waiting=waiting)

    def _final(self, digest: str) -> str:
        hexpart = digest[7:]
        return f"{self._objects_str}/{hexpart[:2]}/{hexpart[2:]}"

    def path(self, digest: str) -> Path:
        """Where the loose file of ``digest`` lives (packed objects have none: see loose)."""
        check_digest(digest)
        return Path(self._final(digest))

    def loose(self, digest: str) -> Path | None:
        """The loose file holding ``digest``, or None (packed, or not in the cache)."""
        path = self.path(digest)
        return path if os.path.exists(path) else None

    def has(self, digest: str) -> bool:
        check_digest(digest)
        return os.path.exists(self._final(digest)) or self.packs.holds(_raw(digest))

    def present(self, digests: Iterable[str]) -> set[str]:
        """The ones of ``digests`` in the cache: packed ones from the pack indexes; loose ones,
        with many, by one listing per fan-out folder (far cheaper than a stat per object),
        with few against a big cache, by a stat each."""
        wanted = set(digests)
        if not wanted:
            return set()
        lines = "".join(d + "\n" for d in wanted)  # one regex pass; the length rules out "\n"
        if len(lines) != 72 * len(wanted) or not _DIGEST_LINES.fullmatch(lines):
            for d in wanted:
                check_digest(d)
        self.packs.refresh()
        found = {d for d in wanted if self.packs.contains(_raw(d))}
        wanted -= found
        if not wanted:
            return found
        folders: dict[str, list[str]] = {}
        for d in wanted:
            folders.setdefault(d[7:9], []).append(d)
        first = next(iter(folders))
        sample = self._listing(first)
        if 256 * len(sample) > 4 * len(wanted):  # the cache is much bigger than the question
            return found | {d for d in wanted if os.path.exists(self._final(d))}
        for folder, members in folders.items():
            names = sample if folder == first else self._listing(folder)
            found.update(d for d in members if d[9:] in names)
        return found

    def missing(self, digests: Iterable[str]) -> list[str]:
        """The ones of ``digests`` not in the cache, in the order given (one :meth:`present`
        call, not a lookup each: a miss in a pack index means reading the packs folder)."""
        wanted = list(digests)
        have = self.present(wanted)
        return [d for d in wanted if d not in have]

    def _fanout(self) -> set[str]:
        """The loose fan-out folders, listed once: a digest whose folder is missing needs no
        stat. A folder made later by another process can only cost a duplicate in a pack."""
        if self._folders is None:
            self._folders = self._listing("")
        return self._folders

    def _listing(self, folder: str) -> set[str]:
        try:
            return set(os.listdir(f"{self._objects_str}/{folder}"))
        except (FileNotFoundError, NotADirectoryError):
            return set()

    def freshen(self, digests: Iterable[str]) -> set[str]:
        """The ones of ``digests`` in the cache, each freshened (see the module docstring): a
        writer about to record objects it did not write calls this. One that cannot be
        freshened (another user's) counts as absent: the writer stores its own copy."""
        return {d for d in self.present(digests) if self._reuse(_raw(d), self._final(d))}

    def _reuse(self, raw: bytes, final: str) -> bool:
        """Freshen the pack holding ``raw`` (once per pack) or else its loose file ``final``;
        False if neither is there to freshen."""
        for _ in range(2):  # a pack merged away since it was indexed: look again, once
            pack = self.packs.holder(raw)
            if pack is not None and (pack in self._touched or _touch(pack)):
                self._touched.add(pack)  # set.add is atomic: threads may share the cache
                return True
            if pack is None or not self.packs.refresh():
                break
        return _touch(final)

    def temp_path(self) -> Path:
        """A fresh temp file name on the cache's file system (the file is not created)."""
        return Path(self.temp_name())

    def temp_name(self) -> str:
        if self._tmp_str is None:
            self.temp_folder.mkdir(parents=True, exist_ok=True)
            self._tmp_str = str(self.temp_folder)
        # Unique per writer: the pid, a random tag (pids repeat across machines), a count.
        return f"{self._tmp_str}/{os.getpid()}-{self._tag}-{next(self._names)}.tmp"

    def _place(self, tmp: str, digest: str, *, known_new: bool = False) -> bool:
        """Rename a finished temp file into place; False (and tmp dropped) if already there."""
        final = self._final(digest)
        if not known_new and _touch(final):  # there already: reused, so freshened
            os.unlink(tmp)
            return False
        folder = final[: final.rfind("/")]
        if folder not in self._made:
            os.makedirs(folder, exist_ok=True)
            self._made.add(folder)
            self._fanout().add(folder[-2:])
        os.replace(tmp, final)
        self._unsynced.append(final)  # list.append is atomic: threads may share the cache
        return True

    def add_bytes(self, data: bytes) -> str:
        """Store ``data`` as a loose object (manifests, reports). Only loose copies are looked
        for: reading the pack indexes for one object would cost more than a duplicate."""
        digest = PREFIX + hashlib.sha256(data).hexdigest()
        if not _touch(self._final(digest)):  # there already: reused, so freshened
            self._write_new(data, digest)
        return digest

    def _write_new(self, data: bytes | memoryview, digest: str) -> bool:
        """Write an object the caller just saw missing."""
        tmp = self.temp_name()
        try:
            out = os.open(tmp, O_TEMP, 0o444)
            try:
                write_all(out, data)
            finally:
                os.close(out)
            return self._place(tmp, digest, known_new=True)
        except OSError as exc:
            _drop(tmp)
            raise write_error(exc, self.root) from exc
        except BaseException:
            _drop(tmp)
            raise

    @contextmanager
    def packing(self) -> Iterator[None]:
        """Within this block, :meth:`ingest` puts small new objects into packs, sealed (and
        fsynced) when the block ends; if it raises, the unsealed packs are dropped.

        The packs sealed here are not indexed in memory (200,000 objects would hold ~40 MB
        through the rest of the snapshot): a later look finds them on disk.
        """
        self.packs.refresh()  # what earlier snapshots sealed counts as present
        session = Packing(self.temp_name, self.packs.folder)
        self._packing = session
        try:
            yield
        except BaseException:
            self._packing = None
            session.abort()
            raise
        self._packing = None
        try:
            if session.finish():  # sealed a pack: merge small ones if they piled up
                auto_repack(self.packs, self.root, self.temp_name)
        except OSError as exc:
            session.abort()
            raise write_error(exc, self.root) from exc

    def add_file(self, src: Path) -> tuple[str, int, bool]:
        """Copy a file into the cache, reading it once: ``(digest, size, newly_added)``."""
        digest, size, new, _ = self.ingest(str(src))
        return digest, size, new

    @overload
    def ingest(self, src: str) -> Hashed: ...
    @overload
    def ingest(self, src: str, up_to: int) -> Hashed | None: ...
    def ingest(self, src: str, up_to: int | None = None) -> Hashed | None:
        """:meth:`add_file`, also returning the stat taken before reading (see hash_file)."""
        fd = open_source(src)
        try:
            before = stat_to_read(src, fd, up_to)
            if before is None:
                return None
            size = before.st_size
            if size > SMALL:
                return *self._stream(src, fd, before), before
            data = read_small(fd, size)
            check_quiet(src, fd, before, len(data))
        finally:
            os.close(fd)
        raw = hashlib.sha256(data).digest()
        digest = PREFIX + raw.hex()
        packing = self._packing
        if (self.packs.contains(raw) or digest[7:9] in self._fanout()) and self._reuse(
            raw, self._final(digest)
        ):
            return digest, len(data), False, before
        if packing is None or len(data) > PACK_OBJECT_MAX:
            return digest, len(data), self._write_new(data, digest), before
        if not packing.claim(raw):
            return digest, len(data), False, before
        try:
            packing.add(raw, data)
        except OSError as exc:
            raise write_error(exc, self.root) from exc
        return digest, len(data), True, before

    def _stream(self, src: str, fd: int, before: os.stat_result) -> tuple[str, int, bool]:
        tmp = self.temp_name()
        try:
            out = os.open(tmp, O_TEMP, 0o444)
            try:
                digest, total = pump(fd, out)
            finally:
                os.close(out)
            check_quiet(src, fd, before, total)
            return digest, total, self._place(tmp, digest)
        except OSError as exc:
            _drop(tmp)
            raise write_error(exc, self.root) from exc
        except BaseException:
            _drop(tmp)
            raise

    def install(self, tmp: Path, digest: str) -> None:
        """Move a downloaded temp file into place if its bytes hash to ``digest``."""
        check_digest(digest)
        try:
            actual = hash_path(tmp)
        except BaseException:
            _drop(str(tmp))
            raise
        if actual != digest:
            _drop(str(tmp))
            raise IntegrityError(
                f"object {digest} arrived with other bytes (they hash to {actual})",
                hint="the remote copy is damaged: push it again from a cache that has it",
            )
        os.chmod(tmp, 0o444)
        self._place(str(tmp), digest)

    def open(self, digest: str) -> BinaryIO:
        try:
            return self.path(digest).open("rb")
        except FileNotFoundError:
            data = self.packs.read(_raw(digest))
            if data is None:
                raise _missing(digest) from None
            return BytesIO(data)

    def read_bytes(self, digest: str) -> bytes:
        with self.open(digest) as f:
            return f.read()

    def size(self, digest: str) -> int:
        try:
            return os.stat(self._final(digest)).st_size
        except FileNotFoundError:
            where = self.packs.find(_raw(digest))
            if where is None:
                raise _missing(digest) from None
            return where.size

    def verify(self, digest: str) -> bool:
        """Re-hash the stored object: True if its bytes still match its name."""
        loose = self.loose(digest)
        if loose is not None:
            return hash_path(loose) == digest
        return PREFIX + hashlib.sha256(self.read_bytes(digest)).hexdigest() == digest

    def digests(self) -> Iterator[str]:
        """Every object present, loose or packed, each once (in no particular order)."""
        seen: set[str] = set()
        for name in self._listing(""):
            if len(name) == 2 and _HEX.issuperset(name):
                found = (f"{PREFIX}{name}{rest}" for rest in self._listing(name))
                for digest in found:
                    if is_digest(digest):
                        seen.add(digest)
                        yield digest
        for raw in self.packs.digests():
            digest = PREFIX + raw.hex()
            if digest not in seen:
                yield digest

    def sync(self) -> None:
        """Make every loose object written so far durable (packs are fsynced when sealed)."""
        pending, self._unsynced = self._unsynced, []
        make_durable(pending)


def _touch(path: str) -> bool:
    """Give ``path`` the current time as mtime; False if it is gone or not ours to touch."""
    try:
        os.utime(path)
    except OSError as exc:
        if exc.errno == errno.EROFS:
            return True  # on a read-only file system nothing can remove it either
        if exc.errno in {errno.ENOENT, errno.EPERM, errno.EACCES}:
            return False
        raise
    return True


def _drop(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _missing(digest: str) -> NotFound:
    return NotFound(
        f"object {digest} is not in the local cache",
        hint="pull it from a remote (lineal pull)",
    )
