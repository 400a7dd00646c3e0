"""Objects through the team server: push and pull throughput of MB megabytes in objects of
1 to 10 MB through a `lineal server` (objects in a local folder) vs the same objects through a
file:// remote on the same disk (lineal.cas.remote.Remote), which moves no bytes over HTTP.

One `lineal server` process over a SQLite base, started here on a loopback port and stopped
(only it) at the end. Each repetition pushes from the same cache into a fresh project (and a
fresh folder), then pulls into a fresh cache; both sides hash every object (the server on
arrival, the cache before it installs a download). Median of REPEAT runs per figure.

    python bench/objects_server.py [--mb 200] [--repeat 3] [--workers 8]

Prints one line per figure: name, ours, reference, ratio (ours / reference; MB/s, so higher
is better for ours).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from lineal.cas.http_remote import HttpRemote
from lineal.cas.objects import ObjectCache
from lineal.cas.remote import Remote
from lineal.store.registry import create_project

BIN = Path(sys.executable).parent
MB = 1 << 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(base: str, objects: Path, log: Path) -> Iterator[str]:
    """A `lineal server` on a free port: its URL while the block runs."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    cmd = [str(BIN / "lineal"), "server", "--uri", base, "--port", str(port)]
    with log.open("w") as out:
        proc = subprocess.Popen([*cmd, "--objects", str(objects)], stdout=out, stderr=out, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(log.read_text()) from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def fill(cache: ObjectCache, total: int, rng: random.Random) -> list[str]:
    """Random objects of 1 to 10 MB, ``total`` bytes in all."""
    digests = []
    left = total
    while left > 0:
        size = min(left, rng.randint(1 * MB, 10 * MB))
        digests.append(cache.add_bytes(os.urandom(size)))
        left -= size
    return digests


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def line(name: str, ours: float, ref: float, unit: str) -> None:
    print(
        f"{name:<36} ours {ours:>9,.1f} {unit:<5} ref {ref:>9,.1f} {unit:<5} "
        f"ratio {ours / ref:6.2f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lineal-bench-objects-") as tmp:
        root = Path(tmp)
        base = f"sqlite:///{root / 'projects'}"
        source = ObjectCache(root / "source")
        digests = fill(source, args.mb * MB, random.Random(1))
        total = sum(source.size(d) for d in digests) / MB
        print(f"# {len(digests)} objects, {total:,.0f} MB, {args.workers} workers each way")
        runs: dict[str, list[float]] = {k: [] for k in ("push", "pull", "push_ref", "pull_ref")}
        with server(base, root / "objects", root / "server.log") as url:
            for n in range(args.repeat):
                project = f"p{uuid.uuid4().hex[:8]}"
                create_project(base, project)
                ours = HttpRemote(f"{url}/projects/{project}")
                folder = root / f"remote-{n}"
                folder.mkdir()
                ref = Remote(folder.as_uri())
                for name, remote in (("", ours), ("_ref", ref)):
                    into = ObjectCache(root / f"pulled{name}-{n}")
                    push = timed(lambda r=remote: r.push(source, digests, workers=args.workers))
                    pull = timed(lambda r=remote, c=into: r.pull(c, digests, workers=args.workers))
                    runs[f"push{name}"].append(total / push)
                    runs[f"pull{name}"].append(total / pull)
    for what in ("push", "pull"):
        line(
            f"{what} {args.mb} MB, 1-10 MB objects",
            statistics.median(runs[what]),
            statistics.median(runs[f"{what}_ref"]),
            "MB/s",
        )


if __name__ == "__main__":
    main()
