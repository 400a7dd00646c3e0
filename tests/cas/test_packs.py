"""Packs on real files: small objects of a snapshot land in one file, read back, survive
other processes' packs, go away in gc, and a damaged pack is caught."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from lineal.cas import packs, prune, repacking
from lineal.cas.objects import ObjectCache
from lineal.cas.scan import snapshot
from lineal.errors import IntegrityError


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _tree(root: Path, count: int, size: int = 3000) -> dict[str, bytes]:
    made = {}
    for n in range(count):
        data = os.urandom(size) if n % 10 else b"same bytes"  # a few duplicates
        path = root / f"d{n % 7}" / f"f{n:04d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        made[f"d{n % 7}/f{n:04d}.bin"] = data
    return made


def _pack_files(cache: ObjectCache) -> list[Path]:
    folder = cache.root / "packs"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_snapshot_packs_small_files_and_streams_big_ones(tmp_path: Path) -> None:
    made = _tree(tmp_path / "data", 300)
    big = os.urandom(packs.PACK_OBJECT_MAX + 5)
    (tmp_path / "data" / "big.bin").write_bytes(big)
    cache = ObjectCache(tmp_path / "objects")
    result = snapshot([tmp_path / "data"], objects=cache, stat_cache=None, workers=2)
    distinct = {_digest(d) for d in made.values()}
    assert result.new_objects == len(distinct) + 1
    assert len(_pack_files(cache)) <= 2  # one per hashing thread
    assert cache.loose(_digest(big)) is not None  # too big for a pack
    assert not list((tmp_path / "objects" / "sha256").rglob("*/*"))[1:]  # only the big one
    fresh = ObjectCache(tmp_path / "objects")  # another process's view
    for rel, data in made.items():
        digest = _digest(data)
        assert fresh.has(digest)
        assert fresh.read_bytes(digest) == data
        assert fresh.size(digest) == len(data)
        assert fresh.verify(digest)
        assert fresh.loose(digest) is None
        assert result.manifest.by_path()[rel].digest == digest
    assert fresh.present([*distinct, _digest(b"absent")]) == distinct
    assert set(fresh.digests()) == distinct | {_digest(big)}
    again = snapshot([tmp_path / "data"], objects=cache, stat_cache=None, workers=2)
    assert again.new_objects == 0
    assert len(_pack_files(cache)) <= 2  # nothing new was written


def test_packs_roll_over_and_are_whole_or_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lineal.cas.packing.PACK_TARGET", 20_000)
    made = _tree(tmp_path / "data", 60)
    cache = ObjectCache(tmp_path / "objects")
    snapshot([tmp_path / "data"], objects=cache, stat_cache=None, workers=1)
    assert len(_pack_files(cache)) >= 5
    for path in _pack_files(cache):
        for raw, offset, size in packs.read_index(str(path)):
            with path.open("rb") as f:
                f.seek(offset)
                assert hashlib.sha256(f.read(size)).digest() == raw
    assert all(cache.read_bytes(_digest(d)) == d for d in made.values())


def test_a_failed_snapshot_leaves_no_pack(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path / "objects")
    (tmp_path / "a").write_bytes(b"x" * 5000)

    def interrupted() -> None:
        with cache.packing():
            cache.ingest(str(tmp_path / "a"))
            raise RuntimeError("stopped")

    with pytest.raises(RuntimeError):
        interrupted()
    assert _pack_files(cache) == []
    assert not list((tmp_path / "objects" / "tmp").iterdir())
    assert not cache.has(_digest(b"x" * 5000))


def test_threads_pack_an_object_once(tmp_path: Path) -> None:
    data = os.urandom(3000)
    files = []
    for n in range(16):
        (tmp_path / f"{n}.bin").write_bytes(data)
        files.append(str(tmp_path / f"{n}.bin"))
    cache = ObjectCache(tmp_path / "objects")
    new = []
    with cache.packing():
        threads = [
            threading.Thread(target=lambda p=p: new.append(cache.ingest(p)[2])) for p in files
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert new.count(True) == 1
    assert sum(len(packs.read_index(str(p))) for p in _pack_files(cache)) == 1


def test_remove_and_repack_drop_packed_objects(tmp_path: Path) -> None:
    made = _tree(tmp_path / "data", 40)
    cache = ObjectCache(tmp_path / "objects")
    snapshot([tmp_path / "data"], objects=cache, stat_cache=None, workers=1)
    digests = sorted({_digest(d) for d in made.values()})
    victim, *rest = digests
    prune.remove(cache, [victim])
    assert not cache.has(victim)
    prune.remove(cache, [victim])  # gone already: nothing to do
    assert all(cache.read_bytes(d) for d in rest)
    keep = set(rest[: len(rest) // 2])
    kept = {bytes.fromhex(d[7:]) for d in keep}
    dropped, freed = repacking.repack(cache.packs, kept.__contains__, cache.temp_name)
    assert dropped == len(rest) - len(keep)
    assert freed > 0
    assert set(ObjectCache(tmp_path / "objects").digests()) == keep
    by_digest = {_digest(b): b for b in made.values()}
    everything = repacking.repack(cache.packs, lambda raw: False, cache.temp_name)
    assert everything == (len(keep), sum(len(by_digest[d]) for d in keep))
    assert _pack_files(cache) == []


def test_a_damaged_pack_index_is_reported(tmp_path: Path) -> None:
    _tree(tmp_path / "data", 10)
    cache = ObjectCache(tmp_path / "objects")
    snapshot([tmp_path / "data"], objects=cache, stat_cache=None, workers=1)
    (pack,) = _pack_files(cache)
    pack.chmod(0o644)
    raw = bytearray(pack.read_bytes())
    raw[-60] ^= 0xFF  # a byte of the index
    pack.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match="damaged"):
        ObjectCache(tmp_path / "objects").has(_digest(b"same bytes"))


def test_damaged_packed_bytes_fail_verification(tmp_path: Path) -> None:
    data = os.urandom(4000)
    (tmp_path / "a.bin").write_bytes(data)
    cache = ObjectCache(tmp_path / "objects")
    snapshot([tmp_path / "a.bin"], objects=cache, stat_cache=None)
    (pack,) = _pack_files(cache)
    pack.chmod(0o644)
    raw = bytearray(pack.read_bytes())
    raw[len(packs.HEADER) + 10] ^= 0xFF  # a byte of the object
    pack.write_bytes(bytes(raw))
    assert not ObjectCache(tmp_path / "objects").verify(_digest(data))
