"""The MLflow tracking API through `lineal server` (ours) next to `mlflow server` (reference).

Starts both servers here, one worker each, over SQLite in a temporary folder (``--backend
postgres``: over fresh PostgreSQL databases at 127.0.0.1:5432 for both), then drives them with
the real ``mlflow`` client from this one process, taking turns: each round logs to one server and
then the other (the order alternating), so noise on a shared machine falls on both alike.
Figures (lower is better; ratio = ours / reference, goal ≤ 1):

- ``log_metric``: ``mlflow.log_metric`` one point per call, ms per call (median of rounds);
- ``log_batch_1000``: ``MlflowClient.log_batch`` of 1,000 metrics per call, ms per call.

    PYTHONPATH=src python bench/interop_mlflow.py [--rounds 10] [--points 100] [--batches 5]
"""

from __future__ import annotations

import argparse
import os
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
from typing import Any

import httpx

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
BIN = Path(sys.executable).parent
PG = "postgresql://postgres@127.0.0.1:5432"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serving(command: list[str], url: str, probe: str, log: Path) -> Iterator[str]:
    with log.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{command[0]} exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(url + probe, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not answer: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _pg_database(name: str) -> str:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"')
    return f"{PG}/{name}"


def _drop_databases(prefix: str) -> None:
    """Drop the database ``prefix`` and every ``prefix_…`` one (a lineal server's projects and
    its own audit log ``prefix__server``): the bench leaves nothing behind."""
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as db:
        names = db.execute(
            "SELECT datname FROM pg_database WHERE datname = %s OR starts_with(datname, %s)",
            (prefix, f"{prefix}_"),
        ).fetchall()
        for (name,) in names:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _lineal(folder: Path, backend: str) -> Iterator[str]:
    from lineal.store.registry import create_project

    if backend == "postgres":
        base = f"{PG}/lb{uuid.uuid4().hex[:10]}"
    else:
        base = f"sqlite:///{folder / 'lineal-projects'}"
    create_project(base, "bench")
    port = _port()
    command = [str(BIN / "lineal"), "server", "--uri", base, "--port", str(port)]
    command += ["--project", "bench", "--objects", str(folder / "lineal-objects")]
    try:
        with _serving(
            command, f"http://127.0.0.1:{port}", "/api/v1/health", folder / "l.log"
        ) as url:
            yield url
    finally:
        if backend == "postgres":
            _drop_databases(base.rsplit("/", 1)[1])


@contextmanager
def _mlflow(folder: Path, backend: str) -> Iterator[str]:
    name = f"mb{uuid.uuid4().hex[:10]}"
    if backend == "postgres":
        uri = _pg_database(name).replace("postgresql:", "postgresql+psycopg:")
    else:
        uri = f"sqlite:///{folder / 'mlflow.db'}"
    port = _port()
    command = [str(BIN / "mlflow"), "server", "--backend-store-uri", uri, "--port", str(port)]
    command += ["--workers", "1", "--artifacts-destination", str(folder / "mlflow-artifacts")]
    try:
        with _serving(command, f"http://127.0.0.1:{port}", "/health", folder / "m.log") as url:
            yield url
    finally:
        if backend == "postgres":
            _drop_databases(name)


def _one_point_calls(url: str, run_id: str, points: int, offset: int, key: str = "loss") -> float:
    import mlflow

    mlflow.set_tracking_uri(url)
    started = time.perf_counter()
    for i in range(points):
        mlflow.log_metric(key, 1.0 / (offset + i + 1), step=offset + i, run_id=run_id)
    return (time.perf_counter() - started) * 1000 / points


def _batches(url: str, run_id: str, batches: int, offset: int, key: str = "m") -> float:
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient(tracking_uri=url)
    now = int(time.time() * 1000)
    started = time.perf_counter()
    for b in range(batches):
        step = (offset + b) * 100
        metrics = [Metric(f"{key}{i % 10}", i * 0.5, now + i, step + i // 10) for i in range(1000)]
        client.log_batch(run_id, metrics=metrics, synchronous=True)
    return (time.perf_counter() - started) * 1000 / batches


def _run(url: str) -> str:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=url)
    experiment = client.create_experiment(f"bench-{uuid.uuid4().hex[:8]}")
    return str(client.create_run(experiment).info.run_id)


def _turns(
    rounds: int, ours: Callable[[int], float], reference: Callable[[int], float]
) -> tuple[float, float]:
    mine: list[float] = []
    theirs: list[float] = []
    for r in range(rounds):
        pair = [(ours, mine), (reference, theirs)]
        for measure, into in pair if r % 2 == 0 else reversed(pair):
            into.append(measure(r))
    return statistics.median(mine), statistics.median(theirs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--points", type=int, default=100, help="log_metric calls a round")
    parser.add_argument("--batches", type=int, default=5, help="log_batch calls a round")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with _lineal(folder, args.backend) as lineal, _mlflow(folder, args.backend) as mlflow:
            runs = {lineal: _run(lineal), mlflow: _run(mlflow)}
            for url, run in runs.items():  # warm both: first calls pay imports, connections
                _one_point_calls(url, run, 5, 0, "warm")
                _batches(url, run, 1, 0, "warm")
            figures: list[tuple[str, Any, Any]] = []
            ours, reference = _turns(
                args.rounds,
                lambda r: _one_point_calls(lineal, runs[lineal], args.points, r * args.points),
                lambda r: _one_point_calls(mlflow, runs[mlflow], args.points, r * args.points),
            )
            figures.append((f"log_metric_ms[{args.backend}]", ours, reference))
            ours, reference = _turns(
                args.rounds,
                lambda r: _batches(lineal, runs[lineal], args.batches, r * args.batches),
                lambda r: _batches(mlflow, runs[mlflow], args.batches, r * args.batches),
            )
            figures.append((f"log_batch_1000_ms[{args.backend}]", ours, reference))
    for name, mine, theirs in figures:
        print(f"{name}  {mine:.2f}  {theirs:.2f}  {mine / theirs:.2f}")


if __name__ == "__main__":
    main()
