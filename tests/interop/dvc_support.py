"""What the DVC import tests share: the real `dvc` and `git` commands, offline, and the
sample projects copied out of ../shared/data (which is read-only)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

DVC = Path(sys.executable).parent / "dvc"
#: DVC offline and quiet: no analytics, no updater, no site cache outside the test's folder.
DVC_ENV = {
    "DVC_NO_ANALYTICS": "1",
    "DVC_IGNORE_ISATTY": "1",
    "GIT_AUTHOR_NAME": "Dana Data",
    "GIT_AUTHOR_EMAIL": "dana@example.org",
    "GIT_COMMITTER_NAME": "Dana Data",
    "GIT_COMMITTER_EMAIL": "dana@example.org",
}


def run(cwd: Path, *args: str | Path) -> str:
    env = {**os.environ, **DVC_ENV, "DVC_SITE_CACHE_DIR": str(cwd.parent / "dvc-site")}
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def dvc(cwd: Path, *args: str) -> str:
    return run(cwd, DVC, *args)


def git(cwd: Path, *args: str) -> str:
    return run(cwd, "git", *args)


def copy_sample(shared_data: Path, name: str, into: Path) -> Path:
    target = into / name.split("__", 1)[1]
    shutil.copytree(shared_data / "dvc" / name, target)
    return target


def lock_stages(root: Path) -> dict[str, Any]:
    stages: dict[str, Any] = yaml.safe_load((root / "dvc.lock").read_text())["stages"]
    return stages


def tracked_outs(root: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Each `.dvc` file's outs: (the .dvc file, one out)."""
    found = []
    for file in sorted(root.rglob("*.dvc")):
        if file.is_file():
            found += [(file, out) for out in yaml.safe_load(file.read_text())["outs"]]
    return found
