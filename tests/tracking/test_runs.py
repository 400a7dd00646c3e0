"""The tracking SDK end to end: runs, capture, buffered metrics, inputs/outputs, status, crashes.

Real workspaces on disk, real child processes (killed with SIGKILL/SIGTERM), real concurrency.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import lineal
from lineal.client import Lineal
from lineal.errors import Conflict, InvalidInput
from lineal.tracking.runs import ActiveRun
from lineal.tracking.search import metric_points, search_runs


def _child(ws: Path, body: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    script = "import lineal, sys, time\n" + textwrap.dedent(body)
    return subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ws,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_run_records_params_inputs_outputs_metrics_and_summary(ws: Path, repo: Lineal) -> None:
    data = ws / "data"
    data.mkdir()
    (data / "a.txt").write_text("a")
    model = ws / "model.pt"
    model.write_bytes(b"weights")
    with lineal.start_run(
        "train", params={"lr": 0.01, "opt": "adam"}, seed=7, tags={"stage": "dev"}, repo=repo
    ) as run:
        used = run.use(data, role="train")
        again = run.use(used.ref, role="eval")
        assert again.digest == used.digest
        run.log_split("train", fraction=0.8, seed=1, count=800, strategy="random")
        for step in range(100):
            run.log({"loss": 1.0 / (step + 1), "acc": step / 100}, step=step)
        run.log({"odd": math.nan}, step=0)
        run.log({"odd": math.inf}, step=1)
        run.log_batch("lr", list(range(3)), [0.1, 0.01, -math.inf])
        made = run.log_model(model, name="detector", flavor="torch")
        run.summary(mAP=0.75, best=math.nan)
    shown = repo.show(run.ref)
    assert shown["status"] == "finished"
    assert shown["duration"] >= 0
    assert shown["params"]["lr"] == 0.01
    assert shown["params"]["split.train"] == {
        "count": 800,
        "fraction": 0.8,
        "seed": 1,
        "strategy": "random",
    }
    assert shown["meta"]["seed"] == 7
    assert shown["tags"] == {"stage": "dev"}
    assert shown["metrics"]["loss"] == {"step": 99, "value": 0.01}
    assert shown["metrics"]["mAP"] == {"step": None, "value": 0.75}
    assert shown["metrics"]["best"]["value"] is None  # NaN
    assert shown["metric_points"] == 100 + 100 + 2 + 3
    roles = {(e["kind"], e["role"]) for e in shown["upstream"]}
    assert {("used", "train"), ("used", "eval"), ("used", "env")} <= roles
    assert {(e["kind"], e["role"], e["node"]) for e in shown["downstream"]} == {
        ("generated", "model", made.node)
    }
    assert repo.resolve("model/detector").meta["flavor"] == "torch"
    odd = metric_points(repo, run.ref, "odd")["odd"]
    assert math.isnan(odd.values[0])
    assert odd.values[1] == math.inf
    assert list(metric_points(repo, run.ref, "lr")["lr"].values) == [0.1, 0.01, -math.inf]
    assert repo.verify().ok


def test_capture_shares_one_env_artifact_and_records_context(repo: Lineal) -> None:
    with lineal.start_run("a", repo=repo) as first:
        pass
    with lineal.start_run("b", repo=repo) as second:
        pass
    env = [
        {e["node"] for e in repo.show(r.ref)["upstream"] if e["role"] == "env"}
        for r in (first, second)
    ]
    assert env[0] == env[1]
    assert len(env[0]) == 1
    packages = repo.resolve(env[0].pop()).meta["packages"]
    assert "pytest" in packages
    meta = repo.show(first.ref)["meta"]
    assert meta["context"]["pid"] == os.getpid()
    assert meta["hardware"]["cpu"]["cores"] == os.cpu_count()


class _Inner:
    last: ActiveRun

    def __call__(self, repo: Lineal) -> None:
        with lineal.start_run("inner", repo=repo, capture=False) as inner:
            self.last = inner
            assert lineal.active_run() is inner
            inner.log({"x": 1.0})
            _ = 1 / 0


_fail_inside = _Inner()


def test_an_exception_fails_the_run_and_nested_runs_are_linked(repo: Lineal) -> None:
    with lineal.start_run("outer", repo=repo, capture=False) as outer:
        assert lineal.active_run() is outer
        with pytest.raises(ZeroDivisionError):
            _fail_inside(repo)
        inner = _fail_inside.last
        assert lineal.active_run() is outer
    assert lineal.active_run() is None
    shown = repo.show(inner.ref)
    assert shown["status"] == "failed"
    assert shown["error"] == "ZeroDivisionError: division by zero"
    assert shown["metric_points"] == 1  # flushed before the failure was recorded
    assert {"kind": "informed_by", "node": outer.ref, "ref": outer.ref, "node_kind": "run",
            "role": None} in shown["upstream"]  # fmt: skip


def test_bad_input_is_refused_at_the_call_and_the_run_stays_consistent(
    ws: Path, repo: Lineal
) -> None:
    with pytest.raises(InvalidInput, match="params cannot be recorded"):
        lineal.start_run("x", params={"f": object()}, repo=repo, capture=False)
    with pytest.raises(InvalidInput, match="seed"):
        lineal.start_run("x", seed="7", repo=repo, capture=False)  # type: ignore[arg-type]
    with lineal.start_run("ok", repo=repo, capture=False) as run:
        run.log({"loss": 1.0}, step=5)
        with pytest.raises(InvalidInput, match="'acc' must be a number"):
            run.log({"loss": 0.5, "acc": "high"}, step=6)
        with pytest.raises(InvalidInput, match="goes back"):
            run.log({"loss": 0.5}, step=4)
        with pytest.raises(InvalidInput, match="bad step"):
            run.log({"loss": 0.5}, step=6.5)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="bad metric key"):
            run.log({"bad key": 0.5})
        with pytest.raises(InvalidInput, match="mapping"):
            run.log([("loss", 1.0)])  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="no such file"):
            run.use(ws / "missing")
        with pytest.raises(InvalidInput, match="2 steps but 1 values"):
            run.log_batch("loss", [7, 8], [1.0])
        with pytest.raises(InvalidInput, match="must not decrease"):
            run.log_batch("loss", [9, 8], [1.0, 2.0])
        with pytest.raises(InvalidInput, match="cannot be recorded"):
            run.summary(model=object())
        run.log_params(extra=1)
        with pytest.raises(Conflict, match="already"):
            run.log_params(extra=2)
        run.log({"loss": 0.25})  # counts on from the last good step
    loss = metric_points(repo, run.ref, "loss")["loss"]
    assert list(loss.steps) == [5, 6]
    assert list(loss.values) == [1.0, 0.25]
    assert "acc" not in repo.show(run.ref)["metrics"]
    assert repo.verify().ok


def test_numpy_arrays_are_accepted(repo: Lineal) -> None:
    np = pytest.importorskip("numpy")
    with lineal.start_run("np", repo=repo, capture=False) as run:
        run.log_batch("x", np.arange(5), np.linspace(0, 1, 5))
        run.log({"y": np.float32(0.5)}, step=np.int64(3))
    assert list(metric_points(repo, run.ref, "x")["x"].values) == [0, 0.25, 0.5, 0.75, 1]


def test_sigkill_leaves_a_crashed_run_with_every_flushed_point(ws: Path, repo: Lineal) -> None:
    child = _child(
        ws,
        """
        run = lineal.start_run("doomed", capture=False)
        for i in range(5000):
            run.log({"loss": float(i)}, step=i)
        print(run.ref, run.flush(), flush=True)
        for i in range(5000, 10**9):
            run.log({"loss": float(i)}, step=i)
        """,
    )
    assert child.stdout is not None
    ref, flushed = child.stdout.readline().split()
    child.send_signal(signal.SIGKILL)
    child.communicate()
    assert int(flushed) == 5000
    shown = repo.show(ref)
    assert shown["status"] == "crashed"
    points = metric_points(repo, ref, "loss")["loss"]
    assert len(points) >= 5000
    assert list(points.steps) == list(range(len(points)))  # a prefix, nothing torn
    assert [r.status for r in search_runs(repo, "status = crashed")] == ["crashed"]
    assert repo.verify().ok


def test_sigterm_flushes_and_marks_the_run_killed(ws: Path, repo: Lineal) -> None:
    child = _child(
        ws,
        """
        run = lineal.start_run("stopped", capture=False, flush_interval=60)
        for i in range(1000):
            run.log({"loss": float(i)}, step=i)
        print(run.ref, flush=True)
        time.sleep(60)
        """,
    )
    assert child.stdout is not None
    ref = child.stdout.readline().strip()
    child.send_signal(signal.SIGTERM)
    _, errors = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGTERM, errors
    shown = repo.show(ref)
    assert shown["status"] == "killed"
    assert shown["metric_points"] == 1000


def test_a_script_that_raises_or_exits_finishes_its_open_run(ws: Path, repo: Lineal) -> None:
    child = _child(
        ws,
        """
        run = lineal.start_run("script", capture=False)
        run.log({"loss": 1.0})
        print(run.ref, flush=True)
        raise RuntimeError("bad batch")
        """,
    )
    out, _ = child.communicate(timeout=60)
    failed = repo.show(out.strip())
    assert failed["status"] == "failed"
    assert "RuntimeError: bad batch" in failed["error"]
    assert failed["metric_points"] == 1


def test_eight_processes_logging_at_once_lose_nothing(ws: Path, repo: Lineal) -> None:
    children = [
        _child(
            ws,
            """
            with lineal.start_run("worker", capture=False, flush_interval=0.05) as run:
                for i in range(3000):
                    run.log({"loss": float(i), "acc": i / 3000}, step=i)
            print(run.ref, flush=True)
            """,
        )
        for _ in range(8)
    ]
    refs = []
    for child in children:
        out, errors = child.communicate(timeout=120)
        assert child.returncode == 0, errors
        refs.append(out.strip())
    for ref in refs:
        shown = repo.show(ref)
        assert shown["status"] == "finished"
        assert shown["metric_points"] == 6000
        assert list(metric_points(repo, ref, "loss")["loss"].steps) == list(range(3000))
    assert repo.verify().ok


def test_secret_environment_values_are_stored_nowhere(ws: Path) -> None:
    secret = "s3cr3t-value-that-must-not-leak"
    child = _child(
        ws,
        """
        with lineal.start_run("train", env_allow=["MYAPP_*"]) as run:
            run.log({"loss": 1.0})
        """,
        env={"MYAPP_API_TOKEN": secret, "MYAPP_MODE": "fast", "AWS_SECRET_ACCESS_KEY": secret},
    )
    _, errors = child.communicate(timeout=60)
    assert child.returncode == 0, errors
    stored = b"".join(p.read_bytes() for p in (ws / ".lineal").rglob("*") if p.is_file())
    assert secret.encode() not in stored
    assert b"MYAPP_MODE" in stored  # allowlisted, harmless: recorded
