"""The stat cache on a real SQLite file: hits, misses, git's racy-clean rule, and locks.

A cache that cannot be used must mean "hash again", never an error or a wrong digest.
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from lineal.cas.statcache import RACY_NS, StatCache, tree_signature

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


def test_recorded_rows_are_not_kept_in_memory_once_written(
    cache: StatCache, tmp_path: Path
) -> None:
    """A snapshot of a million files records a million rows: the rows loaded for lookups
    must not grow by each of them (they are read back from the file when asked again)."""
    f = tmp_path / "f"
    st = _old_file(f)
    assert not cache.covers(str(f))  # loads the rows for lookups
    cache.update([(f"{tmp_path}/n{i}", st, DIGEST) for i in range(1000)] + [(str(f), st, OTHER)])
    assert cache._rows is None  # what it holds is the point
    assert cache.lookup(str(f), st) == OTHER  # read back from the file
    assert cache.covers(f"{tmp_path}/n999")


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


def _key(path: Path, st: os.stat_result) -> tuple[str, int, int, int, int]:
    return str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def test_known_answers_for_a_whole_tree_in_the_callers_order(
    cache: StatCache, tmp_path: Path
) -> None:
    files = [tmp_path / name for name in ("a", "b", "c")]
    stats = [_old_file(f) for f in files]
    cache.update(
        [(str(f), st, d) for f, st, d in zip(files, stats, (DIGEST, OTHER, DIGEST), strict=True)]
    )
    keys = [_key(f, st) for f, st in zip(files, stats, strict=True)]
    assert cache.known(keys) == [DIGEST, OTHER, DIGEST]
    assert cache.known(keys[::-1]) == [DIGEST, OTHER, DIGEST][::-1]
    assert cache.known(keys[:2]) == [DIGEST, OTHER]  # a row that is not asked about: fine
    assert cache.known([]) == []
    moved = (keys[1][0], keys[1][1], keys[1][2] + 1, keys[1][3], keys[1][4])  # other inode
    assert cache.known([keys[0], moved, keys[2]]) is None
    assert cache.known([*keys, _key(tmp_path / "d", stats[0])]) is None  # no row for d


def test_known_trusts_no_racily_clean_or_damaged_row(cache: StatCache, tmp_path: Path) -> None:
    old, fresh = tmp_path / "old", tmp_path / "fresh"
    st_old, st_fresh = _old_file(old), _old_file(fresh, age_s=1)
    cache.update([(str(old), st_old, DIGEST), (str(fresh), st_fresh, OTHER)])
    assert cache.known([_key(old, st_old)]) == [DIGEST]
    assert cache.known([_key(old, st_old), _key(fresh, st_fresh)]) is None
    with closing(sqlite3.connect(cache.path)) as conn, conn:
        conn.execute("UPDATE stat SET digest = 'sha256:xyz' WHERE path = ?", (str(old),))
    assert cache.known([_key(old, st_old)]) is None


def test_a_tree_signature_is_recorded_only_when_no_file_is_racily_clean(
    cache: StatCache,
) -> None:
    now = time.time_ns()
    assert cache.tree("/data") is None
    assert not cache.record_tree(
        "/data", b"sig", DIGEST, newest_mtime_ns=now - RACY_NS // 2, statted_ns=now
    )
    assert cache.tree("/data") is None
    assert cache.record_tree(
        "/data", b"sig", DIGEST, newest_mtime_ns=now - RACY_NS - 1, statted_ns=now
    )
    assert cache.tree("/data") == (b"sig", DIGEST)
    assert not cache.record_tree("/data", b"sig", "not a digest", newest_mtime_ns=0, statted_ns=now)
    assert cache.tree("/data") == (b"sig", DIGEST)


def test_a_tree_signature_sees_every_kind_of_change(tmp_path: Path) -> None:
    f, g = tmp_path / "f", tmp_path / "g"
    _old_file(f)
    _old_file(g)
    files = [("f", str(f)), ("g", str(g))]

    def signature() -> bytes:
        return tree_signature(files, [f.stat(), g.stat()])

    first = signature()
    assert signature() == first
    assert tree_signature([("f", str(f)), ("h", str(g))], [f.stat(), g.stat()]) != first
    assert tree_signature(files[:1], [f.stat()]) != first
    before = g.stat()
    _old_file(f, b"data", age_s=120)
    assert signature() != first  # other mtime
    _old_file(f, b"data")
    first = signature()
    g.write_bytes(b"longer")
    os.utime(g, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert signature() != first  # other size, same mtime


def test_stat_tree_signs_as_the_stat_results_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lineal.cas.statcache as module

    monkeypatch.setattr(module, "_STAT_BATCH", 3)  # batches end inside the tree and at its end
    for count in (0, 1, 3, 10):
        top = tmp_path / f"t{count}"
        top.mkdir()
        files = []
        for n in range(count):
            (top / f"f{n}").write_bytes(b"x" * n)
            files.append((f"f{n}", str(top / f"f{n}")))
        ids, numbers = module.stat_tree([path for _, path in files])
        assert len(ids) == len(numbers) == 2 * count
        stats = [Path(path).stat() for _, path in files]
        assert module.sign_tree(files, ids, numbers) == tree_signature(files, stats)
    with pytest.raises(FileNotFoundError):
        module.stat_tree([str(tmp_path / "absent")])
