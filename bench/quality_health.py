"""Lineage health and staleness over a big store: `lineal health` and `lineal stale --all` on
10,000 runs and 1,000 model versions (embedded SQLite store). Goal: each under 2 s.

The store: 20 datasets of 3 versions each (two in three stating licence and source), 5 code
states (later runs run newer code), 2 environments, 10 pipelines; each run uses one dataset
version, its code and environment; every tenth run generates a version of one of 100 models
(10 each); a held-out dataset carries alias eval-approved and one run in 50 evaluates the model
made before it.

References: what `lineal runs` reads to list the same 10,000 runs with their params, metrics
and tags (Store.search_runs), a bare count of them (Store.runs_page, limit 1), and, end to
end in a fresh process each, `lineal runs --limit 10000 --json` beside `lineal health --json`
and `lineal stale --all --json`.

    python bench/quality_health.py [--runs 10000] [--reps 3]

Prints ``name  ours  reference  ratio`` lines (seconds, medians; ratio = ours / reference); the
commands' lines in wall time and in CPU time (user + system), which a loaded machine does not
inflate.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lineal
from lineal.client import Lineal
from lineal.model.digests import digest_bytes
from lineal.quality.health import health
from lineal.quality.stale import stale

REPO = Path(__file__).resolve().parents[1]


def build(repo: Lineal, runs: int) -> None:
    def digest(text: str) -> str:
        return digest_bytes(text.encode())

    datasets = []
    for j in range(20):
        stated = (
            {"license": "CC-BY-4.0", "source": f"https://example.org/d{j}"} if j % 3 != 2 else {}
        )
        with repo.atomic():
            versions = [
                repo.record_artifact(
                    "dataset",
                    digest=digest(f"d{j}v{v}"),
                    name=f"d{j}",
                    meta={"files": 10 + v, **stated},
                )
                for v in range(3)
            ]
        datasets.append(versions)
    with repo.atomic():
        held_out = repo.record_artifact("dataset", digest=digest("held-out"), name="held-out")
        codes = [
            repo.record_artifact("code", digest=digest(f"c{k}"), meta={"commit": f"{k:040x}"})
            for k in range(5)
        ]
        envs = [repo.record_artifact("env", digest=digest(f"e{k}")) for k in range(2)]
    repo.set_alias("dataset/held-out@v1", "eval-approved")
    model = None
    for start in range(0, runs, 500):
        with repo.atomic():
            for i in range(start, min(start + 500, runs)):
                run = repo.start_run(f"train-{i % 10}", params={"i": i})
                data = datasets[i % 20][min(2, i * 3 // runs)]
                repo.link("used", data, run, role="train")
                repo.link("used", codes[min(4, i * 5 // runs)], run, role="code")
                repo.link("used", envs[i % 2], run, role="env")
                if i % 50 == 5 and model is not None:
                    repo.link("used", model, run, role="model")
                    repo.link("used", held_out, run, role="eval")
                if i % 10 == 0:
                    model = repo.record_artifact(
                        "model", digest=digest(f"m{i}"), name=f"m{(i // 10) % 100}"
                    )
                    repo.link("generated", run, model)
                repo.finish_run(run, status="failed" if i % 97 == 0 else "finished")


def timed(call: Callable[[], Any], reps: int) -> float:
    call()  # warm: the first read pays for opening and the page cache
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def command(folder: Path, *args: str) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of ``lineal ARGS`` in a fresh process: on a
    loaded machine the wall time is mostly waiting for a CPU."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "from lineal.cli.main import main; main()", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"lineal {' '.join(args)} failed: {done.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return took, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        lineal.init(folder, agent="bench")
        with Lineal.open(path=folder) as repo:
            started = time.perf_counter()
            build(repo, args.runs)
            print(f"# built {args.runs} runs in {time.perf_counter() - started:.1f}s", flush=True)
            report = health(repo)
            found = {one.measure: one for one in report.findings}
            assert found["coverage"].of == args.runs // 10, found["coverage"].of
            assert found["crashed"].of == args.runs
            listing = timed(lambda: repo.store.search_runs(None), args.reps)
            count = timed(lambda: repo.store.runs_page(None, limit=1), args.reps)
            ours_health = timed(lambda: health(repo), args.reps)
            ours_stale = timed(lambda: stale(repo), args.reps)
            stale_count = len(stale(repo).stale)
        print(f"# {stale_count} stale model versions; coverage {found['coverage'].number:.0%}")
        cli_runs = command(folder, "runs", "--limit", str(args.runs), "--json")
        cli_health = command(folder, "health", "--json")
        cli_stale = command(folder, "stale", "--all", "--json")
    print("name  ours  reference  ratio")
    for name, ours, reference in (
        ("health_vs_runs_listing", ours_health, listing),
        ("stale_all_vs_runs_listing", ours_stale, listing),
        ("health_vs_count", ours_health, count),
        ("cli_health_vs_cli_runs", cli_health[0], cli_runs[0]),
        ("cli_stale_vs_cli_runs", cli_stale[0], cli_runs[0]),
        ("cli_health_cpu_vs_cli_runs_cpu", cli_health[1], cli_runs[1]),
        ("cli_stale_cpu_vs_cli_runs_cpu", cli_stale[1], cli_runs[1]),
    ):
        print(f"{name}  {ours:.3f}  {reference:.3f}  {ours / reference:.2f}")


if __name__ == "__main__":
    main()
