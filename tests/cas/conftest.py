"""Real remotes for the cas tests: a memory:// name, a file:// folder, and S3 on local moto.

The moto server runs in a thread of the test process, on a free port, for the whole session;
the AWS variables point botocore at fake credentials and away from the developer's own.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec
import pytest

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "lineal-test",
    "AWS_SECRET_ACCESS_KEY": "lineal-test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",  # no 1 s probe of an instance-metadata endpoint
}


@dataclass(frozen=True)
class RemoteSpec:
    """A remote's URL and options, and raw access to the same bytes (to inspect or damage)."""

    kind: str
    url: str
    fs: Any  # the fsspec file system holding the remote's bytes
    root: str  # the URL's path inside ``fs``
    options: dict[str, Any] = field(default_factory=dict)

    def child(self, name: str) -> RemoteSpec:
        return RemoteSpec(
            self.kind, f"{self.url}/{name}", self.fs, f"{self.root}/{name}", self.options
        )


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The endpoint URL of a moto S3 server started for this session."""
    from moto.server import ThreadedMotoServer

    nowhere = tmp_path_factory.mktemp("aws") / "absent"
    with pytest.MonkeyPatch.context() as patch:
        for key, value in AWS_ENV.items():
            patch.setenv(key, value)
        # Never read the developer's ~/.aws: these tests must see only the fake credentials.
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere))
        patch.setenv("AWS_CONFIG_FILE", str(nowhere))
        patch.delenv("AWS_PROFILE", raising=False)
        patch.delenv("AWS_SESSION_TOKEN", raising=False)
        # werkzeug logs one line per request; the failures that matter are asserted on.
        werkzeug = logging.getLogger("werkzeug")
        level = werkzeug.level
        werkzeug.setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()
            werkzeug.setLevel(level)


@pytest.fixture
def s3_bucket(moto_url: str) -> Iterator[RemoteSpec]:
    """A fresh, empty bucket on the moto server, emptied and removed afterwards."""
    options = {"endpoint_url": moto_url}
    fs = fsspec.filesystem("s3", **options)
    bucket = f"lineal-test-{uuid.uuid4().hex[:12]}"
    fs.mkdir(bucket)
    try:
        yield RemoteSpec("s3", f"s3://{bucket}", fs, bucket, options)
    finally:
        fs.rm(bucket, recursive=True)
        fs.invalidate_cache()


@pytest.fixture
def memory_root() -> Iterator[RemoteSpec]:
    """A memory:// name no other test uses, removed afterwards."""
    fs = fsspec.filesystem("memory")
    root = f"/lineal-test-{uuid.uuid4().hex[:12]}"
    try:
        yield RemoteSpec("memory", f"memory://{root}", fs, root)
    finally:
        if fs.exists(root):
            fs.rm(root, recursive=True)


@pytest.fixture
def file_root(tmp_path: Path) -> RemoteSpec:
    root = tmp_path / "remote"
    root.mkdir()
    return RemoteSpec("file", root.as_uri(), fsspec.filesystem("file"), root.as_posix())


@pytest.fixture(params=["memory", "file", "s3"])
def remote_spec(request: pytest.FixtureRequest) -> RemoteSpec:
    """Each kind of remote in turn: the same tests run on all three."""
    spec: RemoteSpec = request.getfixturevalue(
        {"memory": "memory_root", "file": "file_root", "s3": "s3_bucket"}[request.param]
    )
    return spec
