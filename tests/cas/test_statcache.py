"""The stat cache on a real SQLite file: hits, misses, git's racy-clean rule, and locks.

A cache that cannot be used must mean "hash again", never an error or a wrong digest.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from lineal.cas.statcache import StatCache

DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32


def _old_file(path: Path, data: bytes = b"data", age_s: float = 60) -> os.stat_result:
    path.write_bytes(data)
    then = time.time_ns() - int(age_s * 1e9)
    os.utime(path, ns=(then, then))
    return path.stat()


@pytest.fixture
def cache(tmp_path: Path) -> StatCache:
    opened = StatCache(tmp_path / "state" / "stat.db")
    yield opened  # type: ignore[misc]
    opened.close()


def test_hit_after_update_and_after_reopening(cache: StatCache, tmp_path: Path) -> None:
    f = tmp_path / "f"
    st = _old_file(f)
    assert cache.lookup(str(f), st) is None
    cache.update([(str(f), st, DIGEST)])
    assert cache.lookup(str(f), st) == DIGEST
    cache.close()
    again = StatCache(tmp_path / "state" / "stat.db")
    try:
        assert again.lookup(str(f), f.stat()) == DIGEST
        assert again.lookup(str(tmp_path / "elsewhere"), st) is None
    finally:
        again.close()


def test_any_stat_change_is_a_miss(cache: StatCache, tmp_path: Path) -> None:
    f = tmp_path / "f"
    st = _old_file(f)
    cache.update([(str(f), st, DIGEST)])
    _old_file(f, b"longer data")  # size (and mtime) changed
    assert cache.lookup(str(f), f.stat()) is None
    _old_file(f, b"data", age_s=120)  # same size, other mtime
    assert cache.lookup(str(f), f.stat()) is None
    g = tmp_path / "g"  # same size and mtime, other inode (a file replaced by a rename)
    g.write_bytes(b"data")
    os.utime(g, ns=(st.st_atime_ns, st.st_mtime_ns))
    g.replace(f)
    assert f.stat().st_mtime_ns == st.st_mtime_ns
    assert cache.lookup(str(f), f.stat()) is None


def test_racily_clean_rows_are_not_trusted_until_recorded_again(
    cache: StatCache, tmp_path: Path
) -> None:
    recent = tmp_path / "recent"
    st = _old_file(recent, age_s=1)  # modified within the 2 s granularity window
    cache.update([(str(recent), st, DIGEST)])
    assert cache.lookup(str(recent), st) is None
    older = tmp_path / "older"
    st_old = _old_file(older, age_s=3)
    cache.update([(str(older), st_old, OTHER)])
    assert cache.lookup(str(older), st_old) == OTHER


def test_a_write_lock_held_elsewhere_never_fails_the_caller(
    cache: StatCache, tmp_path: Path
) -> None:
    f = tmp_path / "f"
    st = _old_file(f)
    cache.update([(str(f), st, DIGEST)])
    blocker = sqlite3.connect(tmp_path / "state" / "stat.db", isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another `lineal add` is writing
        other = StatCache(tmp_path / "state" / "stat.db", busy_timeout=0.05)
        try:
            assert other.lookup(str(f), st) == DIGEST  # WAL: reading is not blocked
            g = tmp_path / "g"
            other.update([(str(g), st, OTHER)])  # cannot write in time: skipped, no error
            assert other.lookup(str(g), st) == OTHER  # still known for this snapshot
        finally:
            other.close()
        blocker.execute("ROLLBACK")
    finally:
        blocker.close()
    fresh = StatCache(tmp_path / "state" / "stat.db")
    try:
        assert fresh.lookup(str(tmp_path / "g"), st) is None
        assert fresh.lookup(str(f), st) == DIGEST
    finally:
        fresh.close()


def test_an_unreadable_cache_means_hashing_again(cache: StatCache, tmp_path: Path) -> None:
    f = tmp_path / "f"
    st = _old_file(f)
    cache.update([(str(f), st, DIGEST)])
    cache.close()
    blocker = sqlite3.connect(tmp_path / "state" / "stat.db", isolation_level=None)
    try:
        blocker.execute("PRAGMA locking_mode = EXCLUSIVE")
        blocker.execute("BEGIN EXCLUSIVE")
        blocker.execute("DELETE FROM stat")  # holds the lock that keeps readers out too
        other = StatCache(tmp_path / "state" / "stat.db", busy_timeout=0.05)
        try:
            assert other.lookup(str(f), st) is None
            other.update([(str(f), st, OTHER)])
        finally:
            other.close()
        blocker.execute("ROLLBACK")
    finally:
        blocker.close()


def test_a_damaged_cache_file_means_hashing_again(tmp_path: Path) -> None:
    path = tmp_path / "stat.db"
    path.write_bytes(b"this is not a database" * 100)
    f = tmp_path / "f"
    st = _old_file(f)
    cache = StatCache(path)
    try:
        assert cache.lookup(str(f), st) is None
        cache.update([(str(f), st, DIGEST)])
    finally:
        cache.close()


def test_a_damaged_row_is_a_miss(cache: StatCache, tmp_path: Path) -> None:
    f, g, h = tmp_path / "f", tmp_path / "g", tmp_path / "h"
    st, st_g, st_h = _old_file(f), _old_file(g), _old_file(h)
    cache.update([(str(f), st, "not a digest"), (str(g), st_g, f"{DIGEST}\n{OTHER}")])
    assert cache.lookup(str(f), st) is None
    assert cache.lookup(str(g), st_g) is None
    cache.update([(str(f), st, DIGEST), (str(g), st_g, OTHER), (str(h), st_h, DIGEST)])
    cache.close()
    conn = sqlite3.connect(tmp_path / "state" / "stat.db")
    try:
        with conn:  # damage two rows behind the cache's back
            two_lines = f"{DIGEST}\n{OTHER}"  # would pass a line-by-line check
            conn.execute("UPDATE stat SET digest = ? WHERE path = ?", (two_lines, str(f)))
            conn.execute("UPDATE stat SET digest = x'00' WHERE path = ?", (str(h),))
    finally:
        conn.close()
    reopened = StatCache(tmp_path / "state" / "stat.db")
    try:
        assert reopened.lookup(str(f), st) is None
        assert reopened.lookup(str(h), st_h) is None
        assert reopened.lookup(str(g), st_g) == OTHER
    finally:
        reopened.close()


def test_two_caches_on_one_file_share_rows(tmp_path: Path) -> None:
    a = StatCache(tmp_path / "stat.db")
    b = StatCache(tmp_path / "stat.db")
    try:
        f = tmp_path / "f"
        st = _old_file(f)
        assert b.lookup(str(f), st) is None  # b loads (empty) before a writes
        a.update([(str(f), st, DIGEST)])
        b.update([(str(tmp_path / "g"), st, OTHER)])
    finally:
        a.close()
        b.close()
    c = StatCache(tmp_path / "stat.db")
    try:
        assert c.lookup(str(f), st) == DIGEST
        assert c.lookup(str(tmp_path / "g"), st) == OTHER
    finally:
        c.close()
