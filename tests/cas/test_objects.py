"""The object cache on real files: atomic adds, verification, and what a SIGKILL leaves behind.

Every test writes under tmp_path; the kill test runs a real child process and kills it.
"""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from lineal.cas import prune
from lineal.cas.hashing import SMALL, hash_file
from lineal.cas.objects import ObjectCache
from lineal.errors import IntegrityError, InvalidInput, NotFound

SRC = Path(__file__).resolve().parents[2] / "src"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def cache(tmp_path: Path) -> ObjectCache:
    return ObjectCache(tmp_path / "objects")


@pytest.mark.parametrize("size", [0, 1, 4096, SMALL, SMALL + 1, 3 * SMALL + 17])
def test_add_file_stores_a_read_only_object_once(
    cache: ObjectCache, tmp_path: Path, size: int
) -> None:
    data = os.urandom(size)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    digest, got_size, new = cache.add_file(src)
    assert (digest, got_size, new) == (_digest(data), size, True)
    path = cache.path(digest)
    hexpart = digest.removeprefix("sha256:")
    assert path == tmp_path / "objects" / "sha256" / hexpart[:2] / hexpart[2:]
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) & 0o222 == 0
    assert cache.has(digest)
    assert cache.verify(digest)
    assert cache.add_file(src) == (digest, size, False)
    assert list(cache.digests()) == [digest]
    assert not list((tmp_path / "objects" / "tmp").iterdir())
    assert hash_file(str(src))[:3] == (digest, size, False)


def test_add_bytes_open_read_remove(cache: ObjectCache) -> None:
    digest = cache.add_bytes(b"hello")
    assert digest == _digest(b"hello")
    assert cache.add_bytes(b"hello") == digest
    with cache.open(digest) as f:
        assert f.read() == b"hello"
    assert cache.read_bytes(digest) == b"hello"
    prune.remove(cache, [digest])
    assert not cache.has(digest)
    assert list(cache.digests()) == []
    for action in (cache.open, cache.read_bytes, cache.verify):
        with pytest.raises(NotFound, match=f"object {digest} is not in the local cache") as caught:
            action(digest)
        assert "lineal pull" in (caught.value.hint or "")


def test_bad_digests_are_refused(cache: ObjectCache) -> None:
    for bad in ("sha256:abc", "md5:" + "a" * 32, "../../etc/passwd"):
        with pytest.raises(InvalidInput, match="bad digest"):
            cache.path(bad)
        with pytest.raises(InvalidInput, match="bad digest"):
            cache.has(bad)


def test_a_corrupted_object_fails_verify(cache: ObjectCache) -> None:
    digest = cache.add_bytes(b"good bytes")
    path = cache.path(digest)
    path.chmod(0o644)
    path.write_bytes(b"evil bytes")
    assert not cache.verify(digest)


def test_install_moves_matching_bytes_into_place(cache: ObjectCache) -> None:
    tmp = cache.temp_path()
    tmp.write_bytes(b"downloaded")
    cache.install(tmp, _digest(b"downloaded"))
    assert not tmp.exists()
    assert cache.read_bytes(_digest(b"downloaded")) == b"downloaded"
    again = cache.temp_path()
    assert again != tmp
    again.write_bytes(b"downloaded")
    cache.install(again, _digest(b"downloaded"))  # already there: the temp is dropped
    assert not again.exists()


def test_install_with_wrong_bytes_raises_and_leaves_nothing(cache: ObjectCache) -> None:
    tmp = cache.temp_path()
    tmp.write_bytes(b"damaged on the way")
    expected = _digest(b"what was asked for")
    with pytest.raises(IntegrityError, match=f"object {expected} arrived with other bytes"):
        cache.install(tmp, expected)
    assert not tmp.exists()
    assert not cache.has(expected)
    assert list(cache.digests()) == []


def test_missing_and_non_regular_sources_are_refused(cache: ObjectCache, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file"):
        cache.add_file(tmp_path / "absent")
    with pytest.raises(InvalidInput, match="not a regular file"):
        cache.add_file(tmp_path)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(InvalidInput, match="not a regular file"):  # and does not hang
        cache.add_file(tmp_path / "fifo")


def test_a_file_changed_while_read_is_reported(cache: ObjectCache, tmp_path: Path) -> None:
    src = tmp_path / "busy.bin"
    src.write_bytes(os.urandom(48 * SMALL))
    stop = threading.Event()

    def touch() -> None:  # a writer that keeps changing the file's mtime
        tick = 0
        while not stop.is_set():
            tick += 1
            os.utime(src, ns=(tick, tick))

    writer = threading.Thread(target=touch)
    writer.start()
    try:
        with pytest.raises(InvalidInput, match=r"busy\.bin changed while it was read") as caught:
            cache.add_file(src)
        with pytest.raises(InvalidInput, match="changed while it was read"):
            hash_file(str(src))
    finally:
        stop.set()
        writer.join()
    assert caught.value.hint
    assert list(cache.digests()) == []
    assert not list((tmp_path / "objects" / "tmp").iterdir())


@pytest.mark.parametrize("size", [0, 1, 2047, 4096, 65537, SMALL - 1, SMALL, SMALL + 1])
def test_hash_file_matches_hashlib_and_reuses_no_stale_bytes(tmp_path: Path, size: int) -> None:
    small, big = tmp_path / "small.bin", tmp_path / "big.bin"
    big.write_bytes(os.urandom(size + 4096))  # read first: leaves bytes in the thread's buffer
    small.write_bytes(os.urandom(size))
    assert hash_file(str(big))[:2] == (_digest(big.read_bytes()), size + 4096)
    digest, got, new, before = hash_file(str(small))
    assert (digest, got, new, before.st_size) == (_digest(small.read_bytes()), size, False, size)


@pytest.mark.parametrize("grow", [True, False])
def test_a_file_resized_between_its_stat_and_its_read_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, grow: bool
) -> None:
    """A writer that appends to or truncates a small file after its stat, before its read."""
    src = tmp_path / "moving.bin"
    src.write_bytes(os.urandom(4096))
    real = os.readv
    calls = [0]

    def readv(fd: int, buffers: list[memoryview]) -> int:
        calls[0] += 1
        if calls[0] == 1:
            if grow:
                with src.open("ab") as f:
                    f.write(b"x")
            else:
                os.truncate(src, 100)
        return real(fd, buffers)

    monkeypatch.setattr(os, "readv", readv)
    with pytest.raises(InvalidInput, match=r"moving\.bin changed while it was read"):
        hash_file(str(src))
    assert calls[0] >= 1


_CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from lineal.cas.objects import ObjectCache

    cache = ObjectCache(Path(sys.argv[1]))
    for name in sys.argv[2:-1]:
        cache.add_file(Path(name))
    real_write = os.write
    def write_then_hang(fd, data):
        done = real_write(fd, data)
        print("writing", flush=True)
        sys.stdin.read()  # wait here, half written, for the SIGKILL
        return done
    os.write = write_then_hang
    cache.add_file(Path(sys.argv[-1]))
    """
)


def test_sigkill_mid_add_leaves_only_temp_files(tmp_path: Path) -> None:
    small = []
    for i in range(3):
        path = tmp_path / f"small{i}"
        path.write_bytes(os.urandom(1000 + i))
        small.append(str(path))
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(8 * SMALL))
    root = tmp_path / "objects"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(root), *small, str(big)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert child.stdout is not None
    try:
        assert child.stdout.readline() == b"writing\n"  # the big object is half written
        child.send_signal(signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        assert child.stdin is not None
        child.stdin.close()
    cache = ObjectCache(root)
    present = sorted(cache.digests())
    assert present == sorted(_digest(Path(p).read_bytes()) for p in small)
    assert all(cache.verify(d) for d in present)
    assert not cache.has(_digest(big.read_bytes()))
    leftovers = list((root / "tmp").iterdir())
    assert len(leftovers) == 1
    size = leftovers[0].stat().st_size
    assert 0 < size < big.stat().st_size
    now = time.time()  # gc with no grace period: every temp file not written to since goes
    assert prune.clean_temp(cache, now) == (1, size)
    assert not list((root / "tmp").iterdir())
    assert prune.clean_temp(cache, now) == (0, 0)


def test_sync_runs(cache: ObjectCache) -> None:
    cache.add_bytes(b"x")
    cache.sync()


def test_present_answers_by_listing_or_by_stat(cache: ObjectCache, tmp_path: Path) -> None:
    stored = [cache.add_bytes(b"object %d" % i) for i in range(40)]
    absent = [_digest(b"absent %d" % i) for i in range(40)]
    assert cache.present([]) == set()
    assert cache.present(stored + absent) == set(stored)  # many: one listing per folder
    assert cache.present([stored[0], absent[0]]) == {stored[0]}
    for i in range(2000):  # a cache much bigger than the question: one stat per digest
        cache.add_bytes(b"filler %d" % i)
    assert cache.present([stored[1], absent[1]]) == {stored[1]}
    (tmp_path / "objects" / "sha256" / "zz").mkdir()  # junk beside the objects is not one
    (tmp_path / "objects" / "sha256" / stored[2][7:9] / "junk").write_bytes(b"")
    assert len(set(cache.digests())) == 2040
    for bad in ("sha256:../../etc", f"{stored[0]}\n{stored[1]}"):
        with pytest.raises(InvalidInput, match="bad digest"):
            cache.present([stored[0], bad])
