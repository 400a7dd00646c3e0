"""The dataset commands against S3 (a local moto server): push, pull, checkout, --ref-only."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import RemoteSpec

LINEAL = str(Path(sys.executable).parent / "lineal")


def lineal(*args: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [LINEAL, *args], check=False, cwd=cwd, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def test_push_pull_and_reference_mode_over_s3(tmp_path: Path, s3_bucket: RemoteSpec) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    data = tmp_path / "data"
    data.mkdir()
    for n in range(12):
        (data / f"f{n}.bin").write_bytes(os.urandom(300 + n))
    lineal("init", "--agent", "alice", cwd=tmp_path, env=env)
    lineal("add", "data", "--name", "d", cwd=tmp_path, env=env)
    endpoint = s3_bucket.options["endpoint_url"]
    url = f"{s3_bucket.url}/store"
    lineal("remote", "add", "s3", url, "--endpoint-url", endpoint, cwd=tmp_path, env=env)
    pushed = json.loads(lineal("push", "--json", cwd=tmp_path, env=env))
    assert pushed["transferred"] == 13
    assert len(s3_bucket.fs.find(f"{s3_bucket.root}/store/sha256")) == 13
    # Lose the local cache, then get it back from S3 and check the data out.
    objects = tmp_path / ".lineal" / "objects"
    for path in sorted(objects.rglob("*"), reverse=True):
        if path.is_file():
            path.chmod(0o644)
            path.unlink()
    assert json.loads(lineal("pull", "--json", cwd=tmp_path, env=env))["transferred"] == 13
    lineal("checkout", "dataset/d", str(tmp_path / "out"), cwd=tmp_path, env=env)
    for n in range(12):
        assert (tmp_path / "out" / f"f{n}.bin").read_bytes() == (data / f"f{n}.bin").read_bytes()
    # Data that stays in the bucket: recorded by reference, no bytes copied.
    for n in range(3):
        s3_bucket.fs.pipe(f"{s3_bucket.root}/raw/part{n}.csv", f"row,{n}\n".encode())
    env_ref = {**env, "AWS_ENDPOINT_URL": endpoint}
    added = json.loads(
        lineal(
            "add", f"{s3_bucket.url}/raw", "--ref-only", "--name", "raw", "--json",
            cwd=tmp_path, env=env_ref,
        )
    )  # fmt: skip
    assert added["files"] == 3
    assert added["new_objects"] == 0
    shown = json.loads(lineal("show", "dataset/raw", "--json", cwd=tmp_path, env=env))
    assert shown["uri"] == f"{s3_bucket.url}/raw"
    assert "OK" in lineal("verify", cwd=tmp_path, env=env)


def test_add_ref_only_takes_the_endpoint_as_remote_add_does(
    tmp_path: Path, s3_bucket: RemoteSpec
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINEAL_", "AWS_ENDPOINT"))}
    lineal("init", "--agent", "alice", cwd=tmp_path, env=env)
    for n in range(3):
        s3_bucket.fs.pipe(f"{s3_bucket.root}/raw/part{n}.csv", f"row,{n}\n".encode())
    endpoint = s3_bucket.options["endpoint_url"]
    added = json.loads(
        lineal(
            "add", f"{s3_bucket.url}/raw", "--ref-only", "--endpoint-url", endpoint,
            "--name", "raw", "--json", cwd=tmp_path, env=env,
        )
    )  # fmt: skip
    assert (added["ref"], added["files"], added["new_objects"]) == ("dataset/raw@v1", 3, 0)
    # An endpoint nobody listens on: the hint names the option that exists.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    done = subprocess.run(
        [LINEAL, "add", f"{s3_bucket.url}/raw", "--ref-only", "--name", "raw",
         "--endpoint-url", f"http://127.0.0.1:{port}"],
        cwd=tmp_path, env={**env, "AWS_MAX_ATTEMPTS": "1"}, capture_output=True, text=True,
        check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    error, hint = done.stderr.splitlines()
    assert error.startswith(f"error: cannot reach the remote {s3_bucket.url}/raw")
    assert "--endpoint-url of lineal remote add or lineal add" in hint
    # The option is for data at a URL: refused, with the right use, for a local folder.
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("a")
    local = subprocess.run(
        [LINEAL, "add", "data", "--endpoint-url", endpoint],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert local.returncode == 1
    assert local.stderr.splitlines() == [
        "error: --endpoint-url is for data recorded by reference at an s3:// URL",
        "hint: lineal add s3://bucket/prefix --ref-only --endpoint-url URL",
    ]
