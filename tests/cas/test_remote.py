"""Remotes on memory://, file:// and S3 (a local moto server): only missing objects move,
every pulled byte is verified, a killed push or pull resumes, each failure is one lineal error.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from lineal.cas.manifest import Entry
from lineal.cas.objects import ObjectCache
from lineal.cas.remote import CHUNK, Remote, TransferResult
from lineal.errors import (
    IntegrityError,
    InvalidInput,
    LinealError,
    MissingExtra,
    NotFound,
    PermissionDenied,
    StoreUnavailable,
)

if TYPE_CHECKING:
    from conftest import RemoteSpec

SEED = 20_241_125


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def fill(cache: ObjectCache, count: int, rng: random.Random, largest: int = 4096) -> list[str]:
    """Add ``count`` distinct random objects (one empty) to ``cache``; their digests."""
    blobs = [b""] + [rng.randbytes(rng.randint(1, largest)) for _ in range(count - 1)]
    return [cache.add_bytes(blob) for blob in blobs]


def new_cache(tmp_path: Path) -> ObjectCache:
    return ObjectCache(tmp_path / f"cache-{uuid.uuid4().hex[:8]}")


def remote_objects(spec: RemoteSpec) -> dict[str, bytes]:
    """Every object on the remote, by digest; asserts each file under sha256/ is a whole one."""
    base = f"{spec.root}/sha256"
    spec.fs.invalidate_cache()
    found: dict[str, bytes] = {}
    for path in spec.fs.find(base):
        relative = path[len(base) + 1 :]
        fan, _, name = relative.partition("/")
        assert len(fan) == 2, f"stray file {path}"
        assert len(name) == 62, f"stray file {path}"
        data = spec.fs.cat_file(path)
        assert sha(data) == f"sha256:{fan}{name}", f"{path} does not hold the bytes it names"
        found[f"sha256:{fan}{name}"] = data
    return found


def read_object(cache: ObjectCache, digest: str) -> bytes:
    with cache.open(digest) as stream:
        return stream.read()


def one_line(error: LinealError) -> None:
    assert "\n" not in str(error)
    assert error.hint


def test_push_sends_only_missing_objects(remote_spec: RemoteSpec, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    cache = new_cache(tmp_path)
    digests = fill(cache, 20, rng)
    remote = Remote(remote_spec.url, options=remote_spec.options)
    calls: list[tuple[int, int, int]] = []

    def progress(done: int, total: int) -> None:
        calls.append((done, total, threading.get_ident()))

    first = remote.push(cache, [*digests, digests[0]], workers=4, progress=progress)
    sizes = sum(cache.path(d).stat().st_size for d in digests)
    assert first == TransferResult(sent=20, skipped=0, bytes=sizes)
    assert [(done, total) for done, total, _ in calls] == [(n, 20) for n in range(21)]
    assert {ident for *_, ident in calls} == {threading.get_ident()}
    stored = remote_objects(remote_spec)
    assert stored == {d: read_object(cache, d) for d in digests}

    assert remote.push(cache, digests) == TransferResult(sent=0, skipped=20, bytes=0)
    extra = cache.add_bytes(rng.randbytes(99))
    again = remote.push(cache, [*digests, extra])
    assert (again.sent, again.skipped, again.bytes) == (1, 20, 99)
    assert set(remote_objects(remote_spec)) == {*digests, extra}
    if remote_spec.kind == "file":  # read-only objects, and no temporary file left behind
        assert {
            p.stat().st_mode & 0o777 for p in Path(remote_spec.root, "sha256").rglob("*/*")
        } == {0o444}
        assert not list(Path(remote_spec.root, "incoming").iterdir())


def test_pull_into_an_empty_cache_gets_every_object_verified(
    remote_spec: RemoteSpec, tmp_path: Path
) -> None:
    rng = random.Random(SEED + 1)
    source = new_cache(tmp_path)
    digests = fill(source, 25, rng, largest=3 * CHUNK // 2)
    remote = Remote(remote_spec.url, options=remote_spec.options)
    remote.push(source, digests)

    target = new_cache(tmp_path)
    calls: list[tuple[int, int]] = []
    result = remote.pull(target, digests, workers=3, progress=lambda *c: calls.append(c))
    assert (result.sent, result.skipped, result.failed) == (25, 0, ())
    assert result.bytes == sum(source.path(d).stat().st_size for d in digests)
    assert calls[-1] == (25, 25)
    for digest in digests:
        assert sha(read_object(target, digest)) == digest
    assert remote.pull(target, digests) == TransferResult(sent=0, skipped=25, bytes=0)


def test_a_corrupt_remote_object_is_refused_and_the_rest_still_arrive(
    remote_spec: RemoteSpec, tmp_path: Path
) -> None:
    rng = random.Random(SEED + 2)
    source = new_cache(tmp_path)
    digests = fill(source, 12, rng)
    remote = Remote(remote_spec.url, options=remote_spec.options)
    remote.push(source, digests)
    bad = digests[5]
    path = f"{remote_spec.root}/sha256/{bad[7:9]}/{bad[9:]}"
    data = bytearray(remote_spec.fs.cat_file(path))
    data[len(data) // 2] ^= 0x01  # one flipped bit
    remote_spec.fs.rm_file(path)  # objects on a file:// remote are read-only
    remote_spec.fs.pipe_file(path, bytes(data))

    target = new_cache(tmp_path)
    with pytest.raises(IntegrityError) as caught:
        remote.pull(target, digests)
    one_line(caught.value)
    assert bad in str(caught.value)
    assert remote_spec.url in str(caught.value)
    assert not target.has(bad)
    assert all(read_object(target, d) == read_object(source, d) for d in digests if d != bad)

    lenient = new_cache(tmp_path)
    result = remote.pull(lenient, digests, strict=False)
    assert (result.sent, result.failed) == (11, (bad,))
    assert not lenient.has(bad)


def test_missing_lists_what_the_remote_lacks_in_order(
    remote_spec: RemoteSpec, tmp_path: Path
) -> None:
    cache = new_cache(tmp_path)
    digests = fill(cache, 10, random.Random(SEED + 3))
    remote = Remote(remote_spec.url, options=remote_spec.options)
    assert remote.missing([]) == []
    assert remote.missing([*digests, digests[0]]) == digests
    remote.push(cache, digests[::2])
    # Files that are not whole objects (a stray name, a temporary upload) do not count.
    stray = digests[1][7:]
    for folder, name in (("sha256/" + stray[:2], stray[2:] + ".part"), ("incoming", stray)):
        remote_spec.fs.makedirs(f"{remote_spec.root}/{folder}", exist_ok=True)
        remote_spec.fs.pipe_file(f"{remote_spec.root}/{folder}/{name}", b"x")
    assert remote.missing(reversed(digests)) == digests[1::2][::-1]
    with pytest.raises(InvalidInput):
        remote.missing(["sha256:abc"])


def test_hash_tree_hashes_every_file_under_the_url(remote_spec: RemoteSpec) -> None:
    rng = random.Random(SEED + 4)
    tree = {
        "a.txt": b"alpha",
        "sub/b.bin": rng.randbytes(5 * CHUNK // 2),  # spans several reads
        "sub/deeper/empty": b"",
        "unicode dir/ünï côdé.txt": "ü".encode(),
    }
    data = f"{remote_spec.root}/data"
    for name, content in tree.items():
        remote_spec.fs.makedirs(f"{data}/{name}".rsplit("/", 1)[0], exist_ok=True)
        remote_spec.fs.pipe_file(f"{data}/{name}", content)
    calls: list[tuple[int, int]] = []

    entries = Remote(f"{remote_spec.url}/data/", options=remote_spec.options).hash_tree(
        workers=2, progress=lambda *c: calls.append(c)
    )
    assert entries == [
        Entry(path=name, digest=sha(content), size=len(content))
        for name, content in sorted(tree.items())
    ]
    assert calls[-1] == (4, 4)
    single = Remote(f"{remote_spec.url}/data/a.txt", options=remote_spec.options)
    assert single.hash_tree() == [Entry(path="a.txt", digest=sha(b"alpha"), size=5)]
    with pytest.raises(NotFound):
        Remote(f"{remote_spec.url}/absent", options=remote_spec.options).hash_tree()


def test_an_object_absent_on_one_side_fails_alone(remote_spec: RemoteSpec, tmp_path: Path) -> None:
    cache = new_cache(tmp_path)
    digests = fill(cache, 6, random.Random(SEED + 5))
    remote = Remote(remote_spec.url, options=remote_spec.options)
    nowhere = sha(b"in no cache and on no remote")
    with pytest.raises(NotFound) as caught:
        remote.push(cache, [*digests, nowhere])
    one_line(caught.value)
    assert nowhere in str(caught.value)
    assert set(remote_objects(remote_spec)) == set(digests)

    target = new_cache(tmp_path)
    result = remote.pull(target, [nowhere, *digests], strict=False)
    assert (result.sent, result.failed) == (6, (nowhere,))
    with pytest.raises(NotFound, match=nowhere):
        remote.pull(new_cache(tmp_path), [nowhere])


# Run as `python -c MOVER push|pull CACHE URL OPTIONS DIGESTS`: say "started", then move the
# objects, saying "done N" as each lands; the test kills it with SIGKILL part of the way through.
MOVER = """
import json, sys
from pathlib import Path
from lineal.cas.objects import ObjectCache
from lineal.cas.remote import Remote

verb, cache, url, options, digests = sys.argv[1:6]
remote = Remote(url, options=json.loads(options))
print("started", flush=True)
getattr(remote, verb)(
    ObjectCache(Path(cache)),
    Path(digests).read_text().split(),
    workers=4,
    progress=lambda done, total: print("done", done, flush=True),
)
print("finished", flush=True)
"""


def kill_midway(
    verb: str, cache: ObjectCache, spec: RemoteSpec, digests: list[str], after: int
) -> None:
    """Run MOVER until ``after`` objects have landed, then SIGKILL it."""
    listing = cache.root.parent / f"digests-{uuid.uuid4().hex[:8]}.txt"
    listing.write_text("\n".join(digests))
    args = [verb, str(cache.root), spec.url, json.dumps(spec.options), str(listing)]
    with subprocess.Popen(
        [sys.executable, "-c", MOVER, *args], stdout=subprocess.PIPE, text=True
    ) as mover:
        assert mover.stdout is not None
        assert mover.stdout.readline() == "started\n"
        for line in mover.stdout:
            if line == f"done {after}\n":
                break
        mover.kill()  # SIGKILL: no handler, no cleanup
        rest = mover.stdout.read()
    assert mover.returncode == -9
    assert "finished" not in rest


@pytest.mark.parametrize("kind", ["file", "s3"])
def test_a_push_killed_midway_resumes_with_only_the_rest(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    spec: RemoteSpec = request.getfixturevalue({"file": "file_root", "s3": "s3_bucket"}[kind])
    rng = random.Random(f"{SEED}-push-{kind}")
    cache = new_cache(tmp_path)
    digests = fill(cache, 300, rng, largest=64 * 1024)
    kill_after = rng.randint(1, 150)
    kill_midway("push", cache, spec, digests, kill_after)

    arrived = remote_objects(spec)  # also checks nothing partial sits under sha256/
    assert kill_after <= len(arrived) < len(digests)
    result = Remote(spec.url, options=spec.options).push(cache, digests)
    assert (result.sent, result.skipped) == (len(digests) - len(arrived), len(arrived))
    assert remote_objects(spec) == {d: read_object(cache, d) for d in digests}


@pytest.mark.parametrize("kind", ["file", "s3"])
def test_a_pull_killed_midway_resumes_with_only_the_rest(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    spec: RemoteSpec = request.getfixturevalue({"file": "file_root", "s3": "s3_bucket"}[kind])
    rng = random.Random(f"{SEED}-pull-{kind}")
    source = new_cache(tmp_path)
    digests = fill(source, 300, rng, largest=64 * 1024)
    remote = Remote(spec.url, options=spec.options)
    remote.push(source, digests)
    target = new_cache(tmp_path)
    kill_after = rng.randint(1, 150)
    kill_midway("pull", target, spec, digests, kill_after)

    arrived = list(target.digests())
    assert all(target.verify(d) for d in arrived)  # nothing partial under its final name
    assert kill_after <= len(arrived) < len(digests)
    result = remote.pull(target, digests)
    assert (result.sent, result.skipped) == (len(digests) - len(arrived), len(arrived))
    assert all(target.verify(d) for d in digests)


# -- errors ------------------------------------------------------------------------------


def test_an_unknown_protocol_is_refused_with_the_supported_ones() -> None:
    with pytest.raises(InvalidInput) as caught:
        Remote("nosuch://bucket/data")
    one_line(caught.value)
    assert "nosuch://" in str(caught.value)
    assert caught.value.hint is not None
    for protocol in ("file://", "s3://", "gs://", "az://", "memory://"):
        assert protocol in caught.value.hint


MISSING_EXTRAS = """
import sys
for module in ("s3fs", "gcsfs", "adlfs"):
    sys.modules[module] = None  # as if it were not installed
from lineal.cas.remote import Remote
from lineal.errors import MissingExtra
for url in ("s3://bucket/x", "gs://bucket/x", "az://container/x"):
    try:
        Remote(url)
    except MissingExtra as error:
        print(url, error.extra, error, "|", error.hint)
"""


def test_a_missing_protocol_package_names_the_extra_to_install() -> None:
    out = subprocess.run(
        [sys.executable, "-c", MISSING_EXTRAS], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == [
        "s3://bucket/x s3 s3fs is not installed | pip install 'lineal[s3]'",
        "gs://bucket/x gcs gcsfs is not installed | pip install 'lineal[gcs]'",
        "az://container/x azure adlfs is not installed | pip install 'lineal[azure]'",
    ]
    assert issubclass(MissingExtra, ImportError)


def test_a_missing_bucket_or_folder_is_not_found(moto_url: str, tmp_path: Path) -> None:
    cache = new_cache(tmp_path)
    digests = fill(cache, 2, random.Random(SEED + 6))
    absent = [
        Remote(
            f"s3://lineal-absent-{uuid.uuid4().hex[:8]}/data", options={"endpoint_url": moto_url}
        ),
        Remote((tmp_path / "no" / "such" / "folder").as_uri()),
    ]
    for remote in absent:
        attempts = (
            lambda r=remote: r.missing(digests),
            lambda r=remote: r.push(cache, digests),
            lambda r=remote: r.pull(new_cache(tmp_path), digests),
            remote.hash_tree,
        )
        for attempt in attempts:
            with pytest.raises(NotFound) as caught:
                attempt()
            one_line(caught.value)
            assert remote.url in str(caught.value)
    assert not (tmp_path / "no").exists()  # nothing was created at the typo


def test_an_endpoint_nobody_listens_on_is_unavailable(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    options = {
        "endpoint_url": f"http://127.0.0.1:{port}",
        "config_kwargs": {"retries": {"max_attempts": 1}},  # fail now, not after backoff
        "key": "lineal-test",
        "secret": "lineal-test",
    }
    remote = Remote("s3://bucket/data", options=options)
    cache = new_cache(tmp_path)
    digests = fill(cache, 2, random.Random(SEED + 7))
    for attempt in (lambda: remote.missing(digests), lambda: remote.push(cache, digests)):
        with pytest.raises(StoreUnavailable) as caught:
            attempt()
        one_line(caught.value)
        assert f"127.0.0.1:{port}" in str(caught.value)


def test_refused_credentials_are_permission_denied(moto_url: str, s3_bucket: RemoteSpec) -> None:
    # moto accepts any key unless told to authenticate: from now on only keys that its IAM
    # knows pass, and it knows none, so every request below is refused with a 403.
    requests.post(f"{moto_url}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
    try:
        remote = Remote(
            s3_bucket.url, options={"endpoint_url": moto_url, "key": "wrong", "secret": "wrong"}
        )
        with pytest.raises(PermissionDenied) as caught:
            remote.missing([sha(b"x")])
    finally:
        requests.post(f"{moto_url}/moto-api/reset-auth", data=b"inf", timeout=10).raise_for_status()
    one_line(caught.value)
    assert "refused our credentials" in str(caught.value)
    assert caught.value.hint is not None
    assert "AWS_ACCESS_KEY_ID" in caught.value.hint


def test_no_credentials_at_all_are_permission_denied(
    s3_bucket: RemoteSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    # A new file system instance, so that botocore looks for credentials afresh.
    options = {**s3_bucket.options, "anon": False, "skip_instance_cache": True}
    with pytest.raises(PermissionDenied) as caught:
        Remote(s3_bucket.url, options=options).missing([sha(b"x")])
    one_line(caught.value)
    assert "Unable to locate credentials" in str(caught.value)  # botocore's words: no keys
    assert caught.value.hint is not None
    assert "AWS_ACCESS_KEY_ID" in caught.value.hint


def test_bad_workers_and_bad_options_are_invalid_input(
    memory_root: RemoteSpec, s3_bucket: RemoteSpec
) -> None:
    memory_root.fs.pipe_file(f"{memory_root.root}/a", b"a")
    with pytest.raises(InvalidInput, match="at least 1"):
        Remote(memory_root.url).hash_tree(workers=0)
    # s3fs hands unknown options to botocore, which refuses them only on the first request.
    options = {**s3_bucket.options, "no_such_option": 1}
    with pytest.raises(InvalidInput, match="no_such_option") as caught:
        Remote(s3_bucket.url, options=options).missing([sha(b"x")])
    one_line(caught.value)


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_push_removes_old_partial_uploads_and_keeps_fresh_ones(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    spec: RemoteSpec = request.getfixturevalue(f"{kind}_root")
    cache = new_cache(tmp_path)
    digests = fill(cache, 3, random.Random(SEED + 9))
    incoming = f"{spec.root}/incoming"
    spec.fs.makedirs(incoming, exist_ok=True)
    killed = f"{incoming}/{'a' * 64}.{'0' * 32}"  # a push killed two hours ago left it
    live = f"{incoming}/{'b' * 64}.{'1' * 32}"  # another machine is uploading it right now
    other = f"{incoming}/notes.txt"  # not an upload lineal names: not ours to remove
    for path in (killed, live, other):
        spec.fs.pipe_file(path, b"partial")
    two_hours_ago = time.time() - 2 * 3600
    for path in (killed, other):
        if kind == "file":
            os.utime(path, (two_hours_ago, two_hours_ago))
        else:
            spec.fs.store[path].modified = datetime.fromtimestamp(two_hours_ago, tz=UTC)
    result = Remote(spec.url, options=spec.options).push(cache, digests)
    assert (result.sent, result.cleaned) == (3, 1)
    spec.fs.invalidate_cache()
    assert sorted(spec.fs.ls(incoming, detail=False)) == sorted([live, other])
    assert Remote(spec.url, options=spec.options).push(cache, digests).cleaned == 0
