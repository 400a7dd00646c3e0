"""The local object cache: immutable files named by their sha256, at ``sha256/ab/cdef…``.

Never leaves a partial object under its final name and never modifies an object once written.

Atomicity comes from writing a temp file in ``tmp/`` (same file system) and renaming it into
place, so a writer killed at any moment (even SIGKILL) leaves at most a temp file, which
:meth:`ObjectCache.clean_temp` removes. Files are *not* fsynced one by one: that would make
20,000 small files take minutes. Durability comes from one :meth:`ObjectCache.sync` call, made
by the caller once per snapshot, before it records anything that refers to the new objects.
Objects are read-only (0o444).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import os
import re
import secrets
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, overload

from lineal.errors import IntegrityError, InvalidInput, NotFound, PermissionDenied, StoreUnavailable
from lineal.model.digests import PREFIX, check_digest, is_digest

# Hot paths use os calls on str paths: a Path object per call costs more than the call.
# ruff: noqa: PTH101, PTH103, PTH105, PTH108, PTH110, PTH208

#: Files up to this size are read whole (one read); larger ones stream in CHUNK pieces.
SMALL = 1 << 20
CHUNK = 1 << 20
_HEX = frozenset("0123456789abcdef")
_DIGEST_LINES = re.compile(r"(?:sha256:[0-9a-f]{64}\n)*")
# O_NONBLOCK: opening a fifo that took a file's place must fail fast, not wait for a writer.
_O_READ = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
_O_TEMP = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
#: (digest, size, newly added to the cache, the file's stat taken before it was read)
Hashed = tuple[str, int, bool, os.stat_result]


def _open_source(path: str) -> int:
    try:
        return os.open(path, _O_READ)
    except FileNotFoundError as exc:
        raise NotFound(f"no such file: {path}", hint="check the path") from exc
    except PermissionError as exc:
        raise PermissionDenied(
            f"cannot read {path}: permission denied", hint="make it readable (chmod +r)"
        ) from exc
    except OSError as exc:
        raise InvalidInput(f"cannot open {path}: {exc.strerror}", hint="check the path") from exc


def _check_regular(path: str, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise InvalidInput(f"{path} is not a regular file", hint="give files or folders")


def _check_quiet(path: str, fd: int, before: os.stat_result, nread: int) -> None:
    after = os.fstat(fd)
    if nread != before.st_size or (after.st_size, after.st_mtime_ns) != (
        before.st_size,
        before.st_mtime_ns,
    ):
        raise InvalidInput(
            f"{path} changed while it was read; snapshot again when it is quiet",
            hint="wait until nothing writes to it, then snapshot again",
        )


def _read_small(fd: int, size: int) -> bytes:
    data = os.read(fd, size + 1)
    if len(data) < size:  # a short read: keep reading until EOF or one byte too many
        parts = [data]
        got = len(data)
        while got <= size and (piece := os.read(fd, size + 1 - got)):
            parts.append(piece)
            got += len(piece)
        data = b"".join(parts)
    return data


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _pump(fd: int, out: int | None = None) -> tuple[str, int]:
    """Hash all that is left to read from ``fd`` in CHUNK pieces, copying it to ``out``."""
    hasher = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    total = 0
    with open(fd, "rb", buffering=0, closefd=False) as reader:
        while n := reader.readinto(buf):
            hasher.update(view[:n])
            if out is not None:
                _write_all(out, view[:n])
            total += n
    return PREFIX + hasher.hexdigest(), total


@overload
def hash_file(path: str) -> Hashed: ...
@overload
def hash_file(path: str, up_to: int) -> Hashed | None: ...
def hash_file(path: str, up_to: int | None = None) -> Hashed | None:
    """Hash one file without storing it: ``(digest, size, False, stat taken before reading)``.

    With ``up_to``, a bigger file is left unread and None returned (the caller hands it to a
    thread). Raises InvalidInput if the file changes while it is read. Memory stays under
    2 MiB for any file size.
    """
    fd = _open_source(path)
    try:
        before = os.fstat(fd)
        size = before.st_size
        if up_to is not None and size > up_to:
            return None
        _check_regular(path, before)
        if size <= SMALL:
            data = _read_small(fd, size)
            digest, size = PREFIX + hashlib.sha256(data).hexdigest(), len(data)
        else:
            digest, size = _pump(fd)
        _check_quiet(path, fd, before, size)
        return digest, size, False, before
    finally:
        os.close(fd)


def _hash_path(path: Path) -> str:
    fd = os.open(path, _O_READ)
    try:
        return _pump(fd)[0]
    finally:
        os.close(fd)


class ObjectCache:
    """Objects at ``root/sha256/<2 hex>/<62 hex>``, temp files in ``root/tmp``.

    Safe to share between threads and between processes: every writer has its own temp
    names, and two writers of the same object rename identical bytes over each other.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._objects = self.root / "sha256"
        self._tmp = self.root / "tmp"
        self._objects_str = str(self._objects)
        self._made: set[str] = set()
        self._tmp_str: str | None = None
        self._names = itertools.count()
        self._tag = secrets.token_hex(4)

    def _final(self, digest: str) -> str:
        hexpart = digest[7:]
        return f"{self._objects_str}/{hexpart[:2]}/{hexpart[2:]}"

    def path(self, digest: str) -> Path:
        check_digest(digest)
        return Path(self._final(digest))

    def has(self, digest: str) -> bool:
        check_digest(digest)
        return os.path.exists(self._final(digest))

    def present(self, digests: Iterable[str]) -> set[str]:
        """The ones of ``digests`` in the cache: with many, one listing per fan-out folder
        (far cheaper than a stat per object); with few against a big cache, a stat each."""
        wanted = set(digests)
        if not wanted:
            return set()
        lines = "".join(d + "\n" for d in wanted)  # one regex pass; the length rules out "\n"
        if len(lines) != 72 * len(wanted) or not _DIGEST_LINES.fullmatch(lines):
            for d in wanted:
                check_digest(d)
        folders: dict[str, list[str]] = {}
        for d in wanted:
            folders.setdefault(d[7:9], []).append(d)
        first = next(iter(folders))
        sample = self._listing(first)
        if 256 * len(sample) > 4 * len(wanted):  # the cache is much bigger than the question
            return {d for d in wanted if os.path.exists(self._final(d))}
        found: set[str] = set()
        for folder, members in folders.items():
            names = sample if folder == first else self._listing(folder)
            found.update(d for d in members if d[9:] in names)
        return found

    def _listing(self, folder: str) -> set[str]:
        try:
            return set(os.listdir(f"{self._objects_str}/{folder}"))
        except (FileNotFoundError, NotADirectoryError):
            return set()

    def temp_path(self) -> Path:
        """A fresh temp file name on the cache's file system (the file is not created)."""
        return Path(self._temp_name())

    def _temp_name(self) -> str:
        if self._tmp_str is None:
            self._tmp.mkdir(parents=True, exist_ok=True)
            self._tmp_str = str(self._tmp)
        # The pid lets clean_temp tell a killed writer's leftovers from a live one's.
        return f"{self._tmp_str}/{os.getpid()}-{self._tag}-{next(self._names)}.tmp"

    def _place(self, tmp: str, digest: str, *, known_new: bool = False) -> bool:
        """Rename a finished temp file into place; False (and tmp dropped) if already there."""
        final = self._final(digest)
        if not known_new and os.path.exists(final):
            os.unlink(tmp)
            return False
        folder = final[: final.rfind("/")]
        if folder not in self._made:
            os.makedirs(folder, exist_ok=True)
            self._made.add(folder)
        os.replace(tmp, final)
        return True

    def add_bytes(self, data: bytes) -> str:
        digest = PREFIX + hashlib.sha256(data).hexdigest()
        if not os.path.exists(self._final(digest)):
            self._write_new(data, digest)
        return digest

    def _write_new(self, data: bytes | memoryview, digest: str) -> bool:
        """Write an object the caller just saw missing."""
        tmp = self._temp_name()
        try:
            out = os.open(tmp, _O_TEMP, 0o444)
            try:
                _write_all(out, data)
            finally:
                os.close(out)
            return self._place(tmp, digest, known_new=True)
        except OSError as exc:
            _drop(tmp)
            raise self._write_error(exc) from exc
        except BaseException:
            _drop(tmp)
            raise

    def _write_error(self, exc: OSError) -> Exception:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return StoreUnavailable(
                f"no space left on the device holding the object cache {self.root}",
                hint="free some space (lineal gc removes unreferenced objects), then retry",
            )
        if isinstance(exc, PermissionError):
            return PermissionDenied(
                f"cannot write to the object cache {self.root}: permission denied",
                hint="make the cache folder writable",
            )
        return exc

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
        fd = _open_source(src)
        try:
            before = os.fstat(fd)
            size = before.st_size
            if up_to is not None and size > up_to:
                return None
            _check_regular(src, before)
            if size > SMALL:
                return *self._stream(src, fd, before), before
            data = _read_small(fd, size)
            _check_quiet(src, fd, before, len(data))
            digest = PREFIX + hashlib.sha256(data).hexdigest()
            if os.path.exists(self._final(digest)):
                return digest, len(data), False, before
            return digest, len(data), self._write_new(data, digest), before
        finally:
            os.close(fd)

    def _stream(self, src: str, fd: int, before: os.stat_result) -> tuple[str, int, bool]:
        tmp = self._temp_name()
        try:
            out = os.open(tmp, _O_TEMP, 0o444)
            try:
                digest, total = _pump(fd, out)
            finally:
                os.close(out)
            _check_quiet(src, fd, before, total)
            return digest, total, self._place(tmp, digest)
        except OSError as exc:
            _drop(tmp)
            raise self._write_error(exc) from exc
        except BaseException:
            _drop(tmp)
            raise

    def install(self, tmp: Path, digest: str) -> None:
        """Move a downloaded temp file into place if its bytes hash to ``digest``."""
        check_digest(digest)
        try:
            actual = _hash_path(tmp)
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
            raise _missing(digest) from None

    def read_bytes(self, digest: str) -> bytes:
        with self.open(digest) as f:
            return f.read()

    def verify(self, digest: str) -> bool:
        """Re-hash the stored object: True if its bytes still match its name."""
        try:
            return _hash_path(self.path(digest)) == digest
        except FileNotFoundError:
            raise _missing(digest) from None

    def remove(self, digest: str) -> None:
        try:
            os.unlink(self.path(digest))
        except FileNotFoundError:
            raise _missing(digest) from None

    def digests(self) -> Iterator[str]:
        """Every object present (in no particular order)."""
        for name in self._listing(""):
            if len(name) == 2 and _HEX.issuperset(name):
                found = (f"{PREFIX}{name}{rest}" for rest in self._listing(name))
                yield from (digest for digest in found if is_digest(digest))

    def sync(self) -> None:
        """Make every object written so far durable (one os.sync, not one fsync per file)."""
        os.sync()

    def clean_temp(self) -> int:
        """Remove temp files left by writers that are gone; return how many were removed.

        A temp file whose writer (the pid in its name) still runs on this machine is kept.
        """
        removed = 0
        try:
            entries = list(os.scandir(self._tmp))
        except FileNotFoundError:
            return 0
        for entry in entries:
            pid = entry.name.split("-", 1)[0]
            if not (pid.isdigit() and _alive(int(pid))):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed += 1
        return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, and belongs to someone else
    return True


def _drop(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _missing(digest: str) -> NotFound:
    return NotFound(
        f"object {digest} is not in the local cache",
        hint="pull it from a remote (lineal pull)",
    )
