"""The reads behind a runs table and a metric chart, on the embedded SQLite store and through
a real `lineal server` (HTTP, SQLite projects):

  page    GET runs: the first 100 of 10,000 runs, newest first; sorted by -metrics.m0, by
          params.p1 and by tags.t; a page deep in (offset 9,900) sorted by metric; a filter
          with a sort; each with the total (X-Total-Count)
  columns GET runs/columns over the 10,000 runs
  chart   GET metrics of a run with 1,000,000 points: 1,000 points of the whole series, then a
          zoom (100,000 steps) thinned to 1,000, then a zoom of 1,000 steps in full

Each timing is the median of ``--reps`` calls after a warm-up.

    python bench/ui_api.py [--runs 10000] [--points 1000000] [--reps 9]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from lineal.client import Lineal
from lineal.ledger.keys import Signer
from lineal.model.ops import AgentRegister, MetricsBatch
from lineal.model.series import Series
from lineal.store.registry import create_project, open_store
from lineal.tracking.search import metric_points, page_runs, run_columns

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
PROJECT = "bench"


def build(uri: str, runs: int, points: int) -> str:
    """``runs`` runs with 5 params, 5 metrics and a tag, and one run of ``points`` points."""
    signer = Signer.generate("bench")
    store = open_store(uri, signer)
    store.append(AgentRegister(name="bench", public_key=signer.public_key))
    repo = Lineal(store)
    rnd = random.Random(4)
    for i in range(runs):
        with repo.atomic():
            params = {
                f"p{k}": rnd.choice([rnd.random(), f"x{rnd.randrange(100)}"]) for k in range(5)
            }
            run = repo.start_run(f"run{i}", params=params)
            repo.log_metrics(run, {f"m{k}": rnd.random() for k in range(5)}, step=0)
            repo.set_tag(run, "t", f"team{rnd.randrange(20)}")
            repo.finish_run(run)
    long = repo.start_run("long")
    chunk = 100_000
    for first in range(0, points, chunk):
        steps = range(first, min(points, first + chunk))
        values = array("d", (((s * 7919) % 1000) / 1000 for s in steps))
        store.append(
            MetricsBatch(
                run=long.id,
                series=(Series("loss", array("q", steps), values, array("d", [1.0] * len(steps))),),
            )
        )
    store.close()
    return long.ref


def median_ms(call: Callable[[], Any], reps: int) -> float:
    call()
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=9)
    args = parser.parse_args()
    from server_process import start_server, stop

    folder = Path(tempfile.mkdtemp(prefix="lineal-ui-bench-"))
    base = f"sqlite:///{folder / 'projects'}"
    uri = create_project(base, PROJECT)
    start = time.perf_counter()
    long = build(uri, args.runs, args.points)
    took = time.perf_counter() - start
    print(f"built {args.runs} runs and a {args.points}-point run in {took:.0f}s")
    store = open_store(uri)
    repo = Lineal(store)
    proc, url = start_server(base, folder)
    client = httpx.Client(base_url=f"{url}/api/v1/projects/{PROJECT}/", timeout=60)
    mid = args.points // 2
    pages: list[tuple[str, dict[str, Any]]] = [
        ("newest first", {}),
        ("-metrics.m0", {"sort": "-metrics.m0"}),
        ("params.p1", {"sort": "params.p1"}),
        ("tags.t", {"sort": "tags.t"}),
        ("-metrics.m0, offset 9900", {"sort": "-metrics.m0", "offset": args.runs - 100}),
        ("where m1 > 0.5, -metrics.m0", {"where": "metrics.m1 > 0.5", "sort": "-metrics.m0"}),
    ]
    try:
        print(f"{'read':44} {'in-process':>11} {'HTTP':>9}")
        for label, params in pages:
            ours = median_ms(
                lambda p=params: page_runs(
                    repo,
                    p.get("where", ""),
                    limit=100,
                    **{k: v for k, v in p.items() if k != "where"},
                ),
                args.reps,
            )
            served = median_ms(
                lambda p=params: client.get("runs", params={**p, "limit": 100}).raise_for_status(),
                args.reps,
            )
            print(f"runs page of 100: {label:26} {ours:9.1f}ms {served:7.1f}ms")
        ours = median_ms(lambda: run_columns(repo), args.reps)
        served = median_ms(lambda: client.get("runs/columns").raise_for_status(), args.reps)
        print(f"{'runs/columns':44} {ours:9.1f}ms {served:7.1f}ms")
        charts = [
            ("whole series, 1000 points", {}),
            ("zoom 100k steps, 1000 points", {"from_step": mid, "to_step": mid + 100_000}),
            ("zoom 1000 steps, full", {"from_step": mid, "to_step": mid + 999}),
        ]
        for label, params in charts:
            ours = median_ms(
                lambda p=params: metric_points(repo, long, "loss", max_points=1000, **p), args.reps
            )
            served = median_ms(
                lambda p=params: client.get(
                    "metrics", params={"run": long, "key": "loss", "max_points": 1000, **p}
                ).raise_for_status(),
                args.reps,
            )
            print(f"metrics {args.points} pts: {label:27} {ours:9.1f}ms {served:7.1f}ms")
    finally:
        client.close()
        stop(proc)
        store.close()


if __name__ == "__main__":
    main()
