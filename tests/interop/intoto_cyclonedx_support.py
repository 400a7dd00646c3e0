"""A workspace where a model was made the way users make one: datasets added with `lineal add`,
a preparation run deriving clean data from raw, a downloaded base model registered, a
training run fine-tuning it (in a git repository, its environment captured) logging metrics
and the model, and an evaluation run of that model."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import lineal
from lineal.client import Lineal

LINEAL_BIN = Path(sys.executable).parent / "lineal"

PREP = """
import pathlib, lineal
with lineal.start_run("prep") as run:
    run.use("dataset/raw", role="source")
    pathlib.Path("clean").mkdir()
    pathlib.Path("clean/rows.csv").write_text("x,y\\n1,2\\n")
    run.log_artifact("clean", kind="dataset", name="clean")
"""
TRAIN = """
import pathlib, lineal
params = {"lr": 0.1, "epochs": 2, "approach": "supervised", "task": "classification"}
with lineal.start_run("train", params=params, seed=7) as run:
    run.use("dataset/clean", role="train")
    run.use("dataset/holdout", role="eval")
    run.use("model/base@v1", role="base")  # fine-tuned from it
    for step in range(2):
        run.log({"loss": 1.0 / (step + 1)}, step=step)
    run.log({"accuracy": 0.875}, step=1)
    pathlib.Path("out").mkdir()
    pathlib.Path("out/weights.bin").write_bytes(b"\\x00weights")
    pathlib.Path("out/config.json").write_text("{}")
    run.log_model("out", name="clf", register="clf")
"""
EVALUATE = """
import pytest

import lineal
from lineal.client import Lineal
with lineal.start_run("evaluate") as run:
    run.use("model/clf@v1", role="model")
    run.use("dataset/holdout", role="test")
    run.log({"f1": 0.8}, step=0)
"""


@dataclass(frozen=True)
class Made:
    root: Path
    model: dict[str, Any]  # `lineal show model/clf@v1 --json`
    train: dict[str, Any]  # `lineal show run/ID --json` of the training run
    commit: str  # the git commit the training ran at
    files: dict[str, str]  # the model folder's files: path -> sha256 hex


def _environ(extra: dict[str, str] | None) -> dict[str, str]:
    """This process's variables without LINEAL_* ones (but for those ``extra`` sets)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    return {**clean, **(extra or {})}


def lineal_cli(
    root: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = _environ(env)
    done = subprocess.run(
        [str(LINEAL_BIN), *args], cwd=root, env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    if check and done.returncode != 0:
        raise AssertionError(f"lineal {' '.join(args)} failed: {done.stderr}")
    return done


def _python(root: Path, source: str, env: dict[str, str] | None) -> None:
    env = _environ(env)
    subprocess.run([sys.executable, "-c", source], cwd=root, env=env, check=True, timeout=120)


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=root, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def make_model(root: Path, uri: str | None = None, env: dict[str, str] | None = None) -> Made:
    """Make the model in a new workspace at ``root`` (its store at ``uri``, else SQLite;
    ``env``: LINEAL_* variables its processes need, such as a server's spool)."""
    _git(root, "init", "-q", ".")
    (root / "README").write_text("a project\n")
    _git(root, "add", "README")
    _git(root, "commit", "-q", "-m", "start")
    lineal.init(root, agent="tester", uri=uri)
    (root / "raw").mkdir()
    (root / "raw/a.txt").write_text("raw a\n")
    (root / "raw/b.txt").write_text("raw b\n")
    (root / "holdout").mkdir()
    (root / "holdout/c.txt").write_text("held out\n")
    lineal_cli(root, "add", "raw", "-n", "raw", "-q", "--license", "CC-BY-4.0",
               "--source", "https://example.org/raw", env=env)  # fmt: skip
    lineal_cli(root, "add", "holdout", "-n", "holdout", "-q", env=env)
    lineal_cli(root, "tag", "dataset/raw@v1", "classification=public", env=env)
    (root / "base.bin").write_bytes(b"downloaded weights")  # a model no run here made
    lineal_cli(root, "model", "register", "base.bin", "--name", "base", env=env)
    lineal_cli(root, "tag", "model/base@v1", "license=Apache-2.0", env=env)
    for script in (PREP, TRAIN, EVALUATE):
        _python(root, script, env)
    # The trained bytes registered under a second name too: a version of its own, same run.
    lineal_cli(root, "model", "register", "model/clf@v1", "--name", "prod", env=env)
    with Lineal.open(path=root, write=False) as repo:
        model = repo.show("model/clf@v1")
        made_by = next(one["ref"] for one in model["upstream"] if one["kind"] == "generated")
        train = repo.show(made_by)
    files = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((root / "out").iterdir())
    }
    return Made(root, model, train, _git(root, "rev-parse", "HEAD"), files)


_MADE: list[Made] = []


def made_once(factory: pytest.TempPathFactory) -> Made:
    """The workspace, made once per test process for both exports' tests (which only read it,
    or put back what they change)."""
    if not _MADE:
        _MADE.append(make_model(factory.mktemp("made")))
    return _MADE[0]


def show(made: Made, ref: str) -> dict[str, Any]:
    with Lineal.open(path=made.root, write=False) as repo:
        return repo.show(ref)
