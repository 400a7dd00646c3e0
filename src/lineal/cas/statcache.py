"""The stat cache: (path, device, inode, size, mtime) -> digest, so unchanged files cost one stat.

An optimisation only: never fails a snapshot (a locked, damaged or unwritable cache means hashing
again), and never answers for a file that may have changed since it was hashed.

A row is trusted only if device, inode, size and mtime_ns all match and the row is not *racily
clean* (git's rule): if the file's mtime is within 2 s of the moment the row was recorded, a
write in the same timestamp tick could have left the mtime unchanged, so the file is hashed
again (and the row re-recorded, after which it is trusted).

It also keeps one row per working copy: the *signature* of a tree (a hash over the sorted
relpath, device, inode, size and mtime of each of its files) and the manifest digest the tree
held when that signature was taken, so that `lineal status` on an unchanged tree needs its
stat calls and this one row (lineal.cas.unchanged). The same racy-clean rule applies: a
signature is not recorded while any of its files changed within 2 s of the stat calls.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import time
from array import array
from collections.abc import Iterable, Sequence
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import Any

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
_TREES = """
CREATE TABLE IF NOT EXISTS trees (
    root TEXT PRIMARY KEY,
    signature BLOB NOT NULL,
    digest TEXT NOT NULL,
    recorded_ns INTEGER NOT NULL
) WITHOUT ROWID
"""
_DIGEST_LINES = re.compile(r"(?:sha256:[0-9a-f]{64}\n)*")
_UPSERT = "INSERT OR REPLACE INTO stat VALUES (?, ?, ?, ?, ?, ?, ?)"
# dev, ino (both as SQLite stores them: signed), size, mtime_ns, digest, recorded_ns
_Row = tuple[int, int, int, int, str, int]
#: (path, dev, ino, size, mtime_ns) of one file, dev and ino as os.stat gives them.
StatKey = tuple[str, int, int, int, int]
_TRUSTED_BETWEEN = (
    "SELECT path, dev, ino, size, mtime_ns, digest FROM stat "
    "WHERE path BETWEEN ? AND ? AND mtime_ns < recorded_ns - ? ORDER BY path"
)


def _signed(n: int) -> int:
    # st_dev and st_ino are unsigned 64-bit; SQLite integers are signed.
    return n - (1 << 64) if n >= 1 << 63 else n


def _all_digests(values: Sequence[str]) -> bool:
    """True if every value (whatever SQLite held) is a well-formed digest, in one regex pass."""
    try:
        lines = "\n".join(values) + "\n" if values else ""
    except TypeError:  # a digest stored as a number or blob
        return False
    # The length check: a "digest" holding a newline could otherwise pass as two lines.
    return len(lines) == 72 * len(values) and _DIGEST_LINES.fullmatch(lines) is not None


def _matching(rows: dict[str, tuple[Any, ...]], keys: Sequence[StatKey]) -> list[str] | None:
    """The digest of each key's row (path, dev, ino, size, mtime_ns, digest), if all match."""
    digests = []
    for path, dev, ino, size, mtime_ns in keys:
        row = rows.get(path)
        if (
            row is None
            or row[4] != mtime_ns
            or row[3] != size
            or row[2] not in (ino, _signed(ino))
            or row[1] not in (dev, _signed(dev))
        ):
            return None
        digests.append(row[5])
    return digests


def _well_formed(rows: dict[str, _Row]) -> dict[str, _Row]:
    """Drop rows whose digest is damaged, so that lookup never returns one (a miss instead)."""
    if _all_digests([row[4] for row in rows.values()]):
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
                conn.execute(_TREES)
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

    def covers(self, path: str) -> bool:
        """Whether ``path`` has a row at all: a file without one is hashed, with no stat first."""
        return path in (self._rows if self._rows is not None else self._load())

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

    def known(self, keys: Sequence[StatKey]) -> list[str] | None:
        """The trusted digest of each file, in order; None if any is unknown or may have changed.

        The same rule as ``lookup``, for a whole tree at once: one range query compared in
        bulk, rather than loading every row of the cache and a lookup per file.
        """
        if not keys:
            return []
        wanted = sorted(keys)  # cheap when the caller's order is already by path
        conn = self._connect()
        if conn is None:
            return None
        try:
            found = conn.execute(
                _TRUSTED_BETWEEN, (wanted[0][0], wanted[-1][0], RACY_NS)
            ).fetchall()
        except sqlite3.Error:
            self._give_up()
            return None
        digests: list[str] | None
        if len(found) == len(wanted) and [row[:5] for row in found] == wanted:
            digests = [row[5] for row in found]  # the common case: the rows are this tree's
        else:  # rows of files gone since, or stored as signed numbers: file by file
            digests = _matching({row[0]: row for row in found}, wanted)
        if digests is None or not _all_digests(digests):
            return None
        if wanted == keys:
            return digests
        at = {key[0]: digest for key, digest in zip(wanted, digests, strict=True)}
        return [at[key[0]] for key in keys]

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
        if not _all_digests([v[5] for v in values]):  # one regex pass; else one by one
            values = [v for v in values if is_digest(v[5])]
        conn = self._connect()
        if conn is not None and values:
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(_UPSERT, values)
                conn.execute("COMMIT")
            except sqlite3.Error:
                self._give_up()  # closing the connection rolls back what was begun
        if self._rows is None:
            return
        if self._broken:  # not written: still known to this process's lookups
            self._rows.update((v[0], v[1:]) for v in values)
        else:
            # Written: dropped from memory rather than added (a snapshot's rows, ~350 bytes a
            # file, would stay for its whole run); a later lookup reloads them from the file.
            self._rows = None

    def tree(self, root: str) -> tuple[bytes, str] | None:
        """The recorded ``(signature, manifest digest)`` of the tree at ``root``, if any."""
        conn = self._connect()
        if conn is None:
            return None
        try:
            row = conn.execute(
                "SELECT signature, digest FROM trees WHERE root = ?", (root,)
            ).fetchone()
        except sqlite3.Error:
            self._give_up()
            return None
        if row is None or not isinstance(row[0], bytes) or not is_digest(row[1]):
            return None
        return row[0], row[1]

    def record_tree(
        self, root: str, signature: bytes, digest: str, *, newest_mtime_ns: int, statted_ns: int
    ) -> bool:
        """Remember that the tree at ``root`` with ``signature`` holds manifest ``digest``.

        ``statted_ns`` is a time taken before the stat calls the signature covers, and
        ``newest_mtime_ns`` the newest mtime among them. Nothing is recorded if a file changed
        within RACY_NS of the stat calls: a later write in the same mtime tick could leave the
        signature unchanged. Returns whether the signature was recorded.
        """
        if newest_mtime_ns >= statted_ns - RACY_NS or not is_digest(digest):
            return False
        conn = self._connect()
        if conn is None:
            return False
        try:
            conn.execute(
                "INSERT OR REPLACE INTO trees VALUES (?, ?, ?, ?)",
                (root, signature, digest, statted_ns),
            )
        except sqlite3.Error:
            self._give_up()
            return False
        return True

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def tree_key(paths: Sequence[Path | str]) -> str:
    """The key a tree's signature is recorded under: the absolute paths snapshotted together."""
    return "\0".join(os.path.abspath(path) for path in paths)  # noqa: PTH100 (as snapshot names them)


class TreeStats:
    """Each file's (dev, inode, size, mtime) by its position in a snapshot's sorted file list,
    in 32 bytes a file (not a stat result each), to sign the tree once every file is seen."""

    def __init__(self, count: int) -> None:
        self.ids = array("Q", bytes(16 * count))  # st_dev and st_ino are unsigned 64-bit
        self.numbers = array("q", bytes(16 * count))  # sizes and mtimes (may be negative)
        self._seen = bytearray(count)

    def note(self, position: int, st: os.stat_result) -> None:
        self.ids[2 * position] = st.st_dev
        self.ids[2 * position + 1] = st.st_ino
        self.numbers[2 * position] = st.st_size
        self.numbers[2 * position + 1] = st.st_mtime_ns
        self._seen[position] = 1

    @property
    def complete(self) -> bool:
        return self._seen.count(0) == 0

    @property
    def newest_mtime_ns(self) -> int:
        return max(self.numbers[1::2], default=0)

    def signature(self, files: Sequence[tuple[str, str]]) -> bytes:
        """See :func:`tree_signature`."""
        return _sign(files, self.ids, self.numbers)


_IDS = attrgetter("st_dev", "st_ino")
_NUMBERS = attrgetter("st_size", "st_mtime_ns")


#: Files statted per batch by :func:`stat_tree`: stat results are dropped batch by batch.
_STAT_BATCH = 4096


def stat_tree(paths: Sequence[str]) -> tuple[array[int], array[int]]:
    """``(ids, numbers)`` of the files at ``paths``: each one's st_dev and st_ino, and its
    st_size and st_mtime_ns, two values a file in order (the layout :func:`sign_tree` takes).

    16 bytes of each array a file, not a stat result (~300 bytes with its fields), so a tree
    of a million files is statted in 32 MB; os.stat raises OSError as it does.
    """
    ids: array[int] = array("Q")  # st_dev, st_ino: unsigned 64-bit
    numbers: array[int] = array("q")  # size, mtime: may be < 0
    for start in range(0, len(paths), _STAT_BATCH):
        stats = list(map(os.stat, paths[start : start + _STAT_BATCH]))
        ids.extend(chain.from_iterable(map(_IDS, stats)))
        numbers.extend(chain.from_iterable(map(_NUMBERS, stats)))
    return ids, numbers


def sign_tree(files: Sequence[tuple[str, str]], ids: array[int], numbers: array[int]) -> bytes:
    """:func:`tree_signature` from what :func:`stat_tree` gives."""
    return _sign(files, ids, numbers)


def tree_signature(files: Sequence[tuple[str, str]], stats: Sequence[os.stat_result]) -> bytes:
    """The sha256 of the relpaths of ``files`` (in order) and each one's dev, inode, size, mtime.

    ``stats[i]`` is the stat of ``files[i]``'s abspath. Any file added, removed, renamed,
    replaced (another inode) or written (another mtime or size) gives another signature.
    """
    # Built by C loops (attrgetter, chain, array), not a Python loop: this runs on every status.
    ids = array("Q", chain.from_iterable(map(_IDS, stats)))  # st_dev, st_ino: unsigned 64-bit
    numbers = array("q", chain.from_iterable(map(_NUMBERS, stats)))  # size, mtime: may be < 0
    return _sign(files, ids, numbers)


def _sign(files: Sequence[tuple[str, str]], ids: array[int], numbers: array[int]) -> bytes:
    names = "\0".join([rel for rel, _ in files]).encode("utf-8", "surrogatepass")
    found = hashlib.sha256(b"lineal-tree/1 %d %d\n" % (len(files), len(names)))
    found.update(names)
    found.update(ids)
    found.update(numbers)
    return found.digest()
