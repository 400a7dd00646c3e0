"""The interop figures in one run: OpenLineage ingest on the server and the MLflow tracking API.

Runs, one after the other, each in its own process (they start servers of their own):
  bench/interop_openlineage.py   sustained ingest events/s next to the raw PostgreSQL floor,
                                 and p99 latency at 500 events/s open loop;
  bench/interop_mlflow.py        mlflow.log_metric and MlflowClient.log_batch through
                                 `lineal server` next to `mlflow server`, taking turns.
Each prints ``name  ours  reference  ratio`` lines; see their docstrings for the details.

    python bench/interop.py [--only openlineage|mlflow] [-- ARGS for the one chosen]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARTS = {"openlineage": "interop_openlineage.py", "mlflow": "interop_mlflow.py"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(PARTS), default=None)
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="passed to the part run")
    args = parser.parse_args()
    if args.rest and args.only is None:
        parser.error("arguments after -- need --only: each part takes its own")
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    failed = 0
    for name, script in PARTS.items():
        if args.only not in (None, name):
            continue
        print(f"# {name}", flush=True)
        done = subprocess.run([sys.executable, str(HERE / script), *rest], check=False)
        failed |= done.returncode
    raise SystemExit(failed)


if __name__ == "__main__":
    main()
