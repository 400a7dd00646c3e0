"""The stat cache: (path, device, inode, size, mtime) -> digest, so unchanged files cost one stat.

An optimisation only: never fails a snapshot (a locked, damaged or unwritable cache means hashing
again), and never answers for a file that may have changed since it was hashed.

A row is trusted only if device, inode, size and mtime_ns all match and the row is not *racily
clean* (git's rule): if the file's mtime is within 2 s of the moment the row was recorded, a
write in the same timestamp tick could have left the mtime unchanged, so the file is hashed
again (and the row re-recorded, after which it is trusted).
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from lineal.model.digests import is_digest

#: mtime granularity we guard against (FAT has 2 s; most file systems are far finer).
RACY_NS = 2_000_000_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS stat (
    path TEXT PRIMARY KEY,
    dev INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    digest TEXT NOT NULL,
    recorded_ns INTEGER NOT NULL
) WITHOUT ROWID
"""
_DIGEST_LINES = re.compile(r"(?:sha256:[0-9a-f]{64}\n)*")
_UPSERT = "INSERT OR REPLACE INTO stat VALUES (?, ?, ?, ?, ?, ?, ?)"
# dev, ino (both as SQLite stores them: signed), size, mtime_ns, digest, recorded_ns
_Row = tuple[int, int, int, int, str, int]


def _signed(n: int) -> int:
    # st_dev and st_ino are unsigned 64-bit; SQLite integers are signed.
    return n - (1 << 64) if n >= 1 << 63 else n


def _well_formed(rows: dict[str, _Row]) -> dict[str, _Row]:
    """Drop rows whose digest is damaged, so that lookup never returns one (a miss instead)."""
    # One regex pass over all digests at once; row by row only if something is wrong.
    try:
        lines = "".join(row[4] + "\n" for row in rows.values())
    except TypeError:  # a digest stored as a number or blob
        lines = ""
    # The length check: a "digest" holding a newline could otherwise pass as two lines.
    if len(lines) == 72 * len(rows) and _DIGEST_LINES.fullmatch(lines):
        return rows
    return {path: row for path, row in rows.items() if is_digest(row[4])}


class StatCache:
    """A small SQLite file shared by every ``lineal add`` on this machine (WAL mode)."""

    def __init__(self, path: Path, *, busy_timeout: float = 10.0) -> None:
        """``busy_timeout``: seconds to wait for another process's lock before giving up."""
        self.path = Path(path)
        self._busy_ms = int(busy_timeout * 1000)
        self._conn: sqlite3.Connection | None = None
        self._rows: dict[str, _Row] | None = None
        self._broken = False

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is None and not self._broken:
            conn = None
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    self.path, timeout=self._busy_ms / 1000, isolation_level=None
                )
                conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute(_SCHEMA)
                self._conn = conn
            except (sqlite3.Error, OSError):
                if conn is not None:
                    conn.close()
                self._broken = True
        return self._conn

    def _load(self) -> dict[str, _Row]:
        if self._rows is None:
            rows: dict[str, _Row] = {}
            conn = self._connect()
            if conn is not None:
                try:
                    rows = _well_formed({r[0]: r[1:] for r in conn.execute("SELECT * FROM stat")})
                except sqlite3.Error:
                    rows = {}
                    self._give_up()
            self._rows = rows
        return self._rows

    def _give_up(self) -> None:
        self._broken = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def lookup(self, path: str, st: os.stat_result) -> str | None:
        """The recorded digest of ``path`` if its stat says it cannot have changed, else None."""
        row = (self._rows if self._rows is not None else self._load()).get(path)
        if (
            row is None
            or row[3] != st.st_mtime_ns
            or row[2] != st.st_size
            or (row[1] != st.st_ino and row[1] != _signed(st.st_ino))
            or (row[0] != st.st_dev and row[0] != _signed(st.st_dev))
            or st.st_mtime_ns >= row[5] - RACY_NS
        ):
            return None
        return row[4]

    def update(self, rows: Iterable[tuple[str, os.stat_result, str]]) -> None:
        """Record digests (one transaction); a cache that cannot be written is left as it is."""
        now = time.time_ns()
        values = [
            (
                path,
                _signed(st.st_dev),
                _signed(st.st_ino),
                st.st_size,
                st.st_mtime_ns,
                digest,
                now,
            )
            for path, st, digest in rows
        ]
        values = [v for v in values if is_digest(v[5])]
        if self._rows is not None:
            self._rows.update((v[0], v[1:]) for v in values)
        conn = self._connect()
        if conn is None or not values:
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(_UPSERT, values)
            conn.execute("COMMIT")
        except sqlite3.Error:
            self._give_up()  # closing the connection rolls back what was begun

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
