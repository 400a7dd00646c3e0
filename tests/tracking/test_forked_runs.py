"""A forked child inherits its parent's open runs but never ends them or loses points into them.

Real processes: a script forks (bare ``os.fork`` and a multiprocessing pool that is
terminated with SIGTERM), and the parent's run is then read back from the store.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lineal.client import Lineal
from lineal.tracking.search import metric_points

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def _script(ws: Path, body: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-c", "import lineal, os, sys, time\n" + textwrap.dedent(body)],
        cwd=ws,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_a_forked_child_is_refused_and_leaves_the_run_to_its_parent(ws: Path, repo: Lineal) -> None:
    done = _script(
        ws,
        """
        from lineal.errors import InvalidInput
        with lineal.start_run("parent", capture=False) as run:
            log = run.log  # taken before the fork: refused in the child all the same
            log({"loss": 1.0}, step=0)
            pid = os.fork()
            if pid == 0:
                for attempt in (
                    lambda: log({"loss": 2.0}, step=1),
                    lambda: run.log({"acc": 0.5, "loss": 2.0}),
                    lambda: run.log_batch("loss", [5, 6], [0.1, 0.2]),
                    run.flush,
                    run.finish,
                ):
                    try:
                        attempt()
                    except InvalidInput as exc:
                        print("refused:", exc, flush=True)
                with lineal.start_run("worker", capture=False) as own:  # the child's own
                    own.log({"loss": 0.5}, step=0)
                print("own:", own.ref, flush=True)
                sys.exit(0)  # leaves the with block in the child: the run goes on
            os.waitpid(pid, 0)
            log({"loss": 3.0}, step=2)
        print(run.ref, flush=True)
        """,
    )
    lines = done.stdout.strip().splitlines()
    refusals, own, ref = lines[:-2], lines[-2].removeprefix("own: "), lines[-1]
    assert len(refusals) == 5
    worker = repo.show(own)  # a run of the child's own: recorded, and linked to the parent's
    assert worker["status"] == "finished"
    assert worker["metric_points"] == 1
    assert {"kind": "informed_by", "node": ref, "ref": ref, "node_kind": "run",
            "role": None} in worker["upstream"]  # fmt: skip
    assert all("not to this forked child" in line for line in refusals)
    shown = repo.show(ref)
    assert shown["status"] == "finished"
    assert list(metric_points(repo, ref, "loss")["loss"].steps) == [0, 2]
    assert "acc" not in metric_points(repo, ref)


def test_terminating_a_pool_of_forked_workers_does_not_kill_the_run(ws: Path, repo: Lineal) -> None:
    done = _script(
        ws,
        """
        import multiprocessing

        def work(seconds):
            time.sleep(seconds)

        if __name__ == "__main__":
            with lineal.start_run("parent", capture=False) as run:
                pool = multiprocessing.get_context("fork").Pool(2)
                pool.map_async(work, [30, 30])
                time.sleep(0.5)
                pool.terminate()  # SIGTERM to each worker, which inherited the run
                pool.join()
                run.log({"loss": 1.0}, step=0)
            print(run.ref, flush=True)
        """,
    )
    ref = done.stdout.strip().splitlines()[-1]
    shown = repo.show(ref)
    assert shown["status"] == "finished", shown.get("error")
    assert shown["metric_points"] == 1
