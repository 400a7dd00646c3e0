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
from hashlib import sha256
from pathlib import Path
from typing import overload

from lineal.errors import InvalidInput, NotFound, PermissionDenied, StoreUnavailable
from lineal.model.digests import PREFIX

#: Files up to this size are read whole (one read); larger ones stream in CHUNK pieces.
SMALL = 1 << 20
CHUNK = 1 << 20
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

    Hashing only: one thread reads the next piece while this one hashes the current one
    (both release the GIL), so hashing alone sets the pace and a 1 GiB file hashes about as
    fast as ``openssl dgst`` (which reads and hashes in turn).

    Copying: each piece is read, hashed and written in turn by this thread, the pages left
    to the kernel's write-back (the caller fsyncs before recording). Measured on a busy
    2-core machine (1 GiB, alternating with ``dd conv=fdatasync``), handing pieces to reader
    and writer threads, or starting write-back early (fadvise), took 2-5 times as long as
    this loop: every hand-over waits for a core, and early write-back stalls the writes
    behind it. Hashing on another core than the copy would hide the hash only on an idle one.
    """
    if out is not None:
        return _copy(fd, out)
    from concurrent.futures import ThreadPoolExecutor  # only for files bigger than SMALL

    hasher = hashlib.sha256()
    total = 0
    views = [memoryview(bytearray(CHUNK)) for _ in range(2)]
    give_up: threading.Event | None = getattr(_thread, "give_up", None)
    with (
        open(fd, "rb", buffering=0, closefd=False) as reader,
        ThreadPoolExecutor(1, thread_name_prefix="lineal-read") as reading,
    ):
        ahead = reading.submit(reader.readinto, views[0])
        for i in itertools.count():
            n = ahead.result()
            if not n:
                break
            if give_up is not None and give_up.is_set():
                raise Abandoned
            ahead = reading.submit(reader.readinto, views[(i + 1) % 2])
            hasher.update(views[i % 2][:n])
            total += n
    return PREFIX + hasher.hexdigest(), total


def _copy(fd: int, out: int) -> tuple[str, int]:
    """:func:`pump` with a copy: read, hash and write each piece in turn."""
    hasher = hashlib.sha256()
    total = 0
    view = memoryview(bytearray(CHUNK))
    give_up: threading.Event | None = getattr(_thread, "give_up", None)
    while n := os.readv(fd, [view]):
        if give_up is not None and give_up.is_set():
            raise Abandoned
        piece = view[:n]
        hasher.update(piece)
        write_all(out, piece)
        total += n
    return PREFIX + hasher.hexdigest(), total


def stat_to_read(path: str, fd: int, up_to: int | None) -> os.stat_result | None:
    """The stat of ``path`` open at ``fd``, checked to be a regular file; None if it is
    bigger than ``up_to`` (the caller leaves it to a thread)."""
    before = os.fstat(fd)
    if up_to is not None and before.st_size > up_to:
        return None
    check_regular(path, before)
    return before


def _buffer(size: int) -> memoryview:
    """This thread's read buffer, at least ``size`` bytes (one per thread, reused per file)."""
    view: memoryview | None = getattr(_thread, "buffer", None)
    if view is None or len(view) < size:
        view = memoryview(bytearray(max(size, 64 << 10)))
        _thread.buffer = view
    return view


def _read_into(fd: int, view: memoryview, size: int) -> int:
    """Read a file that had ``size`` bytes into ``view`` (``size + 1`` long): the byte count.

    Stops at ``size`` bytes (a regular file's read returns less than asked only at its end,
    and check_quiet's fstat then vouches that the size stayed), or at one byte more: a file
    that grew meanwhile, which check_quiet refuses.
    """
    got = os.readv(fd, [view])
    while got < size:  # a short read before the end (a signal): read on
        piece = os.readv(fd, [view[got:]])
        if not piece:
            break
        got += piece
    return got


@overload
def hash_file(path: str) -> Hashed: ...
@overload
def hash_file(path: str, up_to: int) -> Hashed | None: ...
def hash_file(path: str, up_to: int | None = None) -> Hashed | None:
    """Hash one file without storing it: ``(digest, size, False, stat taken before reading)``.

    With ``up_to``, a bigger file is left unread and None returned (the caller hands it to a
    thread). Raises InvalidInput if the file changes while it is read. Memory stays under
    2 MiB for any file size. Runs once per file of a snapshot: the small-file path is a few
    system calls (open, fstat, read, fstat, close) into a reused buffer, no more.
    """
    fd = open_source(path)
    try:
        before = os.fstat(fd)
        size = before.st_size
        if up_to is not None and size > up_to:
            return None
        if not stat.S_ISREG(before.st_mode):
            check_regular(path, before)
        if size <= SMALL:
            view = _buffer(size + 1)[: size + 1]
            got = _read_into(fd, view, size)
            digest = PREFIX + sha256(view[:got]).hexdigest()
        else:
            digest, got = pump(fd)
        check_quiet(path, fd, before, got)
        return digest, got, False, before
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
