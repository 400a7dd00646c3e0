"""The spool's segment files: the frame each batch is written in, read back and rewritten.

File mechanics only (bytes, fsync, rename); what a batch means is in batches.py, when one may
leave is spool.py's business.

Frame (little-endian), one per batch::

    magic  b"LSP1"        4 bytes
    length u64            body length
    time   i64            unix microseconds when put() wrote it (for the oldest-age figure)
    digest 32 bytes       sha256(body): the batch's identity and its checksum
    check  u32            crc32 of the 52 bytes before it (length and time are trusted only then)
    body   length bytes   canonical JSON: {"agent":..,"id":..,"records":[{"op":..,"payload":..}]}

The body's sha256 is needed anyway (the server deduplicates by it), so it doubles as the
checksum: one pass over the bytes, and far stronger than a 32-bit CRC over megabyte records.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

MAGIC = b"LSP1"
_HEAD = struct.Struct("<4sQq32s")
_CHECK = struct.Struct("<I")
HEADER = _HEAD.size + _CHECK.size  # 56


def frame_head(length: int, time_us: int, digest: bytes) -> bytes:
    """The 56-byte header of a frame whose body has ``length`` bytes and this sha256."""
    head = _HEAD.pack(MAGIC, length, time_us, digest)
    return head + _CHECK.pack(zlib.crc32(head))


def segment_name(number: int) -> str:
    return f"seg-{number:012d}.log"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def frame_at(data: bytes, offset: int) -> tuple[int, str, int] | None:
    """(body length, hex digest, time) of a whole, intact frame at offset; None if damaged."""
    head = data[offset : offset + HEADER]
    if len(head) < HEADER or head[:4] != MAGIC:
        return None
    (check,) = _CHECK.unpack_from(head, _HEAD.size)
    if zlib.crc32(head[: _HEAD.size]) != check:
        return None
    _, length, time_us, digest = _HEAD.unpack_from(head)
    body = data[offset + HEADER : offset + HEADER + length]
    if len(body) != length or hashlib.sha256(body).digest() != digest:
        return None
    return length, digest.hex(), time_us


def write_all(fd: int, *parts: bytes) -> None:
    views = [memoryview(p) for p in parts]
    while views:
        done = os.writev(fd, views)
        while views and done >= len(views[0]):
            done -= len(views[0])
            views.pop(0)
        if views:
            views[0] = views[0][done:]


def rewrite(path: Path, keep: Sequence[tuple[int, int]]) -> int:
    """Replace a segment by one holding only ``keep``: temp file, fsync, rename (the caller
    fsyncs the directory). A crash before the rename leaves the old segment whole."""
    temp = path.with_name(path.name + ".tmp")
    with path.open("rb") as src, temp.open("wb") as dst:
        for offset, size in keep:
            src.seek(offset)
            dst.write(src.read(size))
        dst.flush()
        os.fsync(dst.fileno())
        size = dst.tell()
    temp.replace(path)
    return size


def magics(data: bytes, start: int) -> Iterable[int]:
    at = data.find(MAGIC, start)
    while at != -1:
        yield at
        at = data.find(MAGIC, at + 1)
