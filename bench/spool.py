"""Spool throughput: put() of 1,000,000 metric points, batched as run.log's flusher batches them.

The points go through the SDK's own MetricBuffer, drained into a metrics.batch op whenever
``per_batch`` points wait (the flusher's BIG_BATCH of 100,000 in a tight loop; 1,000 for a loop
that logs 1,000 points a second, flushed each second). Each op's payload is encoded once, up
front (any store would); what is timed is Spool.put() of every batch: framing, sha256 and one
fsync per batch. The reference, in the same run and on the same disk, appends the very same
batch bodies to a plain file with os.write + os.fsync per batch. Prints one line per figure:
name, ours, reference, ratio (ours / reference; points per second, higher is better).

    python bench/spool.py [--points 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from lineal.model.ops import MetricsBatch
from lineal.store.batches import encode_batch
from lineal.store.spool import Spool
from lineal.tracking.metrics import MetricBuffer

RUN = "01HZX3Y4Z5A6B7C8D9E0F1G2H3"
KEYS = ("loss", "acc")


def payloads(points: int, per_batch: int) -> list[bytes]:
    """metrics.batch payloads as the flusher makes them from run.log({"loss", "acc"}, step)."""
    buffer, made = MetricBuffer(), []
    for step in range(points // len(KEYS)):
        buffer.log({"loss": 1.0 / (step + 1), "acc": step * 1e-6}, step)
        if buffer.pending() >= per_batch:
            made.append(MetricsBatch(run=RUN, series=tuple(buffer.drain())).encode())
    if buffer.pending():
        made.append(MetricsBatch(run=RUN, series=tuple(buffer.drain())).encode())
    return made


def ours(workdir: Path, batches: list[bytes]) -> float:
    with Spool(workdir / "spool", warn_bytes=1 << 40) as spool:
        start = time.perf_counter()
        for payload in batches:
            spool.put([("metrics.batch", payload)], agent="bench")
        return time.perf_counter() - start


def reference(workdir: Path, bodies: list[bytes]) -> float:
    fd = os.open(workdir / "plain.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        start = time.perf_counter()
        for body in bodies:
            os.write(fd, body)
            os.fsync(fd)
        return time.perf_counter() - start
    finally:
        os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for per_batch in (100_000, 1_000):
        batches = payloads(args.points, per_batch)
        bodies = [encode_batch("bench", [("metrics.batch", p)], "0" * 32) for p in batches]
        mine, theirs = [], []
        for _ in range(args.repeats):  # alternate, so both see the same disk weather
            with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
                mine.append(ours(Path(tmp), batches))
            with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
                theirs.append(reference(Path(tmp), bodies))
        a = args.points / statistics.median(mine)
        b = args.points / statistics.median(theirs)
        name = f"spool put, {per_batch:,}-point batches ({len(batches)} puts), points/s"
        print(f"{name}: ours {a:,.0f}, reference {b:,.0f}, ratio {a / b:.2f}")


if __name__ == "__main__":
    main()
