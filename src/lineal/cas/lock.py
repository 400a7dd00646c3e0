"""The object cache's lock: writers share it until what they wrote is recorded; gc takes it alone.

Never waits without first saying so (``waiting`` is called before a wait that may be long),
and never outlives its holder: it is an advisory ``flock``, which the kernel drops when the
process ends, even by SIGKILL, so a killed writer cannot leave the cache locked.

Why a lock when gc already keeps young objects (lineal.cas.prune)? Time alone leaves a window:
a writer may find an old unreferenced object and reuse it just after gc looked at its age and
just before gc removes it. A writer holding the lock shared from its first look at the cache
to the record that names what it used cannot overlap a gc, which holds it exclusively from
reading the references to its last removal. Writers share it (they never harm one another);
on Linux, ``flock`` also works across machines on NFS. Writers that cannot take it (a server,
a file system without locks) are what the grace period is for.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

#: The lock file, inside the cache's root.
NAME = "lock"
#: The lock of whoever rewrites packs (gc's removal, a writer's automatic repack): held alone.
REPACK = "repack.lock"
# A cache this process may not write to cannot be collected by it either: no lock is needed.
_CANNOT_WRITE = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
# A file system without locks (some FUSE mounts): the grace period alone protects writers.
_NO_LOCKS = frozenset({errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL})


def quiet() -> None:
    """A ``waiting`` that says nothing."""


@contextlib.contextmanager
def held(
    root: Path,
    *,
    exclusive: bool,
    waiting: Callable[[], None] = quiet,
    name: str = NAME,
) -> Iterator[None]:
    """Hold the lock of the cache at ``root`` (shared, or ``exclusive``) for the block.

    ``waiting()`` is called once if another process holds it in a way that conflicts, before
    this one waits for it; Ctrl-C ends the wait. ``name``: which of the cache's locks.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / name, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno not in _CANNOT_WRITE:
            raise
        yield
        return
    try:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting()
            fcntl.flock(fd, mode)
        except OSError as exc:
            if exc.errno not in _NO_LOCKS:
                raise
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


@contextlib.contextmanager
def attempt(root: Path, name: str) -> Iterator[bool]:
    """Take the lock ``name`` of the cache at ``root`` alone if nobody holds it: yields
    whether it did (never waits). A cache this process cannot write to yields False."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / name, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno not in _CANNOT_WRITE:
            raise
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        except OSError as exc:
            if exc.errno not in _NO_LOCKS:
                raise
            yield False  # without locks two repacks could meet: leave it to gc
            return
        yield True
    finally:
        os.close(fd)
