"""File work under the object cache: reading files to hash them (copying them as they go,
never trusting a file that changed while it was read), making writes durable, and the errors
a failed write raises."""

from __future__ import annotations

import errno
import hashlib
import itertools
import os
import stat
import threading
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, overload

from lineal.errors import InvalidInput, NotFound, PermissionDenied, StoreUnavailable
from lineal.model.digests import PREFIX

if TYPE_CHECKING:
    from concurrent.futures import Future

#: Files up to this size are read whole (one read); larger ones stream in CHUNK pieces.
SMALL = 1 << 20
CHUNK = 1 << 20
_BUFFERS = 4  # pieces in flight: one read ahead, one hashed, up to two being written
_WRITEBACK_EVERY = 8 << 20
# O_NONBLOCK: opening a fifo that took a file's place must fail fast, not wait for a writer.
_O_READ = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
O_TEMP = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
#: (digest, size, newly added to the cache, the file's stat taken before it was read)
Hashed = tuple[str, int, bool, os.stat_result]


def open_source(path: str) -> int:
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


def check_regular(path: str, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise InvalidInput(f"{path} is not a regular file", hint="give files or folders")


def check_quiet(path: str, fd: int, before: os.stat_result, nread: int) -> None:
    after = os.fstat(fd)
    if nread != before.st_size or (after.st_size, after.st_mtime_ns) != (
        before.st_size,
        before.st_mtime_ns,
    ):
        raise InvalidInput(
            f"{path} changed while it was read; snapshot again when it is quiet",
            hint="wait until nothing writes to it, then snapshot again",
        )


def read_small(fd: int, size: int) -> bytes:
    data = os.read(fd, size + 1)
    if len(data) < size:  # a short read: keep reading until EOF or one byte too many
        parts = [data]
        got = len(data)
        while got <= size and (piece := os.read(fd, size + 1 - got)):
            parts.append(piece)
            got += len(piece)
        data = b"".join(parts)
    return data


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class Abandoned(Exception):
    """Raised by :func:`pump` in a thread whose caller gave up on it (see give_up_with)."""


_thread = threading.local()


def give_up_with(event: threading.Event) -> None:
    """Make :func:`pump` in this thread stop, between two pieces, once ``event`` is set.

    For the worker threads of a snapshot: on Ctrl-C the snapshot sets the event, so a worker
    halfway through a many-GB file stops there instead of holding the exit back.
    """
    _thread.give_up = event


def pump(fd: int, out: int | None = None) -> tuple[str, int]:
    """Hash all that is left to read from ``fd`` in CHUNK pieces, copying it to ``out``.

    Three stages overlap, each on its own thread (all release the GIL): one thread reads
    the next piece while this one hashes the current one, and, when copying, a third writes
    the one before. Reading from the page cache costs about half as much as hashing on this
    kind of machine, so hashing alone sets the pace and a 1 GiB file hashes faster than
    ``openssl dgst`` (which reads and hashes in turn).
    """
    from concurrent.futures import ThreadPoolExecutor  # only for files bigger than SMALL

    hasher = hashlib.sha256()
    total = 0
    views = [memoryview(bytearray(CHUNK)) for _ in range(_BUFFERS)]
    sink = None if out is None else _Sink(out)
    writes: deque[tuple[int, Future[None]]] = deque()  # (piece number, its write)
    give_up: threading.Event | None = getattr(_thread, "give_up", None)
    with (
        open(fd, "rb", buffering=0, closefd=False) as reader,
        ThreadPoolExecutor(1, thread_name_prefix="lineal-read") as reading,
        ThreadPoolExecutor(1, thread_name_prefix="lineal-write") as writing,
    ):
        ahead = reading.submit(reader.readinto, views[0])
        for i in itertools.count():
            n = ahead.result()
            if not n:
                break
            if give_up is not None and give_up.is_set():
                raise Abandoned
            while writes and writes[0][0] <= i + 1 - _BUFFERS:
                writes.popleft()[1].result()  # the buffer read next is written out
            ahead = reading.submit(reader.readinto, views[(i + 1) % _BUFFERS])
            piece = views[i % _BUFFERS][:n]
            hasher.update(piece)
            if sink is not None:
                writes.append((i, writing.submit(sink.write, piece)))
            total += n
        for _, write in writes:
            write.result()
    return PREFIX + hasher.hexdigest(), total


class _Sink:
    """Writes pieces to a new object file and starts their write-back as it goes, so that
    the fsync made before recording waits for the last few MiB, not for the whole file."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pos = 0
        self.flushed = 0

    def write(self, piece: memoryview) -> None:
        write_all(self.fd, piece)
        self.pos += len(piece)
        if self.pos - self.flushed >= _WRITEBACK_EVERY:
            os.posix_fadvise(self.fd, self.flushed, self.pos - self.flushed, os.POSIX_FADV_DONTNEED)
            self.flushed = self.pos


def stat_to_read(path: str, fd: int, up_to: int | None) -> os.stat_result | None:
    """The stat of ``path`` open at ``fd``, checked to be a regular file; None if it is
    bigger than ``up_to`` (the caller leaves it to a thread)."""
    before = os.fstat(fd)
    if up_to is not None and before.st_size > up_to:
        return None
    check_regular(path, before)
    return before


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
    fd = open_source(path)
    try:
        before = stat_to_read(path, fd, up_to)
        if before is None:
            return None
        size = before.st_size
        if size <= SMALL:
            data = read_small(fd, size)
            digest, size = PREFIX + hashlib.sha256(data).hexdigest(), len(data)
        else:
            digest, size = pump(fd)
        check_quiet(path, fd, before, size)
        return digest, size, False, before
    finally:
        os.close(fd)


def hash_path(path: Path) -> str:
    fd = os.open(path, _O_READ)
    try:
        return pump(fd)[0]
    finally:
        os.close(fd)


#: With more files than this to make durable, one os.sync is cheaper than an fsync each.
_SYNC_EACH_MAX = 64


def make_durable(paths: list[str]) -> None:
    """fsync files just written and their folders (one os.sync when there are many)."""
    if len(paths) > _SYNC_EACH_MAX:
        os.sync()
        return
    for path in [*paths, *{path[: path.rfind("/")] for path in paths}]:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_error(exc: OSError, root: Path) -> Exception:
    """The error to raise for a failed write into the cache at ``root``."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreUnavailable(
            f"no space left on the device holding the object cache {root}",
            hint="free some space (lineal gc removes unreferenced objects), then retry",
        )
    if isinstance(exc, PermissionError):
        return PermissionDenied(
            f"cannot write to the object cache {root}: permission denied",
            hint="make the cache folder writable",
        )
    return exc
