"""The stat-only "nothing changed" check: real files, a real stat cache, real snapshots.

Whatever the check says must agree with a full snapshot; when unsure it must say "no".
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from lineal.cas.ignore import IGNORE_FILE
from lineal.cas.manifest import diff
from lineal.cas.objects import ObjectCache
from lineal.cas.scan import snapshot
from lineal.cas.statcache import StatCache
from lineal.cas.unchanged import unchanged


def age(top: Path, seconds: float = 60) -> None:
    """Date a file, or a folder and all it holds, back: fresh mtimes are never trusted."""
    then = time.time_ns() - int(seconds * 1e9)
    for path in [top, *(top.rglob("*") if top.is_dir() else ())]:
        os.utime(path, ns=(then, then), follow_symlinks=False)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    top = tmp_path / "data"
    (top / "sub").mkdir(parents=True)
    for n in range(12):
        (top / f"f{n:02d}.bin").write_bytes(os.urandom(64 + n))
    (top / "sub" / "labels.json").write_text('{"a": 1}')
    (top / ".hidden").write_text("kept")
    age(top)
    return top


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[StatCache]:
    opened = StatCache(tmp_path / "state" / "stat.db")
    yield opened
    opened.close()


def snap(tree: Path, cache: StatCache) -> str:
    return snapshot([tree], objects=None, stat_cache=cache).manifest.digest


def trees(cache: StatCache) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(cache.path)) as db:
        return db.execute("SELECT root, digest FROM trees").fetchall()


def forget_files(cache: StatCache) -> None:
    """Drop every per-file row, so that only a recorded signature can say "unchanged"."""
    with closing(sqlite3.connect(cache.path)) as db, db:
        db.execute("DELETE FROM stat")


def test_a_snapshot_records_the_signature_status_checks(tree: Path, cache: StatCache) -> None:
    digest = snap(tree, cache)
    assert trees(cache) == [(str(tree), digest)]  # the first status needs no rows
    forget_files(cache)
    fresh = StatCache(cache.path)
    try:
        assert unchanged([tree], digest, fresh)  # from the signature alone
    finally:
        fresh.close()
    copied = snapshot([tree], objects=ObjectCache(tree.parent / "objects"), stat_cache=cache)
    assert copied.manifest.digest == digest
    assert trees(cache) == [(str(tree), digest)]


def test_stat_cache_then_signature_say_unchanged(tree: Path, cache: StatCache) -> None:
    digest = snap(tree, cache)
    with closing(sqlite3.connect(cache.path)) as db, db:
        db.execute("DELETE FROM trees")
    assert unchanged([tree], digest, cache)  # from the stat-cache rows; records the signature
    assert trees(cache) == [(str(tree), digest)]
    forget_files(cache)
    fresh = StatCache(cache.path)
    try:
        assert unchanged([tree], digest, fresh)  # from the signature alone
        assert not unchanged([tree], "sha256:" + "0" * 64, fresh)  # another version: no
    finally:
        fresh.close()


def test_a_replaced_file_with_the_same_size_and_mtime_is_a_change(
    tree: Path, cache: StatCache
) -> None:
    digest = snap(tree, cache)
    assert unchanged([tree], digest, cache)
    target = tree / "f03.bin"
    before = target.stat()
    other = tree / "other.tmp"
    other.write_bytes(os.urandom(before.st_size))  # other bytes, other inode
    os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
    other.replace(target)
    after = target.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert after.st_ino != before.st_ino
    assert not unchanged([tree], digest, cache)
    assert snap(tree, cache) != digest  # and the full comparison sees new content


def test_added_and_removed_files_are_changes(tree: Path, cache: StatCache) -> None:
    digest = snap(tree, cache)
    assert unchanged([tree], digest, cache)
    (tree / "new.bin").write_bytes(b"new")
    age(tree / "new.bin")
    assert not unchanged([tree], digest, cache)
    (tree / "new.bin").unlink()
    assert unchanged([tree], digest, cache)  # back as it was: the same signature again
    (tree / "sub" / "labels.json").unlink()
    assert not unchanged([tree], digest, cache)


def test_a_changed_ignore_file_changes_what_is_compared(tree: Path, cache: StatCache) -> None:
    digest = snap(tree, cache)
    assert unchanged([tree], digest, cache)
    (tree / IGNORE_FILE).write_text("*.json\n")
    assert not unchanged([tree], digest, cache)  # labels.json no longer counts
    ignoring = snap(tree, cache)
    assert ignoring != digest
    assert unchanged([tree], ignoring, cache)
    (tree / IGNORE_FILE).write_text("# nothing ignored\n")
    assert not unchanged([tree], ignoring, cache)
    assert unchanged([tree], digest, cache)


def test_fresh_files_are_never_vouched_for(tree: Path, cache: StatCache) -> None:
    (tree / "f00.bin").write_bytes(b"just written")  # mtime: now
    digest = snap(tree, cache)
    assert not unchanged([tree], digest, cache)  # its stat-cache row is racily clean
    assert trees(cache) == []
    age(tree)
    digest = snap(tree, cache)  # rows re-recorded, now trusted
    assert unchanged([tree], digest, cache)
    assert trees(cache) == [(str(tree), digest)]


def test_stale_rows_of_other_files_do_not_get_in_the_way(tree: Path, cache: StatCache) -> None:
    (tree / "gone.bin").write_bytes(b"soon removed")
    age(tree)
    snap(tree, cache)
    (tree / "gone.bin").unlink()  # its stat-cache row stays
    digest = snap(tree, cache)
    assert unchanged([tree], digest, cache)
    assert trees(cache) == [(str(tree), digest)]


def test_several_paths_and_single_files(tmp_path: Path, tree: Path, cache: StatCache) -> None:
    single = tmp_path / "one.txt"
    single.write_text("one file")
    age(single)
    for paths in ([single], [tree, single]):
        digest = snapshot(paths, objects=None, stat_cache=cache).manifest.digest
        assert unchanged(paths, digest, cache)
        assert unchanged(paths, digest, cache)
    single.write_text("one more file")
    age(single)
    assert not unchanged([tree, single], digest, cache)


def test_a_damaged_or_missing_cache_means_no(tree: Path, tmp_path: Path) -> None:
    good = StatCache(tmp_path / "good.db")
    digest = snap(tree, good)
    good.close()
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"this is not a database" * 100)
    for path in (damaged, tmp_path / "new" / "stat.db"):
        cache = StatCache(path)
        try:
            assert not unchanged([tree], digest, cache)
        finally:
            cache.close()


def test_a_path_that_cannot_be_walked_means_no(tree: Path, cache: StatCache) -> None:
    digest = snap(tree, cache)
    assert not unchanged([tree / "missing"], digest, cache)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_cyclic_collector_is_paused_only_while_it_checks(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    import gc

    import lineal.cas.unchanged as module

    seen: list[bool] = []
    real = module.collect

    def collect(paths: list[Path]) -> tuple[list[tuple[str, str]], list[str]]:
        seen.append(gc.isenabled())
        return real(paths)

    monkeypatch.setattr(module, "collect", collect)
    stats = StatCache(tmp_path / "stat.db")
    try:
        digest = snapshot([tree], objects=None, stat_cache=stats).manifest.digest
        (gc.enable if enabled else gc.disable)()
        try:
            assert unchanged([tree], digest, stats)
            assert gc.isenabled() is enabled
        finally:
            gc.enable()
    finally:
        stats.close()
    assert seen == [False]


def test_one_changed_file_among_twenty_thousand_is_seen(tmp_path: Path) -> None:
    top = tmp_path / "many"
    for d in range(20):
        (top / f"d{d:02d}").mkdir(parents=True)
        for n in range(1000):
            (top / f"d{d:02d}" / f"f{n:04d}.txt").write_bytes(b"%05d" % (d * 1000 + n))
    age(top)
    stats = StatCache(tmp_path / "stat.db")
    try:
        before = snapshot([top], objects=None, stat_cache=stats).manifest
        assert len(before) == 20_000
        assert unchanged([top], before.digest, stats)
        changed = top / "d13" / "f0457.txt"
        changed.write_bytes(b"xxxxx")  # same size
        age(changed, 30)  # and an mtime that is not racily clean
        assert not unchanged([top], before.digest, stats)
        after = snapshot([top], objects=None, stat_cache=stats).manifest
    finally:
        stats.close()
    assert [(old.path, new.path) for old, new in diff(before, after).modified] == [
        ("d13/f0457.txt", "d13/f0457.txt")
    ]
    assert not diff(before, after).added
    assert not diff(before, after).removed
