"""OpenLineage ingest on a live `lineal server` over PostgreSQL (several workers).

Events: pipelines of one run each, a START and a COMPLETE (a schema'd input from a pool of
100 tables, a versioned output from a pool of 1,000), every facet with its schema, as the
openlineage-python client sends them: one event per POST /api/v1/lineage (its HttpTransport
sends one request per event), from CONCURRENCY keep-alive connections (aiohttp).

  1. sustained ingest, events/s: EVENTS events as fast as the server answers 201 (each 201
     means durable: the transaction holding the event committed); every event is then
     counted in the project (0 lost). Goal: at least 2,000/s.
     Reference: the raw PostgreSQL floor, measured in the same run: the same events' JSON
     inserted as rows of a plain table (jsonb), one committed transaction per event (what a
     201 promises), from CONCURRENCY connections (psycopg, async).
     Beside it, the same events 100 to a POST of the batch endpoint (8 at once): what the
     ingest itself sustains, apart from one HTTP request per event.
  2. p99 latency at a fixed RATE events/s, open loop (each event is sent at its scheduled
     time whether or not earlier ones were answered; latency is from that time to the
     answer, so queueing counts) for SECONDS seconds. Goal: under 50 ms.
     Reference: the same schedule of raw PostgreSQL inserts (one transaction each) through
     a pool of CONCURRENCY connections.

    python bench/interop_openlineage.py [--events 20000] [--concurrency 64] [--workers 2]
        [--rate 500] [--seconds 10] [--pg postgresql://postgres@127.0.0.1:5432/postgres]

Prints ``name  ours  reference  ratio`` lines. The spec folder (full validation) is
../shared/data/openlineage/OpenLineage__OpenLineage/spec when present, else $SPEC_DIR.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SPEC = Path(
    os.environ.get("SPEC_DIR")
    or REPO.parent / "shared" / "data" / "openlineage" / "OpenLineage__OpenLineage" / "spec"
)
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"
FACETS = "https://openlineage.io/spec/facets"
SCHEMA_URL = f"{FACETS}/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
VERSION_URL = f"{FACETS}/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet"
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
CODE_URL = f"{FACETS}/1-1-0/SourceCodeLocationJobFacet.json#/$defs/SourceCodeLocationJobFacet"


def _facet(schema: str, **body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": schema, **body}


def pipeline_events(runs: int, seed: str) -> list[bytes]:
    """START and COMPLETE of ``runs`` runs, each run's two events ~50 events apart."""
    from openlineage.client.uuid import generate_new_uuid

    fields = [{"name": f"c{i}", "type": "int"} for i in range(5)]
    code = _facet(CODE_URL, type="git", url="https://github.com/acme/etl", version="abc123")
    starts, ends = [], []
    for i in range(runs):
        run_id = str(generate_new_uuid())
        schema = _facet(SCHEMA_URL, fields=fields)
        source = {"namespace": "postgres://db:5432", "name": f"public.t{i % 100}",
                  "facets": {"schema": schema}}  # fmt: skip
        version = _facet(VERSION_URL, datasetVersion=f"{seed}-{i}")
        target = {"namespace": "s3://lake", "name": f"/{seed}/out{i % 1000}.parquet",
                  "facets": {"version": version}}  # fmt: skip
        job = {"namespace": "airflow", "name": f"dag.task{i % 20}",
               "facets": {"sourceCodeLocation": code}}  # fmt: skip
        base = {"run": {"runId": run_id, "facets": {}}, "job": job, "producer": PRODUCER,
                "schemaURL": RUN_EVENT}  # fmt: skip
        starts.append({**base, "eventType": "START", "eventTime": _now(), "inputs": [source]})
        ends.append({**base, "eventType": "COMPLETE", "eventTime": _now(), "inputs": [source],
                     "outputs": [target]})  # fmt: skip
    events: list[dict[str, Any]] = []
    lag = 25
    for i in range(runs + lag):
        if i < runs:
            events.append(starts[i])
        if i >= lag:
            events.append(ends[i - lag])
    return [json.dumps(one).encode() for one in events]


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of ``pid`` and its children, from /proc (Linux)."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(one) for one in children]
    except OSError:
        return float("nan")
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


@contextmanager
def _server(cmd: list[str], health: str, log: Path) -> Iterator[int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    env["PYTHONPATH"] = str(REPO / "src")
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"lineal server exited:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(health, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("lineal server did not answer within 120 s")
            time.sleep(0.2)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def line(name: str, ours: float, ref: float, unit: str, goal: str = "") -> None:
    print(
        f"{name:<40} ours {ours:>10,.1f} {unit:<5} ref {ref:>10,.1f} {unit:<5} "
        f"ratio {ours / ref:6.2f}   {goal}",
        flush=True,
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- ours: POST /api/v1/lineage -----------------------------------------------------------
# aiohttp, not httpx: at these rates httpx's async connection pool spends more CPU than the
# server does (the client, not the server, was the bottleneck); aiohttp's does not.
RETRIED = [0]
HEADERS = {"content-type": "application/json"}


async def _post(session: Any, url: str, body: bytes) -> tuple[int, str]:
    """POST, sent once more after a broken connection (as the OpenLineage client's retry
    does: an event sent twice is recorded once)."""
    import aiohttp

    for attempt in (1, 2):
        try:
            async with session.post(url, data=body, headers=HEADERS) as answer:
                return answer.status, await answer.text()
        except aiohttp.ClientConnectionError:
            if attempt == 2:
                raise
            RETRIED[0] += 1
    raise AssertionError("unreachable")


async def post_all(url: str, events: list[bytes], concurrency: int) -> float:
    """Post every event (at most ``concurrency`` at once); the seconds it took."""
    import aiohttp

    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for one in events:
        queue.put_nowait(one)
    failures: list[str] = []

    async def worker(session: Any) -> None:
        while not queue.empty():
            status, text = await _post(session, url, queue.get_nowait())
            if status != 201:
                failures.append(f"{status} {text[:300]}")

    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=2)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        took = time.perf_counter() - start
    if failures:
        raise SystemExit(f"{len(failures)} events refused, e.g. {failures[0]}")
    return took


async def post_batches(url: str, events: list[bytes], size: int, concurrency: int) -> float:
    """Post the events as JSON Lines, ``size`` a request, to the batch endpoint."""
    bodies = [b"\n".join(events[i : i + size]) for i in range(0, len(events), size)]
    import aiohttp

    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for one in bodies:
        queue.put_nowait(one)
    failures: list[str] = []

    async def worker(session: Any) -> None:
        while not queue.empty():
            status, text = await _post(session, url, queue.get_nowait())
            if status != 201:
                failures.append(f"{status} {text[:300]}")

    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=2)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        took = time.perf_counter() - start
    if failures:
        raise SystemExit(f"{len(failures)} batches refused, e.g. {failures[0]}")
    return took


async def post_open_loop(url: str, events: list[bytes], rate: float) -> list[float]:
    """Send event i at start + i/rate; each one's seconds from then to its 201."""
    import aiohttp

    latencies: list[float] = []

    async def one(session: Any, due: float, body: bytes) -> None:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        status, text = await _post(session, url, body)
        if status != 201:
            raise SystemExit(f"refused: {status} {text[:300]}")
        latencies.append(time.perf_counter() - due)

    connector = aiohttp.TCPConnector(limit=1000, keepalive_timeout=2)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter() + 0.5
        await asyncio.gather(
            *(one(session, start + i / rate, body) for i, body in enumerate(events))
        )
    return latencies


# -- reference: raw PostgreSQL inserts ----------------------------------------------------
async def insert_all(dsn: str, events: list[bytes], concurrency: int) -> float:
    import psycopg

    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for one in events:
        queue.put_nowait(one)

    async def worker() -> None:
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            while not queue.empty():
                body = queue.get_nowait()
                await conn.execute("INSERT INTO events (body) VALUES (%s::jsonb)", (body.decode(),))

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


async def insert_open_loop(
    dsn: str, events: list[bytes], rate: float, concurrency: int
) -> list[float]:
    import psycopg

    pool: asyncio.Queue[Any] = asyncio.Queue()
    for _ in range(concurrency):
        pool.put_nowait(await psycopg.AsyncConnection.connect(dsn, autocommit=True))
    latencies: list[float] = []

    async def one(due: float, body: bytes) -> None:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        conn = await pool.get()
        try:
            await conn.execute("INSERT INTO events (body) VALUES (%s::jsonb)", (body.decode(),))
        finally:
            pool.put_nowait(conn)
        latencies.append(time.perf_counter() - due)

    start = time.perf_counter() + 0.5
    await asyncio.gather(*(one(start + i / rate, b) for i, b in enumerate(events)))
    while not pool.empty():
        await (pool.get_nowait()).close()
    return latencies


def _counted(store_uri: str) -> int:
    from lineal.store.registry import open_store

    store = open_store(store_uri, None)
    try:
        return sum(1 for one in store.artifacts("report") if "openlineage" in one.meta)
    finally:
        store.close()


def figures(
    args: argparse.Namespace, cmd: list[str], url: str, raw: str, store_uri: str, folder: Path
) -> None:
    warm = pipeline_events(250, "warm")
    sustained = pipeline_events(args.events // 2, "load")
    paced = pipeline_events(int(args.rate * args.seconds) // 2, "paced")
    grouped = pipeline_events(args.events // 2, "batched")
    with _server(cmd, f"{url}/api/v1/health", folder / "server.log") as pid:
        endpoint = f"{url}/api/v1/lineage"
        asyncio.run(post_all(endpoint, warm, args.concurrency))
        before = _cpu_seconds(pid)
        ours = len(sustained) / asyncio.run(post_all(endpoint, sustained, args.concurrency))
        cpu = (_cpu_seconds(pid) - before) / len(sustained) * 1000
        latencies = asyncio.run(post_open_loop(endpoint, paced, args.rate))
        batch_url = f"{endpoint}/batch"
        batched = len(grouped) / asyncio.run(post_batches(batch_url, grouped, 100, 8))
    asyncio.run(insert_all(raw, warm, args.concurrency))
    reference = len(sustained) / asyncio.run(insert_all(raw, sustained, args.concurrency))
    raw_latencies = asyncio.run(insert_open_loop(raw, paced, args.rate, args.concurrency))
    sent = len(warm) + len(sustained) + len(paced) + len(grouped)
    found = _counted(store_uri)
    line("ingest events/s (sustained)", ours, reference, "ev/s", "goal >= 2,000")
    line("ingest events/s, batch endpoint (100/POST)", batched, reference, "ev/s")
    line(
        f"p99 latency at {args.rate:,.0f} ev/s (open loop)",
        pct(latencies, 0.99) * 1000,
        pct(raw_latencies, 0.99) * 1000,
        "ms",
        "goal < 50",
    )
    line(
        f"p50 latency at {args.rate:,.0f} ev/s (open loop)",
        pct(latencies, 0.50) * 1000,
        pct(raw_latencies, 0.50) * 1000,
        "ms",
    )
    print(f"events sent {sent:,}, recorded {found:,}, lost {sent - found:,}; the server's CPU "
          f"{cpu:.2f} ms an event (all workers; {os.getloadavg()[0]:.1f} load average now); "
          f"{RETRIED[0]} posts sent again after a broken connection",
          flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    import psycopg

    from lineal.store.registry import create_project

    folder = Path(tempfile.mkdtemp(prefix="bench-openlineage-"))
    name = f"lb{uuid.uuid4().hex[:8]}"
    base = f"{args.pg.rsplit('/', 1)[0]}/{name}"
    # raw…: not NAME_…, which the server would take for a project; NAME__server: its own log
    made = [f"{name}_default", f"raw{name}", f"{name}__server"]
    try:
        store_uri = create_project(base, "default")
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{made[1]}"')
        raw = f"{args.pg.rsplit('/', 1)[0]}/{made[1]}"
        with psycopg.connect(raw, autocommit=True) as conn:
            conn.execute("CREATE TABLE events (id bigserial PRIMARY KEY, body jsonb NOT NULL)")
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [str(BIN / "lineal"), "server", "--uri", base, "--port", str(port),
               "--workers", str(args.workers)]  # fmt: skip
        if SPEC.is_dir():
            cmd += ["--openlineage-spec", str(SPEC)]
        print(f"validation: {'full (spec files)' if SPEC.is_dir() else 'basic rules'}; "
              f"{args.workers} workers; {os.cpu_count()} CPUs", flush=True)  # fmt: skip
        figures(args, cmd, url, raw, store_uri, folder)
    except BaseException:
        log = folder / "server.log"
        if log.exists():
            kept = Path(tempfile.gettempdir()) / f"bench-openlineage-{name}.log"
            shutil.copy(log, kept)
            print(f"the server's log: {kept}", file=sys.stderr)
        raise
    finally:
        with psycopg.connect(args.pg, autocommit=True) as admin:
            for db in made:
                admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
