"""`lineal run`, `lineal runs` and `lineal metrics` as a user runs them, in subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import lineal

Cli = Callable[..., "subprocess.CompletedProcess[str]"]


def test_lineal_run_records_inputs_outputs_output_tail_and_status(
    ws: Path, lineal_cli: Cli
) -> None:
    (ws / "raw").mkdir()
    (ws / "raw" / "x.csv").write_text("1,2\n")
    script = (
        "import pathlib, sys; pathlib.Path('clean').mkdir(); "
        "pathlib.Path('clean/x.csv').write_text(open('raw/x.csv').read() + '3,4\\n'); "
        "print('rows: 1'); print('warning: none', file=sys.stderr)"
    )
    done = lineal_cli(
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
    listed = json.loads(lineal_cli("runs", "--json", cwd=ws).stdout)
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


def test_lineal_run_passes_the_exit_code_and_records_failure(ws: Path, lineal_cli: Cli) -> None:
    done = lineal_cli("run", "--", sys.executable, "-c", "import sys; sys.exit(3)", cwd=ws)
    assert done.returncode == 3
    failed = json.loads(lineal_cli("runs", "--json", "--where", "status = failed", cwd=ws).stdout)
    assert [r["error"] for r in failed] == ["exit code 3"]


def test_lineal_run_reports_bad_input_in_one_line(ws: Path, lineal_cli: Cli) -> None:
    done = lineal_cli("run", "--", "no-such-program-xyz", cwd=ws)
    assert done.returncode == 1
    assert done.stderr.startswith("error: command not found: no-such-program-xyz")
    done = lineal_cli("run", "--in", "missing", "--", "true", cwd=ws)
    assert done.returncode == 1
    assert "input missing does not exist" in done.stderr
    done = lineal_cli("run", "--out", "never", "--", "true", cwd=ws)
    assert done.returncode == 1
    assert "--out never was not created" in done.stderr
    assert "Traceback" not in done.stderr


def test_runs_filters_and_metrics_prints_points(ws: Path, lineal_cli: Cli) -> None:
    with lineal.open(path=ws) as repo:
        for lr in (0.1, 0.01):
            with lineal.start_run("train", params={"lr": lr}, repo=repo, capture=False) as run:
                for step in range(3):
                    run.log({"mAP": lr * (step + 1)}, step=step)
    table = lineal_cli("runs", cwd=ws)
    assert table.returncode == 0
    assert "train" in table.stdout
    assert "mAP" in table.stdout
    assert "lr" in table.stdout
    best = json.loads(lineal_cli("runs", "--json", "-w", "metrics.mAP >= 0.2", cwd=ws).stdout)
    assert [r["params"]["lr"] for r in best] == [0.1]
    bad = lineal_cli("runs", "--where", "metrics.mAP >=", cwd=ws)
    assert bad.returncode == 1
    assert "column" in bad.stderr
    points = lineal_cli("metrics", best[0]["ref"], "mAP", cwd=ws)
    assert points.stdout.splitlines()[1:] == ["0\t0.1", "1\t0.2", "2\t0.3"]
    summary = lineal_cli("metrics", best[0]["ref"], cwd=ws).stdout
    assert summary.splitlines()[1].split("\t")[:4] == ["mAP", "3", "0", "2"]
    as_json = json.loads(lineal_cli("metrics", best[0]["ref"], "--json", cwd=ws).stdout)
    assert as_json["mAP"]["steps"] == [0, 1, 2]
    thin = lineal_cli("metrics", best[0]["ref"], "mAP", "--max-points", "2", cwd=ws)
    assert thin.stdout.splitlines()[1:] == ["0\t0.1", "2\t0.3"]  # the ends stay
    summary_thin = lineal_cli("metrics", best[0]["ref"], "--max-points", "2", cwd=ws).stdout
    assert summary_thin.splitlines()[1].split("\t")[:4] == ["mAP", "3", "0", "2"]
    missing = lineal_cli("metrics", best[0]["ref"], "loss", cwd=ws)
    assert missing.returncode == 1
    assert "its metrics: mAP" in missing.stderr


def test_runs_sorts_and_pages_and_metrics_takes_a_step_range(ws: Path, lineal_cli: Cli) -> None:
    with lineal.open(path=ws) as repo:
        for name, lr in (("a", 0.3), ("b", 0.1), ("c", 0.2)):
            with lineal.start_run(name, params={"lr": lr}, repo=repo, capture=False) as run:
                for step in range(10):
                    run.log({"mAP": lr * step}, step=step)

    def names(*args: str) -> list[str]:
        done = lineal_cli("runs", "--json", *args, cwd=ws)
        assert done.returncode == 0, done.stderr
        return [r["name"] for r in json.loads(done.stdout)]

    assert names() == ["c", "b", "a"]
    assert names("--sort", "params.lr") == ["b", "c", "a"]
    assert names("--sort", "-metrics.mAP", "--limit", "1", "--offset", "1") == ["c"]
    assert names("--sort", "created", "-w", "params.lr > 0.15") == ["a", "c"]
    page = lineal_cli("runs", "--sort", "name", "--limit", "2", cwd=ws)
    assert page.stderr == "note: runs 1-2 of 3 (--offset 2 for more)\n"
    assert [line.split()[1] for line in page.stdout.splitlines()[1:]] == ["a", "b"]
    bad = lineal_cli("runs", "--sort", "colour", cwd=ws)
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: bad sort 'colour': not a run column or a scoped key\n")
    (ref,) = [
        r["ref"] for r in json.loads(lineal_cli("runs", "--json", "-w", "name = a", cwd=ws).stdout)
    ]
    zoom = lineal_cli("metrics", ref, "mAP", "--from-step", "3", "--to-step", "5", cwd=ws)
    assert [line.split("\t")[0] for line in zoom.stdout.splitlines()[1:]] == ["3", "4", "5"]
    tail = json.loads(lineal_cli("metrics", ref, "--json", "--from-step", "8", cwd=ws).stdout)
    assert tail["mAP"]["steps"] == [8, 9]
    backwards = lineal_cli("metrics", ref, "--from-step", "5", "--to-step", "3", cwd=ws)
    assert backwards.returncode == 1
    assert "the first step is after the last" in backwards.stderr


def test_an_output_identical_to_an_input_is_not_a_cycle(ws: Path, lineal_cli: Cli) -> None:
    (ws / "data").mkdir()
    (ws / "data" / "x").write_text("same")
    done = lineal_cli("run", "--in", "data", "--out", "data", "--", "true", cwd=ws)
    assert done.returncode == 0, done.stderr


def test_runs_table_tells_a_param_from_a_metric_and_shows_the_seed(
    ws: Path, lineal_cli: Cli
) -> None:
    with lineal.open(path=ws) as repo:
        with lineal.start_run("a", params={"lr": 0.1}, seed=7, repo=repo, capture=False) as run:
            run.log({"lr": 0.05, "loss": 0.5}, step=0)
        with lineal.start_run("b", params={"lr": 0.2, "seed": 3}, repo=repo, capture=False):
            pass
    table = lineal_cli("runs", cwd=ws)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    columns = header.split()
    # Two columns called `lr` could not be told apart; the seed of `a` (run meta) was blank.
    assert columns[5:] == ["params.lr", "seed", "loss", "metrics.lr"]
    cells = {row.split()[1]: row.split()[-4:] for row in rows}
    assert cells["a"] == ["0.1", "7", "0.5", "0.05"]
    assert rows[0].split()[1] == "b"
    assert rows[0].split()[-2:] == ["0.2", "3"]  # no loss, no metric lr: blank cells
    listed = {r["name"]: r for r in json.loads(lineal_cli("runs", "--json", cwd=ws).stdout)}
    assert (listed["a"]["seed"], listed["b"]["seed"]) == (7, 3)
