"""Run search: `lineal.search_runs` side by side with MLflow's search on 2,000 runs.

Both stores get 2,000 runs, each with 5 params (p0 takes 10 values v0..v9) and 5 metrics
(m0..m4 uniform in [0, 1)), drawn from the same seeded generator, so both filters select the
same runs. MLflow's side is the peers' own bench_mlflow_search.py (../shared/bench/peers/, run
in PEERS_VENV, default /tmp/peers-venv), which times 20 calls each of
  A mlflow.search_runs(filter)   B MlflowClient.search_runs(filter)   C mlflow.search_runs()
Ours is timed the same way (20 calls after a warm-up, median), before and after MLflow's
run, on the embedded SQLite store:
  filter  search_runs("metrics.m0 > 0.5 and params.p0 = v3")   vs B (goal: 10x faster)
  all     search_runs() listing every run with params+metrics   vs C (goal: 20x faster)

    python bench/search.py [--runs 2000] [--reps 20]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import lineal
from lineal.client import Lineal
from lineal.tracking.search import search_runs

REPO = Path(__file__).resolve().parents[1]
PEERS = Path(os.environ.get("PEERS_DIR", str(REPO.parent / "shared" / "bench" / "peers")))
PEERS_VENV = Path(os.environ.get("PEERS_VENV", str(Path(tempfile.gettempdir()) / "peers-venv")))
BENCH_DIR = Path(os.environ.get("BENCH_DIR", str(Path(tempfile.gettempdir()) / "peers-bench")))
FILTER = "metrics.m0 > 0.5 and params.p0 = v3"


def build(repo: Lineal, runs: int) -> int:
    """The peers' data: same generator, same draws, same order; returns the expected hits."""
    rnd = random.Random(4)
    expected = 0
    for i in range(runs):
        ms = [rnd.random() for _ in range(5)]
        ps = [f"v{rnd.randrange(10)}"] + [f"x{rnd.randrange(1000)}" for _ in range(4)]
        expected += ms[0] > 0.5 and ps[0] == "v3"
        with repo.atomic():
            run = repo.start_run(f"run{i}", params={f"p{k}": v for k, v in enumerate(ps)})
            repo.log_metrics(run, {f"m{k}": v for k, v in enumerate(ms)}, step=0)
            repo.finish_run(run)
    return expected


def timed(repo: Lineal, where: str, want: int, reps: int) -> list[float]:
    got = len(search_runs(repo, where))
    if got != want:
        raise SystemExit(f"{where!r}: {got} runs, expected {want}")
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        search_runs(repo, where)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def mlflow(runs: int, reps: int) -> dict[str, float]:
    done = subprocess.run(
        [str(PEERS_VENV / "bin" / "python"), str(PEERS / "bench_mlflow_search.py"),
         "--runs", str(runs), "--reps", str(reps)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"MLflow's search bench failed:\n{done.stderr[-3000:]}")
    found = {}
    for case in "ABC":
        pattern = rf"RESULT mlflow-search \| {case} .*? \| median ([0-9.]+) ms"
        match = re.search(pattern, done.stdout)
        if match is None:
            raise SystemExit(f"no result for case {case} in:\n{done.stdout}")
        found[case] = float(match.group(1))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    if not (PEERS_VENV / "bin" / "python").exists():
        raise SystemExit(f"no peers venv at {PEERS_VENV}: run ../shared/bench/peers/setup_venvs.sh")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="search-", dir=BENCH_DIR))
    try:
        lineal.init(folder, agent="bench")
        with Lineal.open(path=folder) as repo:
            start = time.perf_counter()
            expected = build(repo, args.runs)
            setup = time.perf_counter() - start
            print(f"# setup: {args.runs} runs in {setup:.1f} s; {expected} match", flush=True)
            ours_filter = timed(repo, FILTER, expected, args.reps)
            ours_all = timed(repo, "", args.runs, args.reps)
            theirs = mlflow(args.runs, args.reps)
            ours_filter += timed(repo, FILTER, expected, args.reps)
            ours_all += timed(repo, "", args.runs, args.reps)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rows = [
        ("search_runs, metric+param filter vs MlflowClient.search_runs", ours_filter, "B", 10),
        ("search_runs, all runs vs mlflow.search_runs (no filter)", ours_all, "C", 20),
    ]
    for name, samples, case, goal in rows:
        ours = statistics.median(samples)
        ref = theirs[case]
        speedup = ref / ours
        print(
            f"{name:<62} ours {ours:8.2f} ms   ref {ref:8.2f} ms   ratio {ours / ref:6.3f}   "
            f"{speedup:5.1f}x faster, goal >= {goal}x {'met' if speedup >= goal else 'MISSED'}",
            flush=True,
        )
    print(f"# MLflow's pandas search with the filter (A): {theirs['A']:.1f} ms", flush=True)


if __name__ == "__main__":
    main()
