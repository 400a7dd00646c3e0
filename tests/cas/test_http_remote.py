"""A lineal server as a remote (real `lineal server` processes, objects in a folder and on S3
through a local moto server): only missing objects move, uploads are verified by the server and
downloads by the client, and a refused or cut-off upload leaves nothing under its final name.
"""

from __future__ import annotations

import hashlib
import os
import random
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
import httpx
import pytest

from lineal.cas.http_remote import HttpRemote
from lineal.cas.objects import ObjectCache
from lineal.errors import IntegrityError, InvalidInput, NotFound, StoreUnavailable
from lineal.store.registry import create_project
from server_process import free_port, start_server, stop

SEED = 20_261_207


@dataclass(frozen=True)
class ObjectServer:
    kind: str
    base: str  # the server's store URI
    url: str  # http://127.0.0.1:PORT
    fs: Any  # the file system holding the server's objects
    root: str  # the objects' root in ``fs`` (``<root>/<project>/sha256/…``)

    def project(self) -> tuple[str, str]:
        """A fresh project: (its remote URL, its objects' root in ``fs``)."""
        name = f"p{uuid.uuid4().hex[:10]}"
        create_project(self.base, name)
        return f"{self.url}/projects/{name}", f"{self.root}/{name}"


@pytest.fixture(scope="module", params=["folder", "s3"])
def object_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ObjectServer]:
    folder = tmp_path_factory.mktemp("object-server")
    base = f"sqlite:///{folder / 'projects'}"
    if request.param == "folder":
        fs, root, env = fsspec.filesystem("file"), str(folder / "objects"), {}
        objects = root
    else:
        endpoint = request.getfixturevalue("moto_url")
        fs = fsspec.filesystem("s3", endpoint_url=endpoint)
        root = f"lineal-objects-{uuid.uuid4().hex[:10]}"
        fs.mkdir(root)
        objects, env = f"s3://{root}", {"AWS_ENDPOINT_URL": endpoint}
    proc, url = start_server(base, folder, args=["--objects", objects], env=env)
    try:
        yield ObjectServer(request.param, base, url, fs, root)
    finally:
        stop(proc)
        if request.param == "s3":
            fs.rm(root, recursive=True)


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def fill(cache: ObjectCache, rng: random.Random) -> dict[str, bytes]:
    """Objects of many sizes (empty, small, several CHUNKs) added to ``cache``, by digest."""
    blobs = [b"", *(rng.randbytes(rng.randint(1, 5000)) for _ in range(20))]
    blobs.append(rng.randbytes(3 * (1 << 20) + 17))  # streamed in pieces both ways
    return {cache.add_bytes(blob): blob for blob in blobs}


def kept(server: ObjectServer, root: str) -> dict[str, bytes]:
    """Every object the server keeps for a project; each file is a whole one."""
    base = f"{root}/sha256"
    server.fs.invalidate_cache()
    found = {}
    for path in server.fs.find(base):
        fan, _, name = path[len(base) + 1 :].partition("/")
        data = server.fs.cat_file(path)
        assert sha(data) == f"sha256:{fan}{name}", f"{path} does not hold the bytes it names"
        found[sha(data)] = data
    return found


def test_push_then_pull_through_the_server_gives_the_same_bytes(
    object_server: ObjectServer, tmp_path: Path
) -> None:
    url, root = object_server.project()
    here = ObjectCache(tmp_path / "here")
    blobs = fill(here, random.Random(SEED))
    remote = HttpRemote(url)
    pushed = remote.push(here, blobs)
    assert (pushed.sent, pushed.skipped, pushed.bytes) == (
        len(blobs),
        0,
        sum(map(len, blobs.values())),
    )
    assert kept(object_server, root) == blobs
    again = remote.push(here, blobs)  # the server has them all: nothing is sent
    assert (again.sent, again.skipped, again.bytes) == (0, len(blobs), 0)
    there = ObjectCache(tmp_path / "there")
    pulled = remote.pull(there, blobs)
    assert (pulled.sent, pulled.skipped) == (len(blobs), 0)
    for digest, blob in blobs.items():
        with there.open(digest) as stream:
            assert stream.read() == blob
    assert remote.pull(there, blobs).sent == 0
    assert remote.missing([*blobs, sha(b"not pushed")]) == [sha(b"not pushed")]


def test_only_what_is_missing_moves_after_a_partial_push(
    object_server: ObjectServer, tmp_path: Path
) -> None:
    url, root = object_server.project()
    here = ObjectCache(tmp_path / "here")
    digests = list(fill(here, random.Random(SEED + 1)))
    remote = HttpRemote(url)
    assert remote.push(here, digests[:5]).sent == 5
    resumed = remote.push(here, digests)
    assert (resumed.sent, resumed.skipped) == (len(digests) - 5, 5)
    assert set(kept(object_server, root)) == set(digests)


def test_an_upload_with_other_bytes_is_refused_and_not_kept(
    object_server: ObjectServer, tmp_path: Path
) -> None:
    url, root = object_server.project()
    hexdigest = sha(b"the real bytes").removeprefix("sha256:")
    answer = httpx.put(f"{_objects(url)}/sha256/{hexdigest}", content=b"other bytes", timeout=30)
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "invalid_input"
    assert "hash to " + sha(b"other bytes") in body["error"]
    assert "nothing was kept" in body["error"]
    assert body["hint"]
    assert kept(object_server, root) == {}
    _no_partial_uploads(object_server, root)
    assert HttpRemote(url).missing([f"sha256:{hexdigest}"]) == [f"sha256:{hexdigest}"]


def test_the_client_names_a_damaged_cache_copy_the_server_refused(
    object_server: ObjectServer, tmp_path: Path
) -> None:
    url, root = object_server.project()
    here = ObjectCache(tmp_path / "here")
    good, bad = here.add_bytes(b"good object"), here.add_bytes(b"object to damage")
    path = here.path(bad)
    path.chmod(0o644)
    path.write_bytes(b"damaged in the cache")
    remote = HttpRemote(url)
    with pytest.raises(IntegrityError) as caught:
        remote.push(here, [good, bad])
    assert f"the server refused object {bad} from the local cache" in str(caught.value)
    assert "1 other objects were pushed to" in str(caught.value)
    assert "add the data again" in str(caught.value.hint)
    assert set(kept(object_server, root)) == {good}


def test_an_upload_cut_off_leaves_nothing_under_its_final_name(
    object_server: ObjectServer, tmp_path: Path
) -> None:
    url, root = object_server.project()
    blob = random.Random(SEED + 2).randbytes(4 << 20)
    digest = sha(blob)
    host, port = object_server.url.removeprefix("http://").split(":")
    path = f"{_objects(url).removeprefix(object_server.url)}/sha256/{digest[7:]}"
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        head = f"PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(blob)}\r\n\r\n"
        sock.sendall(head.encode() + blob[: 1 << 20])  # a quarter, then the client is gone
    remote = HttpRemote(url)
    _wait_for_no_partial_uploads(object_server, root)
    assert kept(object_server, root) == {}
    assert remote.missing([digest]) == [digest]
    here = ObjectCache(tmp_path / "here")
    here.add_bytes(blob)
    assert remote.push(here, [digest]).sent == 1  # a later push sends it whole
    assert kept(object_server, root) == {digest: blob}


def test_pull_refuses_an_object_altered_on_the_server(
    object_server: ObjectServer, tmp_path: Path
) -> None:
    url, root = object_server.project()
    here = ObjectCache(tmp_path / "here")
    blobs = fill(here, random.Random(SEED + 3))
    remote = HttpRemote(url)
    remote.push(here, blobs)
    damaged = sorted(blobs)[3]
    where = f"{root}/sha256/{damaged[7:9]}/{damaged[9:]}"
    if object_server.kind == "folder":
        Path(where).chmod(0o644)
    object_server.fs.pipe_file(where, b"altered on the server")
    there = ObjectCache(tmp_path / "there")
    with pytest.raises(IntegrityError) as caught:
        remote.pull(there, blobs)
    message = str(caught.value)
    assert f"object {damaged} from the server {url} does not match its digest" in message
    assert f"{len(blobs) - 1} other objects were pulled from" in message
    assert not there.has(damaged)
    lenient = remote.pull(ObjectCache(tmp_path / "lenient"), blobs, strict=False)
    assert (lenient.sent, lenient.failed) == (len(blobs) - 1, (damaged,))


def test_pull_of_an_object_the_server_lacks_names_it(
    object_server: ObjectServer, tmp_path: Path
) -> None:
    url, _ = object_server.project()
    absent = sha(b"never pushed")
    with pytest.raises(NotFound) as caught:
        HttpRemote(url).pull(ObjectCache(tmp_path / "c"), [absent])
    assert f"object {absent} is not on the server {url}" in str(caught.value)
    assert "lineal push" in str(caught.value.hint)
    skipped = HttpRemote(url).pull(ObjectCache(tmp_path / "c"), [absent], optional={absent})
    assert (skipped.sent, skipped.failed) == (0, ())


def test_reads_of_an_absent_object_answer_404_json(object_server: ObjectServer) -> None:
    url, _ = object_server.project()
    where = f"{_objects(url)}/sha256/{'ab' * 32}"
    got = httpx.get(where, timeout=30)
    assert got.status_code == 404
    assert got.json()["code"] == "not_found"
    assert httpx.head(where, timeout=30).status_code == 404
    bad = httpx.get(f"{_objects(url)}/sha256/{'AB' * 32}", timeout=30)
    assert bad.status_code == 422
    assert "expected text matching ^[0-9a-f]{64}$" in bad.json()["error"]
    nobody = httpx.post(
        f"{object_server.url}/api/v1/projects/nobody/objects/missing",
        json={"digests": []},
        timeout=30,
    )
    assert nobody.status_code == 404
    assert "no project 'nobody'" in nobody.json()["error"]


def test_a_server_that_cannot_be_reached_or_a_bad_url_is_one_error(tmp_path: Path) -> None:
    remote = HttpRemote(f"http://127.0.0.1:{free_port()}/projects/vision")
    with pytest.raises(StoreUnavailable) as caught:
        remote.push(ObjectCache(tmp_path / "c"), [sha(b"x")])
    assert "cannot reach the lineal server at http://127.0.0.1:" in str(caught.value)
    with pytest.raises(InvalidInput, match="expected http\\(s\\)://HOST:PORT/projects/NAME"):
        HttpRemote("http://127.0.0.1:8470/vision")


def _objects(url: str) -> str:
    base, project = url.rsplit("/projects/", 1)
    return f"{base}/api/v1/projects/{project}/objects"


def _incoming(server: ObjectServer, root: str) -> list[str]:
    folder = Path(root) / "incoming"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _no_partial_uploads(server: ObjectServer, root: str) -> None:
    if server.kind == "folder":  # elsewhere uploads are staged on the server's own disk
        assert _incoming(server, root) == []


def _wait_for_no_partial_uploads(server: ObjectServer, root: str) -> None:
    """The server notices the client is gone and removes what arrived (a bounded wait)."""
    deadline = time.monotonic() + 30
    while server.kind == "folder" and _incoming(server, root):
        assert time.monotonic() < deadline, _incoming(server, root)
        time.sleep(0.05)


def test_a_server_killed_mid_upload_keeps_nothing_and_cleans_up_later(
    tmp_path: Path,
) -> None:
    base, objects = f"sqlite:///{tmp_path / 'projects'}", tmp_path / "objects"
    create_project(base, "vision")
    args = ["--objects", str(objects)]
    proc, url = start_server(base, tmp_path, args=args)
    blob = random.Random(SEED + 4).randbytes(4 << 20)
    digest = sha(blob)
    incoming = objects / "vision" / "incoming"
    try:
        host, port = url.removeprefix("http://").split(":")
        path = f"/api/v1/projects/vision/objects/sha256/{digest[7:]}"
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            head = f"PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(blob)}\r\n\r\n"
            sock.sendall(head.encode() + blob[: 1 << 20])
            deadline = time.monotonic() + 30
            while not (incoming.is_dir() and any(incoming.iterdir())):
                assert time.monotonic() < deadline, "the upload never started"
                time.sleep(0.05)
            proc.kill()  # SIGKILL: the server cannot tidy up
            proc.wait(timeout=10)
    finally:
        stop(proc)
    (partial,) = incoming.iterdir()
    assert not (objects / "vision" / "sha256" / digest[7:9] / digest[9:]).exists()
    proc, url = start_server(base, tmp_path, args=args)
    try:
        remote = HttpRemote(f"{url}/projects/vision")
        assert remote.missing([digest]) == [digest]
        assert partial.exists()  # fresh: it may be an upload under way
        an_hour_ago = time.time() - 3601
        os.utime(partial, (an_hour_ago, an_hour_ago))
        assert remote.missing([digest]) == [digest]
        assert not partial.exists()
    finally:
        stop(proc)
