"""What the audit trail costs a request: the same server app with its audit middleware and
writer (ours) and without them (reference), side by side in one process.

Both apps serve one SQLite project (a few records) built here in a temporary folder; each
round sends one request to each app in turn (the order alternating), through httpx's ASGI
transport, so noise on a shared machine falls on both alike. Figures, per request: p50 wall
time and CPU time (this process's, which includes the writer thread's appends, one block a
second), for ``GET /api/v1/health`` (the cheapest route: the overhead alone) and
``GET /api/v1/projects/p/upstream`` (a real read). Goal: at most 0.3 ms p50 added.

    PYTHONPATH=src python bench/audit.py [--requests 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from lineal.client import Lineal
from lineal.ledger.keys import Signer
from lineal.model.ops import AgentRegister
from lineal.server.app import create_app
from lineal.server.audit_trail import AuditTrail
from lineal.store.registry import create_project, open_store


def _project(folder: Path) -> str:
    base = f"sqlite:///{folder / 'projects'}"
    uri = create_project(base, "p")
    signer = Signer.generate("alice")
    store = open_store(uri, signer)
    store.append(AgentRegister(name="alice", public_key=signer.public_key))
    lin = Lineal(store)
    raw = lin.record_artifact("dataset", data=b"raw", name="raw")
    run = lin.start_run("train")
    model = lin.record_artifact("model", data=b"weights", name="detector")
    lin.link("used", raw, run)
    lin.link("generated", run, model)
    lin.finish_run(run)
    store.close()
    return base


def _apps(base: str) -> tuple[object, object]:
    audited = create_app(base)
    plain = create_app(base)
    plain.user_middleware = [m for m in plain.user_middleware if m.cls is not AuditTrail]
    return audited, plain


async def _time(client: httpx.AsyncClient, path: str) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    answer = await client.get(path)
    assert answer.status_code == 200, answer.text
    return time.perf_counter() - wall, time.process_time() - cpu


async def _run(base: str, requests: int) -> None:
    audited, plain = _apps(base)
    transports = [httpx.ASGITransport(app=app) for app in (audited, plain)]  # type: ignore[arg-type]
    clients = [httpx.AsyncClient(transport=t, base_url="http://bench") for t in transports]
    paths = ("/api/v1/health", "/api/v1/projects/p/upstream?ref=model/detector")
    for path in paths:
        figures: list[list[tuple[float, float]]] = [[], []]
        for client in clients:  # warm up: routes built, the project's store open
            for _ in range(50):
                await _time(client, path)
        for n in range(requests):
            order = (0, 1) if n % 2 == 0 else (1, 0)
            for i in order:
                figures[i].append(await _time(clients[i], path))
        name = path.split("?")[0].removeprefix("/api/v1")
        for what, index in (("p50 wall ms", 0), ("mean CPU ms", 1)):
            ours = [f[index] * 1000 for f in figures[0]]
            ref = [f[index] * 1000 for f in figures[1]]
            a = statistics.median(ours) if index == 0 else statistics.fmean(ours)
            b = statistics.median(ref) if index == 0 else statistics.fmean(ref)
            goal = f"added {a - b:+.3f} ms, goal <= 0.3 ms {'met' if a - b <= 0.3 else 'MISSED'}"
            print(
                f"audit {name:<28} {what:<12} ours {a:8.3f} ms  ref {b:8.3f} ms  "
                f"ratio {a / b:6.2f}   {goal}",
                flush=True,
            )
    for client in clients:
        await client.aclose()
    writer = audited.state.projects.audit  # type: ignore[attr-defined]
    writer.close()
    rows = len(audited.state.projects.store("p").audit_rows())  # type: ignore[attr-defined]
    print(f"# {rows:,} audit rows in the project's log (the warm-up's too)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_run(_project(Path(tmp)), args.requests))


if __name__ == "__main__":
    main()
