"""`lineal run`, `lineal runs` and `lineal metrics` as a user runs them, in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import lineal

LINEAL = Path(sys.executable).parent / "lineal"


def _lineal(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    return subprocess.run(  # noqa: PLW1510 - callers check the exit code
        [str(LINEAL), *args],
        cwd=cwd,
        env={**clean, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    lineal.init(tmp_path, agent="tester")
    return tmp_path


def test_lineal_run_records_inputs_outputs_output_tail_and_status(ws: Path) -> None:
    (ws / "raw").mkdir()
    (ws / "raw" / "x.csv").write_text("1,2\n")
    script = (
        "import pathlib, sys; pathlib.Path('clean').mkdir(); "
        "pathlib.Path('clean/x.csv').write_text(open('raw/x.csv').read() + '3,4\\n'); "
        "print('rows: 1'); print('warning: none', file=sys.stderr)"
    )
    done = _lineal(
        "run", "--name", "clean", "--in", "raw", "--out", "clean", "-p", "lr=0.5",
        "-p", "mode=fast", "--", sys.executable, "-c", script, cwd=ws,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "rows: 1" in done.stdout  # the command's output still reaches the user
    assert "warning: none" in done.stderr
    assert any(
        line.startswith("run/") and " finished in " in line for line in done.stderr.splitlines()
    )
    assert "  generated dataset/clean@v1" in done.stderr.splitlines()
    listed = json.loads(_lineal("runs", "--json", cwd=ws).stdout)
    assert len(listed) == 1
    run = listed[0]
    assert run["status"] == "finished"
    assert run["params"] == {"lr": 0.5, "mode": "fast"}
    with lineal.open(path=ws) as repo:
        shown = repo.show(run["ref"])
        roles = {e["role"] for e in shown["downstream"]}
        assert roles == {"output", "stdout", "stderr"}
        assert {e["role"] for e in shown["upstream"]} >= {"input", "env"}
        stdout = next(e["node"] for e in shown["downstream"] if e["role"] == "stdout")
        assert repo.resolve(stdout).meta["tail"] == "rows: 1\n"
        assert repo.resolve("dataset/clean").meta["files"] == 1


def test_lineal_run_passes_the_exit_code_and_records_failure(ws: Path) -> None:
    done = _lineal("run", "--", sys.executable, "-c", "import sys; sys.exit(3)", cwd=ws)
    assert done.returncode == 3
    failed = json.loads(_lineal("runs", "--json", "--where", "status = failed", cwd=ws).stdout)
    assert [r["error"] for r in failed] == ["exit code 3"]


def test_lineal_run_reports_bad_input_in_one_line(ws: Path) -> None:
    done = _lineal("run", "--", "no-such-program-xyz", cwd=ws)
    assert done.returncode == 1
    assert done.stderr.startswith("error: command not found: no-such-program-xyz")
    done = _lineal("run", "--in", "missing", "--", "true", cwd=ws)
    assert done.returncode == 1
    assert "input missing does not exist" in done.stderr
    done = _lineal("run", "--out", "never", "--", "true", cwd=ws)
    assert done.returncode == 1
    assert "--out never was not created" in done.stderr
    assert "Traceback" not in done.stderr


def test_runs_filters_and_metrics_prints_points(ws: Path) -> None:
    with lineal.open(path=ws) as repo:
        for lr in (0.1, 0.01):
            with lineal.start_run("train", params={"lr": lr}, repo=repo, capture=False) as run:
                for step in range(3):
                    run.log({"mAP": lr * (step + 1)}, step=step)
    table = _lineal("runs", cwd=ws)
    assert table.returncode == 0
    assert "train" in table.stdout
    assert "mAP" in table.stdout
    assert "lr" in table.stdout
    best = json.loads(_lineal("runs", "--json", "-w", "metrics.mAP >= 0.2", cwd=ws).stdout)
    assert [r["params"]["lr"] for r in best] == [0.1]
    bad = _lineal("runs", "--where", "metrics.mAP >=", cwd=ws)
    assert bad.returncode == 1
    assert "column" in bad.stderr
    points = _lineal("metrics", best[0]["ref"], "mAP", cwd=ws)
    assert points.stdout.splitlines()[1:] == ["0\t0.1", "1\t0.2", "2\t0.3"]
    summary = _lineal("metrics", best[0]["ref"], cwd=ws).stdout
    assert summary.splitlines()[1].split("\t")[:4] == ["mAP", "3", "0", "2"]
    as_json = json.loads(_lineal("metrics", best[0]["ref"], "--json", cwd=ws).stdout)
    assert as_json["mAP"]["steps"] == [0, 1, 2]
    missing = _lineal("metrics", best[0]["ref"], "loss", cwd=ws)
    assert missing.returncode == 1
    assert "its metrics: mAP" in missing.stderr


def test_an_output_identical_to_an_input_is_not_a_cycle(ws: Path) -> None:
    (ws / "data").mkdir()
    (ws / "data" / "x").write_text("same")
    done = _lineal("run", "--in", "data", "--out", "data", "--", "true", cwd=ws)
    assert done.returncode == 0, done.stderr
