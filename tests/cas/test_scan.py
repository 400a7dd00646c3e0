"""Snapshots of real folders: naming, hidden files, symlinks, ignore rules, stat cache, modes.

Every tree is built in tmp_path; files that the stat cache must trust are dated in the past.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from lineal.cas import prune
from lineal.cas.ignore import IgnoreRules
from lineal.cas.objects import ObjectCache
from lineal.cas.scan import snapshot
from lineal.cas.statcache import StatCache
from lineal.cas.walk import walk
from lineal.errors import InvalidInput, NotFound, PermissionDenied


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    then = time.time_ns() - 60 * 10**9  # old enough for the stat cache to trust it
    os.utime(path, ns=(then, then))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """data/ with nested, hidden, empty, symlinked, ignored and special entries."""
    root = tmp_path / "data"
    _write(root / "a.txt", b"a")
    _write(root / "img" / "b.png", b"b" * 5000)
    _write(root / ".hidden", b"h")
    _write(root / "img" / ".keep", b"")
    (root / "empty" / "deeper").mkdir(parents=True)
    _write(tmp_path / "outside.txt", b"outside")
    _write(tmp_path / "outside_dir" / "x.txt", b"x")
    (root / "link.txt").symlink_to("../outside.txt")
    (root / "linkdir").symlink_to("../outside_dir")
    (root / "loop").symlink_to(".")
    (root / "broken").symlink_to("nowhere")
    os.mkfifo(root / "pipe")
    _write(root / ".git" / "HEAD", b"ref")
    _write(root / "scratch.tmp", b"tmp")
    _write(root / ".linealignore", b"*.tmp\n")
    return root


def test_walk_records_files_only_and_follows_only_file_links(tree: Path) -> None:
    assert [rel for rel, _ in walk(tree)] == [
        ".hidden",
        "a.txt",
        "img/.keep",
        "img/b.png",
        "link.txt",
    ]
    assert dict(walk(tree))["link.txt"] == tree / "link.txt"
    builtin_only = [rel for rel, _ in walk(tree, IgnoreRules())]  # *.tmp no longer ignored
    assert builtin_only == [".hidden", "a.txt", "img/.keep", "img/b.png", "link.txt", "scratch.tmp"]
    assert walk(tree / "a.txt") == [("a.txt", tree / "a.txt")]
    with pytest.raises(NotFound, match="no such file or folder"):
        walk(tree / "absent")


def test_snapshot_of_a_folder(tree: Path, tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path / "objects")
    result = snapshot([tree], objects=cache, stat_cache=None)
    entries = {e.path: (e.digest, e.size) for e in result.manifest.entries}
    assert entries == {
        ".hidden": (_digest(b"h"), 1),
        "a.txt": (_digest(b"a"), 1),
        "img/.keep": (_digest(b""), 0),
        "img/b.png": (_digest(b"b" * 5000), 5000),
        "link.txt": (_digest(b"outside"), 7),
    }
    assert result.skipped == (
        "broken -> nowhere (broken symlink)",
        "linkdir -> ../outside_dir (symlink to a folder)",
        "loop -> . (symlink to a folder)",
        "pipe (special file: socket, fifo or device)",
    )
    assert (result.files, result.hashed, result.from_stat_cache) == (5, 5, 0)
    assert result.new_objects == 5
    assert result.bytes_hashed == 5009
    assert sorted(cache.digests()) == sorted(d for d, _ in entries.values())
    assert all(cache.verify(d) for d, _ in entries.values())


def test_one_file_and_several_paths(tree: Path, tmp_path: Path) -> None:
    one = snapshot([tree / "img" / "b.png"], objects=None, stat_cache=None)
    assert [(e.path, e.size) for e in one.manifest.entries] == [("b.png", 5000)]
    other = tmp_path / "other"
    _write(other / "c.txt", b"c")
    _write(other / "d.tmp", b"kept: other/ has no .linealignore")
    several = snapshot([tree / "a.txt", other, tree / "img"], objects=None, stat_cache=None)
    assert [e.path for e in several.manifest.entries] == [
        "a.txt",
        "img/.keep",
        "img/b.png",
        "other/c.txt",
        "other/d.tmp",
    ]


def test_paths_are_checked_before_anything_is_written(tree: Path, tmp_path: Path) -> None:
    objects = tmp_path / "objects"
    cache = ObjectCache(objects)
    _write(tmp_path / "elsewhere" / "a.txt", b"same name")
    with pytest.raises(InvalidInput, match=r"two paths share the name 'a\.txt'") as caught:
        snapshot([tree / "a.txt", tmp_path / "elsewhere" / "a.txt"], objects=cache, stat_cache=None)
    assert caught.value.hint
    with pytest.raises(NotFound, match=r"no such file or folder: .*missing"):
        snapshot([tree, tmp_path / "missing"], objects=cache, stat_cache=None)
    with pytest.raises(NotFound, match="broken"):
        snapshot([tree / "broken"], objects=cache, stat_cache=None)
    with pytest.raises(InvalidInput, match="nothing to snapshot"):
        snapshot([], objects=cache, stat_cache=None)
    with pytest.raises(InvalidInput, match="not a file or folder"):
        snapshot([tree / "pipe"], objects=cache, stat_cache=None)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / os.fsdecode(b"caf\xe9.txt")).write_bytes(b"latin-1 name")
    with pytest.raises(InvalidInput, match="not valid UTF-8"):
        snapshot([bad], objects=cache, stat_cache=None)
    assert not objects.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_unreadable_paths_are_named(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    _write(secret, b"s")
    secret.chmod(0)
    with pytest.raises(PermissionDenied, match=r"secret\.txt"):
        snapshot([secret], objects=None, stat_cache=None)


def test_ref_only_copies_nothing_and_names_the_same_version(tree: Path, tmp_path: Path) -> None:
    before = set(tmp_path.rglob("*"))
    ref = snapshot([tree], objects=None, stat_cache=None)
    assert set(tmp_path.rglob("*")) == before
    assert ref.new_objects == 0
    copied = snapshot([tree], objects=ObjectCache(tmp_path / "objects"), stat_cache=None)
    assert copied.manifest == ref.manifest
    one_thread = snapshot([tree], objects=None, stat_cache=None, workers=1)
    assert one_thread.manifest == ref.manifest


def test_unchanged_data_is_not_hashed_again(tree: Path, tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path / "objects")
    stats = StatCache(tmp_path / "stat.db")
    try:
        first = snapshot([tree], objects=cache, stat_cache=stats)
        assert first.hashed == 5
        again = snapshot([tree], objects=cache, stat_cache=stats)
        assert (again.hashed, again.from_stat_cache, again.new_objects) == (0, 5, 0)
        assert again.manifest == first.manifest
        _write(tree / "a.txt", b"A, changed")
        prune.remove(cache, [_digest(b"h")])  # a known file whose object was collected: copied
        changed = snapshot([tree], objects=cache, stat_cache=stats)
        assert (changed.hashed, changed.from_stat_cache, changed.new_objects) == (2, 3, 2)
        assert cache.has(_digest(b"h"))
        ref = snapshot([tree], objects=None, stat_cache=stats)
        assert (ref.hashed, ref.manifest) == (0, changed.manifest)
    finally:
        stats.close()
    reopened = StatCache(tmp_path / "stat.db")
    try:
        assert snapshot([tree], objects=cache, stat_cache=reopened).hashed == 0
    finally:
        reopened.close()


def test_big_files_hash_on_worker_threads_with_progress(tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    blobs = {f"big{i}.bin": os.urandom(300_000 + i) for i in range(6)}
    blobs.update({f"small{i}.txt": b"s%d" % i for i in range(50)})
    blobs["huge.bin"] = os.urandom(3 * 1024 * 1024 + 5)
    for name, data in blobs.items():
        _write(root / name, data)
    calls: list[tuple[int, int, str]] = []

    def progress(done: int, total: int) -> None:
        calls.append((done, total, threading.current_thread().name))

    cache = ObjectCache(tmp_path / "objects")
    result = snapshot([root], objects=cache, stat_cache=None, workers=3, progress=progress)
    assert {e.path: e.digest for e in result.manifest.entries} == {
        name: _digest(data) for name, data in blobs.items()
    }
    assert all(cache.verify(e.digest) for e in result.manifest.entries)
    assert calls[-1][:2] == (len(blobs), len(blobs))
    assert {name for _, _, name in calls} == {threading.current_thread().name}
    assert [done for done, _, _ in calls] == sorted(done for done, _, _ in calls)
    assert len(calls) <= 3 + 20 * 60  # rate-limited (generous: a slow machine takes longer)
