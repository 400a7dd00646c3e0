"""Ctrl-C (SIGINT) during a run: the points logged so far are written and the run is ``killed``.

Real child processes, interrupted with a real SIGINT, with the run in a ``with`` block and
without one (a script's run finished by the exit hook).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lineal.client import Lineal


@pytest.mark.parametrize("in_block", [True, False])
def test_ctrl_c_kills_the_run_and_keeps_its_points(ws: Path, repo: Lineal, in_block: bool) -> None:
    body = """
        for i in range(500):
            run.log({"loss": 1.0 / (i + 1)}, step=i)
        print(run.ref, flush=True)
        time.sleep(60)
    """
    if in_block:
        script = 'with lineal.start_run("train", capture=False) as run:\n' + textwrap.indent(
            textwrap.dedent(body), "    "
        )
    else:
        script = 'run = lineal.start_run("train", capture=False)\n' + textwrap.dedent(body)
    child = subprocess.Popen(
        [sys.executable, "-c", "import lineal, time\n" + script],
        cwd=ws,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    ref = child.stdout.readline().strip()
    child.send_signal(signal.SIGINT)
    _, errors = child.communicate(timeout=60)
    assert "KeyboardInterrupt" in errors
    shown = repo.show(ref)
    assert shown["status"] == "killed", shown
    assert shown["metric_points"] == 500
