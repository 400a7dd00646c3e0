"""Many small packs: each index is read once per process, small packs are merged as they
pile up (beside other processes writing and reading), and a merge killed at any moment
loses nothing."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from lineal.cas import packs, repacking
from lineal.cas.lock import REPACK, held
from lineal.cas.objects import ObjectCache
from lineal.cas.scan import snapshot

SRC = str(Path(packs.__file__).resolve().parents[2])


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _pack_files(root: Path) -> list[Path]:
    folder = root / "packs"
    return sorted(folder.glob("*.pack")) if folder.exists() else []


def _write_packs(root: Path, work: Path, count: int, start: int = 0) -> list[bytes]:
    """``count`` packs of one small object each, as ``count`` one-file snapshots leave them."""
    made = []
    for n in range(start, start + count):
        data = f"output of run {n}\n".encode()
        (work / f"out-{n}.txt").write_bytes(data)
        snapshot([work / f"out-{n}.txt"], objects=ObjectCache(root), stat_cache=None)
        made.append(data)
    return made


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each pack index read from disk."""
    reads: list[str] = []
    real = packs.read_index

    def counted(path: str) -> list[tuple[bytes, int, int]]:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(packs, "read_index", counted)
    return reads


def test_refresh_reads_each_pack_index_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, work = tmp_path / "objects", tmp_path / "work"
    work.mkdir()
    reads = _counting(monkeypatch)
    made = _write_packs(root, work, 12)  # each snapshot looks at the packs before it
    for _ in range(3):  # every command opens its own cache object, as datasets.objects() does
        cache = ObjectCache(root)
        assert all(cache.read_bytes(_digest(d)) == d for d in made)
    assert sorted(reads) == [str(p) for p in _pack_files(root)]  # each once, in all
    more = _write_packs(root, work, 3, start=12)
    for data in made + more:
        assert ObjectCache(root).read_bytes(_digest(data)) == data
    assert len(reads) == 12 + 3  # only the new packs' indexes were read
    (gone, *_) = _pack_files(root)
    entries = packs.read_index(str(gone))
    gone.unlink()
    reads.clear()
    cache = ObjectCache(root)
    assert cache.packs.refresh()
    assert reads == []  # dropping a pack reads no other index
    assert all(not cache.packs.contains(raw) for raw, _, _ in entries)


def test_many_one_object_snapshots_read_a_bounded_number_of_indexes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: each snapshot read every pack index again (a new cache object per command),
    and each wrote a pack of its own, so N outputs cost N*N/2 index reads."""
    monkeypatch.setattr(repacking, "AUTO_PACK_LIMIT", 10)
    root, work = tmp_path / "objects", tmp_path / "work"
    work.mkdir()
    reads = _counting(monkeypatch)
    made = []
    most = 0
    for n in range(150):
        data = f"weights of run {n}\n".encode()
        (work / "model.txt").write_bytes(data)
        cache = ObjectCache(root)
        snapshot([work / "model.txt"], objects=cache, stat_cache=None)
        made.append(data)
        assert cache.has(_digest(data))
        most = max(most, len(_pack_files(root)))
    assert len(reads) <= 2 * 150  # was 150 * 149 / 2 = 11,175
    assert most <= 11  # merged as they pile up
    fresh = packs.PackSet(str(root / "packs"))  # another process's first look
    assert all(fresh.read(bytes.fromhex(_digest(d)[7:])) == d for d in made)


def test_rollup_keeps_a_geometric_progression() -> None:
    assert repacking._rollup([(10, "a")]) == []
    assert sorted(repacking._rollup([(10, "a"), (10, "b"), (10, "c")])) == ["a", "b", "c"]
    assert repacking._rollup([(1, "a"), (4, "b"), (16, "c")]) == []  # a progression already
    assert sorted(repacking._rollup([(1, "a"), (1, "b"), (1, "c"), (100, "big")])) == [
        "a",
        "b",
        "c",
    ]
    # merging the small ones would make one as big as the next: it goes in too
    assert sorted(repacking._rollup([(3, "a"), (3, "b"), (5, "c"), (100, "big")])) == [
        "a",
        "b",
        "c",
    ]
    assert sorted(repacking._rollup([(3, "a"), (3, "b"), (8, "c"), (100, "big")])) == [
        "a",
        "b",
        "c",
    ]
    assert sorted(repacking._rollup([(3, "a"), (3, "b"), (12, "c"), (100, "big")])) == ["a", "b"]


def test_a_reader_with_an_old_index_finds_objects_a_merge_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, work = tmp_path / "objects", tmp_path / "work"
    work.mkdir()
    made = _write_packs(root, work, 6)
    raws = [hashlib.sha256(d).digest() for d in made]
    reader = packs.PackSet(str(root / "packs"))  # another process: its own index
    assert reader.refresh()
    old = {reader.holder(raw) for raw in raws}
    merger = packs.PackSet(str(root / "packs"))
    merger.refresh()
    new = repacking.merge(merger, sorted(merger.packs()), ObjectCache(root).temp_name)
    assert new is not None
    assert [p.name for p in _pack_files(root)] == [Path(new).name]
    assert {reader.holder(raw) for raw in raws} == old  # stale: those packs are gone
    assert [reader.read(raw) for raw in raws] == made  # a miss refreshes and looks again
    assert {reader.holder(raw) for raw in raws} == {new}


def _merge_before_first_index_read(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], str | None]:
    """Make the next index read from disk run a whole merge first (as another process would,
    between a reader's listing of the packs folder and its read of a pack it listed): the
    merged pack's path, once it ran."""
    real = packs.read_index
    done: list[str | None] = []

    def merging_first(path: str) -> list[tuple[bytes, int, int]]:
        if not done:
            monkeypatch.setattr(packs, "read_index", real)  # the merger reads as usual
            merger = packs.PackSet(str(root / "packs"))  # another process: its own index
            done.append(
                repacking.merge(merger, sorted(merger.packs()), ObjectCache(root).temp_name)
            )
            monkeypatch.setattr(packs, "read_index", merging_first)
        return real(path)

    monkeypatch.setattr(packs, "read_index", merging_first)
    return lambda: done[0] if done else None


@pytest.mark.parametrize("reads", ["read", "find", "holds", "present"])
def test_a_pack_merged_away_between_listing_and_index_read_is_found_in_the_merged_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reads: str
) -> None:
    """Regression: a reader lists the packs folder, a merge seals its new pack and deletes
    the packs it merged, then the reader reads the index of one it listed: gone. The reader
    dropped it and reported the objects missing (NotFound), though they were all in the
    merged pack, which its listing predates."""
    root, work = tmp_path / "objects", tmp_path / "work"
    work.mkdir()
    made = _write_packs(root, work, 4)
    reader = ObjectCache(root)
    reader.packs = packs.PackSet(str(root / "packs"))  # another process, which read these
    assert reader.packs.refresh()
    made += _write_packs(root, work, 1, start=4)  # and not this one yet
    raw = hashlib.sha256(made[-1]).digest()
    merged = _merge_before_first_index_read(root, monkeypatch)
    if reads == "read":
        assert reader.read_bytes(_digest(made[-1])) == made[-1]
    elif reads == "find":
        assert reader.size(_digest(made[-1])) == len(made[-1])
    elif reads == "holds":
        assert reader.has(_digest(made[-1]))
    else:
        assert reader.missing([_digest(d) for d in made]) == []
    new = merged()
    assert new is not None  # the merge did run in between
    assert [p.name for p in _pack_files(root)] == [Path(new).name]
    assert reader.packs.holder(raw) == new


def test_a_miss_finds_what_another_thread_loaded_just_before_its_refresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a lookup missed, another thread of the process (the PackSet is shared)
    loaded the new pack, and the lookup's own refresh, seeing nothing new, said so: the
    lookup reported the object missing without looking in the index again."""
    root, work = tmp_path / "objects", tmp_path / "work"
    work.mkdir()
    made = _write_packs(root, work, 2)
    reader = packs.PackSet(str(root / "packs"))
    assert reader.refresh()
    made += _write_packs(root, work, 1, start=2)
    real = reader.refresh

    def beaten() -> bool:
        real()  # the other thread, first
        return real()  # this one: nothing new since

    monkeypatch.setattr(reader, "refresh", beaten)
    assert reader.read(hashlib.sha256(made[-1]).digest()) == made[-1]


def test_a_listed_pack_that_cannot_be_opened_ends_the_refresh(tmp_path: Path) -> None:
    root, work = tmp_path / "objects", tmp_path / "work"
    work.mkdir()
    made = _write_packs(root, work, 2)
    (root / "packs" / f"pack-{'0' * 40}{packs.SUFFIX}").symlink_to(tmp_path / "nowhere")
    reader = packs.PackSet(str(root / "packs"))
    assert reader.refresh()
    assert not reader.refresh()  # listed again only while the folder changes
    assert all(reader.read(hashlib.sha256(d).digest()) == d for d in made)


def test_reuse_through_an_old_index_freshens_the_merged_pack(tmp_path: Path) -> None:
    root, work = tmp_path / "objects", tmp_path / "work"
    work.mkdir()
    made = _write_packs(root, work, 4)
    stale = ObjectCache(root)
    stale.packs = packs.PackSet(str(root / "packs"))  # as another process read it
    stale.packs.refresh()
    merger = packs.PackSet(str(root / "packs"))
    merger.refresh()
    new = repacking.merge(merger, sorted(merger.packs()), stale.temp_name)
    assert new is not None
    os.utime(new, (0, 0))
    digest = _digest(made[0])
    # between a writer's look in the index and its touch, the pack it saw was merged away
    assert stale._reuse(bytes.fromhex(digest[7:]), stale._final(digest))
    assert Path(new).stat().st_mtime > 0


def test_an_object_in_two_packs_stays_found_when_one_goes(tmp_path: Path) -> None:
    root, work = tmp_path / "objects", tmp_path / "work"
    work.mkdir()
    made = _write_packs(root, work, 3)
    (first, *_) = _pack_files(root)
    before = packs.PackSet(str(root / "packs"))
    before.refresh()
    # a merge's output beside its sources, as a merge killed before deleting them leaves it
    merger = packs.PackSet(str(root / "packs"))
    merger.refresh()
    writer = packs.PackWriter(ObjectCache(root).temp_name(), str(root / "packs"))
    for data in made:
        writer.add(hashlib.sha256(data).digest(), data)
    merged, _ = writer.finish()
    reader = packs.PackSet(str(root / "packs"))
    reader.refresh()  # may point each object at either copy
    first.unlink()
    reader.refresh()
    assert all(reader.contains(hashlib.sha256(d).digest()) for d in made)
    assert all(reader.read(hashlib.sha256(d).digest()) == d for d in made)
    assert before.read(hashlib.sha256(made[0]).digest()) == made[0]
    assert merged in {reader.holder(hashlib.sha256(d).digest()) for d in made}


def _run(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


WRITER = """
    import hashlib, json, os, sys
    from pathlib import Path
    from lineal.cas import objects, repacking
    from lineal.cas.objects import ObjectCache
    from lineal.cas.scan import snapshot

    root, work, name, rounds = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    repacking.AUTO_PACK_LIMIT = 4
    merged = []
    real = objects.auto_repack

    def counted(*args):
        done = real(*args)
        merged.append(done)
        return done

    objects.auto_repack = counted
    mine = []
    for n in range(rounds):
        folder = work / f"{name}-{n}"
        folder.mkdir(parents=True)
        for k in range(n % 3 + 1):
            (folder / f"{k}.bin").write_bytes(f"{name} {n} {k}".encode() + os.urandom(64))
        cache = ObjectCache(root)  # a new cache object per command, as lineal makes them
        snapshot([folder], objects=cache, stat_cache=None)
        mine.extend("sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()
                    for p in sorted(folder.iterdir()))
        reader = ObjectCache(root)
        for digest in mine:  # every object so far, wherever a merge beside moved it
            data = reader.read_bytes(digest)
            assert "sha256:" + hashlib.sha256(data).hexdigest() == digest, digest
    print(json.dumps({"digests": mine, "merged": sum(merged)}))
"""


def test_writers_and_readers_beside_automatic_merges(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                textwrap.dedent(WRITER),
                str(root),
                str(tmp_path),
                f"w{n}",
                "30",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": SRC},
        )
        for n in range(4)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert sum(r["merged"] for r in results) > 0  # merges ran while the others wrote and read
    assert len(_pack_files(root)) <= 4 + 1 + 4  # the limit, one sealed after it, a few in flight
    fresh = packs.PackSet(str(root / "packs"))
    everything = [d for r in results for d in r["digests"]]
    assert len(everything) == 4 * sum(n % 3 + 1 for n in range(30))
    for digest in everything:
        data = fresh.read(bytes.fromhex(digest[7:]))
        assert data is not None
        assert _digest(data) == digest


KILLED_MERGE = """
    import os, signal, sys
    from lineal.cas import packs, repacking
    from lineal.cas.objects import ObjectCache

    root, when = sys.argv[1], sys.argv[2]
    cache = ObjectCache(root)
    real_unlink, real_replace = os.unlink, os.replace

    def kill(*args):
        os.kill(os.getpid(), signal.SIGKILL)

    if when == "before-rename":
        os.replace = lambda src, dst: kill() if dst.endswith(".pack") else real_replace(src, dst)
    elif when == "between-deletes":
        count = [0]
        def unlink(path):
            count[0] += 1
            if count[0] == 3:
                kill()
            real_unlink(path)
        os.unlink = unlink
    else:
        os.pread = lambda fd, size, off: kill()
    cache.packs.refresh()
    repacking.merge(cache.packs, sorted(cache.packs.packs()), cache.temp_name)
    print("not killed")
"""


@pytest.mark.parametrize("when", ["while-copying", "before-rename", "between-deletes"])
def test_a_merge_killed_at_any_moment_leaves_every_object_readable(
    tmp_path: Path, when: str
) -> None:
    root, work = tmp_path / "objects", tmp_path / "work"
    work.mkdir()
    made = _write_packs(root, work, 8)
    before = _pack_files(root)
    killed = _run(KILLED_MERGE, str(root), when)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    after = _pack_files(root)
    if when == "between-deletes":
        assert len(after) == len(before) - 2 + 1  # two sources deleted, the merged one sealed
    else:
        assert after == before
    for data in made:  # a new process's first look
        assert packs.PackSet(str(root / "packs")).read(hashlib.sha256(data).digest()) == data
    # the next merge tidies up: one pack, every object once, still readable
    cache = ObjectCache(root)
    cache.packs.refresh()
    assert repacking.merge(cache.packs, sorted(cache.packs.packs()), cache.temp_name) is not None
    (single,) = _pack_files(root)
    assert len(packs.read_index(str(single))) == len(made)
    check: Callable[[bytes], bool] = lambda d: cache.read_bytes(_digest(d)) == d  # noqa: E731
    assert all(check(d) for d in made)


def test_a_merge_keeps_a_pack_with_a_damaged_object_in_place(tmp_path: Path) -> None:
    root, work = tmp_path / "objects", tmp_path / "work"
    work.mkdir()
    made = _write_packs(root, work, 4)
    victim = _pack_files(root)[0]
    (raw, offset, _size), *_ = packs.read_index(str(victim))
    victim.chmod(0o644)
    body = bytearray(victim.read_bytes())
    body[offset] ^= 0xFF
    victim.write_bytes(bytes(body))
    cache = ObjectCache(root)
    cache.packs.refresh()
    merged = repacking.merge(cache.packs, sorted(cache.packs.packs()), cache.temp_name)
    assert merged is not None
    assert sorted(_pack_files(root)) == sorted([victim, Path(merged)])
    assert not cache.verify("sha256:" + raw.hex())  # still there, for verify to name
    good = [d for d in made if hashlib.sha256(d).digest() != raw]
    assert all(cache.read_bytes(_digest(d)) == d for d in good)


def test_a_writer_leaves_merging_to_whoever_holds_the_repack_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repacking, "AUTO_PACK_LIMIT", 3)
    root, work = tmp_path / "objects", tmp_path / "work"
    work.mkdir()
    with held(root, exclusive=True, name=REPACK):  # gc rewriting packs, say
        made = _write_packs(root, work, 6)
        assert len(_pack_files(root)) == 6  # nobody waited, nothing merged
    cache = ObjectCache(root)
    assert repacking.auto_repack(cache.packs, root, cache.temp_name) == 6
    assert len(_pack_files(root)) == 1
    assert all(ObjectCache(root).read_bytes(_digest(d)) == d for d in made)
