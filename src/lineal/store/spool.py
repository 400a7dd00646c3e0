"""The local durable spool: batches of ops written to disk before a server ever sees them.

Append-only segment files, one framed record per batch, fsynced per batch; a batch leaves only
when the server has acknowledged its digest. Never talks to the network, never prints.

The frame layout is in :mod:`lineal.store.segments`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import threading
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from lineal.errors import Conflict, IntegrityError
from lineal.model.ops import Op
from lineal.store.batches import batch_parts
from lineal.store.segments import (
    HEADER,
    frame_at,
    frame_head,
    fsync_dir,
    magics,
    rewrite,
    segment_name,
    write_all,
)

if TYPE_CHECKING:
    from lineal.ledger.keys import Signer

#: A segment is closed once it holds this much; a bigger batch gets a segment of its own.
SEGMENT_BYTES = 64 << 20
#: Past this many pending bytes put() warns (the server has been away a while).
WARN_BYTES = 256 << 20


class SpoolWarning(UserWarning):
    """The spool is growing past its warning size, or a torn tail was cut on open."""


class Pending(NamedTuple):
    digest: str  # "sha256:HEX", as the server names the batch
    body: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoolStatus:
    """What `lineal sync --status` shows."""

    path: str
    batches: int
    bytes: int
    segments: int
    oldest_age: float | None  # seconds since the oldest pending batch was put
    warn_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "batches": self.batches,
            "bytes": self.bytes,
            "segments": self.segments,
            "oldest_age": self.oldest_age,
            "warn_bytes": self.warn_bytes,
        }


class _Entry(NamedTuple):
    segment: int
    offset: int
    size: int  # frame size, header included
    digest: str
    time_us: int


class Spool:
    """A directory of append-only segments holding batches until the server acknowledges them.

    One process per directory (an exclusive ``flock`` on ``LOCK``); any number of its threads
    may ``put`` at once. There is no local "sent" mark: after a restart every batch still
    here is sent again, and the server's deduplication by digest makes that safe.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, warn_bytes: int = WARN_BYTES,
        segment_bytes: int = SEGMENT_BYTES,
    ) -> None:  # fmt: skip
        self.path = Path(path)
        self.warn_bytes = warn_bytes
        self.segment_bytes = segment_bytes
        self._lock = threading.Lock()  # the index, the active segment, its file
        self._read_lock = threading.RLock()  # segment files stay put while they are read
        self._entries: list[_Entry] = []
        self._acked: set[str] = set()  # acknowledged, still in a segment until it is compacted
        self._sizes: dict[int, int] = {}  # segment number -> bytes on disk
        self._bytes = 0  # pending bytes
        self._warned = False
        self._active: int | None = None
        self._fd: int | None = None
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock_fd: int | None = self._take_lock()  # before anything is read or cut
        try:
            self._recover()
        except BaseException:
            self.close()
            raise

    def _take_lock(self) -> int:
        fd = os.open(self.path / "LOCK", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise Conflict(
                f"spool {self.path} is in use by process {holder}",
                hint="one process per spool: give each process its own spool directory, "
                "or wait for that one to finish",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        return fd

    def _recover(self) -> None:
        for stray in self.path.glob("seg-*.log.tmp"):  # a rewrite cut before its rename
            stray.unlink()
        numbers = sorted(int(p.name[4:16]) for p in self.path.glob("seg-*.log"))
        for n, number in enumerate(numbers):
            self._scan(number, last=n == len(numbers) - 1)
        if numbers:
            self._open_active(numbers[-1])
        self._bytes = _total(self._entries)

    def _scan(self, number: int, *, last: bool) -> None:
        path = self.path / segment_name(number)
        data = path.read_bytes()
        offset = 0
        while offset < len(data):
            frame = frame_at(data, offset)
            if frame is None:
                break
            length, digest, time_us = frame
            self._entries.append(
                _Entry(number, offset, HEADER + length, "sha256:" + digest, time_us)
            )
            offset += HEADER + length
        self._sizes[number] = offset
        if offset == len(data):
            return
        if not last or any(frame_at(data, at) for at in magics(data, offset + 1)):
            raise IntegrityError(
                f"spool segment {path} is damaged at byte {offset}: a record there fails its "
                "checksum and intact records follow it (here or in the next segment)",
                hint="the batches after that byte are still readable; move the segment aside "
                "to inspect it (nothing in the spool is dropped silently)",
            )
        warnings.warn(
            f"spool {path}: cut a torn record at byte {offset} ({len(data) - offset} bytes "
            "left by a write that never finished; its put() had not returned)",
            SpoolWarning,
            stacklevel=4,
        )
        with path.open("r+b") as f:
            f.truncate(offset)
            os.fsync(f.fileno())

    def _open_active(self, number: int) -> int:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        self._fd = os.open(self.path / segment_name(number), flags, 0o644)
        self._active = number
        self._sizes.setdefault(number, 0)
        return self._fd

    def put(
        self,
        records: Iterable[Op | tuple[str, bytes]],
        *,
        agent: str,
        signer: Signer | None = None,
    ) -> str:
        """Append one batch durably (fsynced before returning); return its digest.
        ``signer``: the agent signs the batch, as a server requires."""
        parts = batch_parts(agent, records, secrets.token_hex(16), signer=signer)
        hashed = hashlib.sha256()
        for part in parts:
            hashed.update(part)
        digest, length, time_us = hashed.digest(), sum(map(len, parts)), time.time_ns() // 1000
        head, size = frame_head(length, time_us, digest), HEADER + length
        with self._lock:
            fd, active = self._roll_if_needed(size)
            offset = self._sizes[active]
            try:
                write_all(fd, head, *parts)
                os.fsync(fd)
            except BaseException:
                os.ftruncate(fd, offset)  # no half frame left behind a failed write
                raise
            self._entries.append(
                entry := _Entry(active, offset, size, "sha256:" + digest.hex(), time_us)
            )
            self._sizes[active] = offset + size
            self._bytes += size
            warn = self._bytes > self.warn_bytes and not self._warned
            self._warned = self._bytes > self.warn_bytes
        if warn:
            warnings.warn(
                f"spool {self.path} holds {self._bytes} bytes not yet acknowledged by the "
                f"server (more than {self.warn_bytes}); nothing is lost, it drains when the "
                "server answers again",
                SpoolWarning,
                stacklevel=2,
            )
        return entry.digest

    def _roll_if_needed(self, size: int) -> tuple[int, int]:
        """The descriptor and number of the segment the next frame of ``size`` goes to."""
        if self._fd is not None and self._active is not None:
            used = self._sizes[self._active]
            if used == 0 or used + size <= self.segment_bytes:
                return self._fd, self._active
            self._close_active()
        number = max(self._sizes, default=0) + 1
        fd = self._open_active(number)
        fsync_dir(self.path)  # the new segment's name is as durable as what goes in it
        return fd, number

    def _close_active(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd = self._active = None

    def pending(self, max_bytes: int | None = None) -> list[Pending]:
        """Unacknowledged batches, oldest first (at least one, then up to ``max_bytes``)."""
        taken: list[Pending] = []
        total = 0
        with self._read_lock:  # first: no compaction moves a frame between listing and reading
            with self._lock:
                entries = [e for e in self._entries if e.digest not in self._acked]
            for entry in entries:
                total += entry.size
                if taken and max_bytes is not None and total > max_bytes:
                    break
                taken.append(Pending(entry.digest, self._read(entry)))
        return taken

    def _read(self, entry: _Entry) -> bytes:
        path = self.path / segment_name(entry.segment)
        with path.open("rb") as f:
            f.seek(entry.offset + HEADER)
            body = f.read(entry.size - HEADER)
        if "sha256:" + hashlib.sha256(body).hexdigest() != entry.digest:
            raise IntegrityError(
                f"spool segment {path} changed under the spool at byte {entry.offset}",
                hint="something else wrote to the spool directory; it must be left to lineal",
            )
        return body

    def status(self, now: float | None = None) -> SpoolStatus:
        with self._lock:
            live = [e for e in self._entries if e.digest not in self._acked]
            segments = len(self._sizes)
        now = time.time() if now is None else now
        return SpoolStatus(
            path=str(self.path),
            batches=len(live),
            bytes=sum(e.size for e in live),
            segments=segments,
            oldest_age=max(0.0, now - live[0].time_us / 1e6) if live else None,
            warn_bytes=self.warn_bytes,
        )

    def acknowledge(self, digests: Iterable[str]) -> None:
        """Drop batches the server confirmed (accepted or duplicate); unknown digests are
        ignored (a batch acknowledged twice). Segments left with nothing pending are removed,
        and closed ones at least half acknowledged are rewritten without the acked batches."""
        with self._read_lock, self._lock:
            known = {e.digest for e in self._entries}
            self._acked |= set(digests) & known
            self._bytes = sum(e.size for e in self._entries if e.digest not in self._acked)
            if self._bytes <= self.warn_bytes:
                self._warned = False
            changed = False
            for number in sorted(self._sizes):
                changed |= self._compact(number)
            if changed:
                fsync_dir(self.path)

    def _compact(self, number: int, *, closing: bool = False) -> bool:
        mine = [e for e in self._entries if e.segment == number]
        gone = {e.digest for e in mine if e.digest in self._acked}
        if not gone:
            return False
        live = [e for e in mine if e.digest not in gone]
        path = self.path / segment_name(number)
        moved: dict[str, _Entry] = {}
        if not live:
            if number == self._active:
                self._close_active()
            path.unlink()
            del self._sizes[number]
        elif closing or (
            number != self._active
            and 2 * (self._sizes[number] - _total(live)) >= self._sizes[number]
        ):
            self._sizes[number] = rewrite(path, [(e.offset, e.size) for e in live])
            offset = 0
            for e in live:
                moved[e.digest] = e._replace(offset=offset)
                offset += e.size
        else:
            return False
        self._entries = [moved.get(e.digest, e) for e in self._entries if e.digest not in gone]
        self._acked -= gone
        return True

    def drop_acknowledged(self) -> None:
        """Rewrite every segment without the batches the server acknowledged (after a
        redaction: an erased payload must not outlive it here); the next batch starts a new
        segment."""
        with self._read_lock, self._lock:
            self._close_active()
            changed = [self._compact(n, closing=True) for n in sorted(self._sizes)]
            if any(changed):
                fsync_dir(self.path)

    def close(self) -> None:
        """Release the spool; acknowledged batches still in a segment are compacted away."""
        with self._read_lock, self._lock:
            self._close_active()
            if self._lock_fd is not None:
                changed = [self._compact(n, closing=True) for n in sorted(self._sizes)]
                if any(changed):
                    fsync_dir(self.path)
                os.close(self._lock_fd)  # closing the descriptor releases the flock
                self._lock_fd = None

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _total(entries: Iterable[_Entry]) -> int:
    return sum(e.size for e in entries)
