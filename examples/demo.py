"""The guided demo, `lineal demo`: what `make demo` runs.

Creates ./demo-store (removed and recreated on every run) and records in it a small robotics
story: a USD scene, randomized rendering, labelled datasets, training, evaluation, registration
and promotion, twice. `lineal demo --help` says more.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path.cwd() / "demo-store"
LINEAL = str(Path(sys.executable).parent / "lineal")


def main() -> int:
    shutil.rmtree(HERE, ignore_errors=True)
    return subprocess.run([LINEAL, "demo", str(HERE)], check=False).returncode  # noqa: S603


if __name__ == "__main__":
    raise SystemExit(main())
