"""Metric logging: `run.log` in a tight loop until durable, side by side with MLflow's log_batch.

Each trial runs in its own process and fresh store, ours and MLflow's in turn (the machine is
shared and noisy), and reports points per second from the process's own clock:
  ours   1,000,000 x run.log({"loss": v}, step=i) on the embedded SQLite store, timed from the
         first call until run.finish() returns (every point committed); plus the loop alone,
         as the per-call cost the training loop feels.
  MLflow 100,000 points through MlflowClient.log_batch, 1,000 per call, sqlite store: the
         peers' own trial_batch() from ../shared/bench/peers/bench_mlflow_log.py, run in the
         peers' venv (PEERS_VENV, default /tmp/peers-venv; see setup_venvs.sh).
Goal (issue 4): ours at least 100x MLflow's log_batch throughput.

    python bench/metrics.py [--trials 3] [--points 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PEERS = Path(os.environ.get("PEERS_DIR", str(REPO.parent / "shared" / "bench" / "peers")))
PEERS_VENV = Path(os.environ.get("PEERS_VENV", str(Path(tempfile.gettempdir()) / "peers-venv")))
BENCH_DIR = Path(os.environ.get("BENCH_DIR", str(Path(tempfile.gettempdir()) / "peers-bench")))

OURS = """
import json, sys, time
import lineal
from lineal.tracking.search import metric_points
n = int(sys.argv[1])
from pathlib import Path
lineal.init(Path(sys.argv[2]), agent="bench")
repo = lineal.open(path=sys.argv[2])
run = lineal.start_run("bench", repo=repo)
log = run.log
start = time.perf_counter()
for i in range(n):
    log({"loss": i * 0.001}, step=i)
looped = time.perf_counter() - start
run.finish()
durable = time.perf_counter() - start
points = len(metric_points(repo, run.ref, "loss")["loss"])
assert points == n, (points, n)
print(json.dumps({"loop": looped, "durable": durable}))
"""

MLFLOW = """
import json, sys
sys.path.insert(0, sys.argv[1])
import bench_mlflow_log as peer
seconds = peer.trial_batch("sqlite", sys.argv[2], int(sys.argv[3]), 1000)
print(json.dumps({"seconds": seconds}))
"""


def _child(python: Path, script: str, *args: str) -> dict[str, float]:
    done = subprocess.run(
        [str(python), "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")},
    )
    if done.returncode:
        raise SystemExit(f"failed: {python} ...\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _line(name: str, ours: float, ref: float | None, unit: str, goal: str = "") -> None:
    text = f"{name:<58} ours {ours:>14,.2f} {unit}"
    if ref is not None:
        text += f"   ref {ref:>12,.0f} {unit}   ratio {ours / ref:8.1f}"
    print(text + (f"   {goal}" if goal else ""), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--mlflow-points", type=int, default=100_000)
    args = parser.parse_args()
    python = PEERS_VENV / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"no peers venv at {PEERS_VENV}: run ../shared/bench/peers/setup_venvs.sh")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="metrics-", dir=BENCH_DIR))
    ours: list[dict[str, float]] = []
    theirs: list[float] = []
    try:
        for trial in range(args.trials):
            order = ("ours", "mlflow") if trial % 2 == 0 else ("mlflow", "ours")
            for who in order:
                folder = scratch / f"{who}-{trial}"
                if who == "ours":
                    folder.mkdir()
                    ours.append(_child(Path(sys.executable), OURS, str(args.points), str(folder)))
                else:
                    took = _child(python, MLFLOW, str(PEERS), str(folder), str(args.mlflow_points))
                    theirs.append(args.mlflow_points / took["seconds"])
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    durable = statistics.median(args.points / t["durable"] for t in ours)
    loop = statistics.median(t["loop"] for t in ours)
    mlflow = statistics.median(theirs)
    ratio = durable / mlflow
    print(f"# {args.trials} trials each, medians; ours {args.points:,} points, MLflow "
          f"{args.mlflow_points:,}", flush=True)  # fmt: skip
    _line(
        "1M x run.log until durable vs MLflow log_batch (points/s)",
        durable,
        mlflow,
        "pt/s",
        f"goal >= 100x {'met' if ratio >= 100 else 'MISSED'}",
    )
    _line("run.log per call, the loop alone (us)", loop / args.points * 1e6, None, "us")
    _line(
        "run.log until durable, per point (us)",
        statistics.median(t["durable"] for t in ours) / args.points * 1e6,
        None,
        "us",
    )


if __name__ == "__main__":
    main()
