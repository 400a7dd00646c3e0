"""What gc may take from the object cache: only unreferenced copies untouched since the cutoff.

Real caches on disk; ages are set with os.utime, and a writer "beside" gc is a second
ObjectCache on the same folder doing what a snapshot does (ingest, add_bytes, freshen).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from lineal.cas import prune, repacking
from lineal.cas.objects import ObjectCache
from lineal.cas.packs import PACK_OBJECT_MAX
from lineal.cas.scan import snapshot
from lineal.cas.statcache import StatCache

DAY = 86400.0


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _age(path: str | Path, seconds: float = 2 * DAY) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def _pack_of(cache: ObjectCache, digest: str) -> str:
    cache.packs.refresh()
    pack = cache.packs.holder(bytes.fromhex(digest[7:]))
    assert pack is not None
    return pack


@pytest.fixture
def cache(tmp_path: Path) -> ObjectCache:
    return ObjectCache(tmp_path / "objects")


def _packed(cache: ObjectCache, folder: Path, *contents: bytes) -> list[str]:
    """Objects put in one pack, as a snapshot killed before it recorded would leave them."""
    folder.mkdir(parents=True, exist_ok=True)
    digests = []
    with cache.packing():
        for n, data in enumerate(contents):
            path = folder / f"{n}.bin"
            path.write_bytes(data)
            digests.append(cache.ingest(str(path))[0])
    return digests


def test_only_old_unreferenced_copies_are_removed(cache: ObjectCache, tmp_path: Path) -> None:
    kept = cache.add_bytes(b"a recorded version needs me")
    old_loose = cache.add_bytes(b"left by a killed add, long ago")
    young_loose = cache.add_bytes(b"written a moment ago")
    old_packed, old_packed_too = _packed(cache, tmp_path / "old", b"old 1", b"old 2")
    (young_packed,) = _packed(cache, tmp_path / "young", b"packed a moment ago")
    for path in (cache.path(kept), cache.path(old_loose), _pack_of(cache, old_packed)):
        _age(path)
    cutoff = time.time() - DAY
    split = prune.unreferenced(cache, {kept}, cutoff)
    assert sorted(split.old) == sorted([old_loose, old_packed, old_packed_too])
    assert sorted(split.young) == sorted([young_loose, young_packed])
    assert split.present == 6
    prune.remove(cache, split.old, older_than=cutoff)
    assert cache.present([kept, young_loose, young_packed]) == {kept, young_loose, young_packed}
    assert cache.missing(split.old) == split.old
    assert cache.read_bytes(young_packed) == b"packed a moment ago"


def test_a_writer_freshens_what_it_reuses(cache: ObjectCache, tmp_path: Path) -> None:
    loose = tmp_path / "big.bin"
    loose.write_bytes(os.urandom(PACK_OBJECT_MAX + 1))  # too big for a pack: a loose object
    old_loose = cache.add_file(loose)[0]
    manifest = cache.add_bytes(b"a manifest")
    (old_packed,) = _packed(cache, tmp_path / "small", b"small object")
    pack = _pack_of(cache, old_packed)
    for path in (cache.path(old_loose), cache.path(manifest), pack):
        _age(path)
    cutoff = time.time() - DAY
    assert sorted(prune.unreferenced(cache, set(), cutoff).old) == sorted(
        [old_loose, manifest, old_packed]
    )
    writer = ObjectCache(cache.root)  # another add, finding these already cached
    with writer.packing():
        assert writer.ingest(str(loose))[2] is False  # reused, not written again
        assert writer.ingest(str(tmp_path / "small" / "0.bin"))[2] is False
    assert writer.add_bytes(b"a manifest") == manifest
    split = prune.unreferenced(cache, set(), cutoff)
    assert split.old == []
    assert sorted(split.young) == sorted([old_loose, manifest, old_packed])


def test_a_snapshot_freshens_objects_it_trusts_from_the_stat_cache(
    cache: ObjectCache, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    digests = _packed(cache, data, b"one", b"two")
    past = time.time() - 60  # the stat cache distrusts files changed within its clock tick
    for path in data.iterdir():
        os.utime(path, (past, past))
    stats = StatCache(tmp_path / "stat.db")
    try:
        snapshot([data], objects=cache, stat_cache=stats)
        _age(_pack_of(cache, digests[0]))
        cutoff = time.time() - DAY
        assert sorted(prune.unreferenced(cache, set(), cutoff).old) == sorted(digests)
        again = snapshot([data], objects=ObjectCache(cache.root), stat_cache=stats)
    finally:
        stats.close()
    assert (again.hashed, again.from_stat_cache) == (0, 2)  # not read: trusted, and freshened
    assert prune.unreferenced(cache, set(), cutoff).old == []


def test_an_object_reused_after_gc_looked_at_its_age_is_not_removed(
    cache: ObjectCache, tmp_path: Path
) -> None:
    loose = cache.add_bytes(b"old and unreferenced")
    packed, neighbour = _packed(cache, tmp_path / "p", b"old, in a pack", b"its neighbour")
    for path in (cache.path(loose), _pack_of(cache, packed)):
        _age(path)
    cutoff = time.time() - DAY
    split = prune.unreferenced(cache, set(), cutoff)  # gc decides: all three may go
    assert sorted(split.old) == sorted([loose, packed, neighbour])
    writer = ObjectCache(cache.root)  # then a writer gc cannot see reuses two of them
    assert writer.freshen([loose, packed]) == {loose, packed}
    prune.remove(cache, split.old, older_than=cutoff)  # and gc removes what it decided
    assert cache.present(split.old) == {loose, packed, neighbour}  # the pack stays whole
    assert cache.read_bytes(packed) == b"old, in a pack"


def test_a_pack_touched_while_it_is_rewritten_stays_whole(
    cache: ObjectCache, tmp_path: Path
) -> None:
    gone, kept = _packed(cache, tmp_path / "p", b"unreferenced", b"referenced")
    old_pack = _pack_of(cache, gone)
    _age(old_pack)
    cutoff = time.time() - DAY
    writer = ObjectCache(cache.root)
    new_temps = []

    def temp_then_reuse() -> str:  # the rewrite has begun: a writer reuses `gone` now
        new_temps.append(cache.temp_name())
        assert writer.freshen([gone]) == {gone}
        return new_temps[-1]

    unwanted = bytes.fromhex(gone[7:])
    dropped = repacking.repack(cache.packs, unwanted.__ne__, temp_then_reuse, older_than=cutoff)
    assert dropped == (0, 0)
    assert new_temps  # it did start rewriting the pack
    assert sorted(p.name for p in (cache.root / "packs").iterdir()) == [Path(old_pack).name]
    assert cache.present([gone, kept]) == {gone, kept}


def test_temp_files_go_once_nothing_has_written_to_them_for_the_grace_period(
    cache: ObjectCache, tmp_path: Path
) -> None:
    killed = cache.temp_path()
    killed.write_bytes(b"x" * 1000)  # what a writer killed yesterday left
    _age(killed)
    live = cache.temp_path()
    live.write_bytes(b"being written")
    with cache.packing():  # a pack being written now is a temp file too, not yet in packs/
        (tmp_path / "f").write_bytes(b"packed")
        cache.ingest(str(tmp_path / "f"))
        writing = [p for p in cache.temp_folder.iterdir() if p not in (killed, live)]
        assert len(writing) == 1
        assert prune.clean_temp(cache, time.time() - DAY) == (1, 1000)
        assert sorted(cache.temp_folder.iterdir()) == sorted([live, *writing])
    assert cache.has(_digest(b"packed"))  # the pack was sealed: gc left its temp file alone
