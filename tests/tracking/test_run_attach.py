"""A script run by `lineal run` logs to that run: ``lineal.active_run()`` is a handle on it.

Real `lineal run` processes running real Python scripts; the wrapper run is read back from the
store. The script's own ``start_run`` is a child of the wrapper; a wrong ``LINEAL_RUN`` is one
clear error; the wrapper's status still follows the exit code, and signals still kill it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

import lineal
from lineal.client import Lineal
from lineal.model.entities import Artifact, Run
from lineal.tracking.search import metric_points

Cli = Callable[..., "subprocess.CompletedProcess[str]"]
LINEAL_BIN = Path(sys.executable).parent / "lineal"

_HEADER = "import lineal, os, sys\nfrom lineal.errors import InvalidInput\n"
#: A run id no store here has (a valid ULID).
UNKNOWN = "run/01JD3XQ4M5N6P7Q8R9S0T1V2W3"


def _lineal_run(
    lineal_cli: Cli, ws: Path, body: str, *options: str
) -> subprocess.CompletedProcess[str]:
    (ws / "t.py").write_text(_HEADER + textwrap.dedent(body))
    return lineal_cli("run", "--name", "wrapper", *options, "--", sys.executable, "t.py", cwd=ws)


def _wrapper(ws: Path) -> Run:
    with lineal.open(path=ws) as repo:
        (found,) = lineal.search_runs("name = wrapper", repo=repo)
        return found


def _clean_env(**more: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}, **more}


def test_the_script_logs_to_the_wrapper_run(ws: Path, lineal_cli: Cli) -> None:
    (ws / "train").mkdir()
    (ws / "train" / "a.txt").write_text("a")
    done = _lineal_run(
        lineal_cli,
        ws,
        """
        run = lineal.active_run()
        print(run.ref, os.environ["LINEAL_RUN"], flush=True)
        assert lineal.active_run() is run
        for step in range(3):
            run.log({"loss": 1.0 / (step + 1)}, step=step)
        run.log_batch("lr", [0, 1], [0.1, 0.05])
        run.log_params(lr=0.1)
        run.set_tag("team", "perception")
        run.use("train", role="train")
        run.summary(best=0.75, note="ok")
        run.summary(best=0.8)
        """,
    )
    assert done.returncode == 0, done.stderr
    ref, exported = done.stdout.split()
    wrapper = _wrapper(ws)
    assert ref == exported == wrapper.ref
    assert wrapper.status == "finished"
    assert wrapper.params == {"lr": 0.1}
    assert wrapper.tags == {"team": "perception"}
    points = lineal_cli("metrics", ref, "loss", cwd=ws).stdout.splitlines()[1:]
    assert points == ["0\t1", "1\t0.5", "2\t0.333333"]
    with lineal.open(path=ws) as repo:
        shown = repo.show(ref)
        assert shown["summary"] == {"best": 0.8, "note": "ok"}
        assert shown["metric_points"] == 5
        assert {e["role"] for e in shown["upstream"]} >= {"train", "code", "env", "command"}
    assert lineal_cli("runs", "--json", cwd=ws).stdout.count('"ref"') == 1  # no second run


def test_a_run_the_script_starts_is_informed_by_the_wrapper(ws: Path, lineal_cli: Cli) -> None:
    done = _lineal_run(
        lineal_cli,
        ws,
        """
        with lineal.start_run("inner", capture=False) as inner:
            assert lineal.active_run() is inner  # the innermost: the script's own run
            with lineal.start_run("innermost", capture=False) as deeper:
                deeper.log({"acc": 1.0})
            inner.log({"loss": 0.5})
        print(inner.ref, deeper.ref, lineal.active_run().ref, flush=True)
        """,
    )
    assert done.returncode == 0, done.stderr
    inner, deeper, active = done.stdout.split()
    wrapper = _wrapper(ws)
    assert active == wrapper.ref  # the script's run ended: the wrapper is active again
    with lineal.open(path=ws) as repo:
        links = {(e.parent, e.child) for e in repo.edges(inner) if e.kind == "informed_by"}
        assert links == {(wrapper.ref, inner), (inner, deeper)}
        assert repo.show(inner)["metric_points"] == 1
        assert repo.show(wrapper.ref)["metric_points"] == 0
        assert repo.resolve(inner).status == "finished"  # type: ignore[union-attr]


def _model_and_out(via: str) -> str:
    run = "lineal.active_run()" if via == "active_run" else 'lineal.start_run("fit", capture=False)'
    return f"""
        import pathlib
        pathlib.Path("models").mkdir()
        pathlib.Path("models/m.bin").write_bytes(b"weights")
        with {run} as run:
            run.log_model("models/m.bin", name="m")
        """


def _generated_by(repo: Lineal, ref: str) -> list[Artifact]:
    found = [repo.resolve(e.child) for e in repo.edges(ref) if e.kind == "generated"]
    return [a for a in found if isinstance(a, Artifact) and a.kind != "report"]


def test_a_model_logged_under_lineal_run_out_keeps_the_command_whole(
    ws: Path, lineal_cli: Cli
) -> None:
    body = _model_and_out("active_run") + 'pathlib.Path("models/card.md").write_text("m")\n'
    done = _lineal_run(lineal_cli, ws, body, "--out", "models")
    assert done.returncode == 0, done.stderr
    assert "  generated dataset/models@v1" in done.stderr.splitlines()
    wrapper = _wrapper(ws)
    assert wrapper.status == "finished"
    with lineal.open(path=ws) as repo:
        model = repo.resolve("model/m")
        assert isinstance(model, Artifact)
        made = {(a.kind, a.digest) for a in _generated_by(repo, wrapper.ref)}
        assert made == {("model", model.digest), ("dataset", repo.resolve("dataset/models").digest)}  # type: ignore[union-attr]


@pytest.mark.parametrize("via", ["active_run", "start_run"])
def test_a_model_logged_into_the_out_folder_keeps_the_command_whole(
    ws: Path, lineal_cli: Cli, via: str
) -> None:
    # models/ holds only m.bin: dataset/models and model/m are the same bytes, two versions.
    done = _lineal_run(lineal_cli, ws, _model_and_out(via), "--out", "models")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert "  generated dataset/models@v1" in lines
    assert ("  generated model/m@v1" in lines) == (via == "active_run")
    wrapper = _wrapper(ws)
    assert wrapper.status == "finished"
    with lineal.open(path=ws) as repo:
        by_wrapper = {a.ref for a in _generated_by(repo, wrapper.ref)}
        (maker,) = [e.parent for e in repo.edges("model/m") if e.kind == "generated"]
        assert maker == wrapper.ref if via == "active_run" else maker != wrapper.ref
        assert "dataset/models@v1" in by_wrapper


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_script_in_another_folder_reaches_the_same_store(
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    lineal_cli: Cli,
    backend: str,
) -> None:
    ws = tmp_path_factory.mktemp("ws")
    uri = str(request.getfixturevalue("pg_uri")) if backend == "postgres" else None
    lineal.init(ws, uri=uri, agent="tester")
    elsewhere = tmp_path_factory.mktemp("elsewhere")  # no .lineal/ here or above
    done = _lineal_run(
        lineal_cli,
        ws,
        f"""
        import pathlib
        os.chdir({str(elsewhere)!r})
        pathlib.Path("w.bin").write_bytes(b"far away")
        run = lineal.active_run()
        run.log({{"loss": 0.1}})
        print(run.log_model("w.bin", name="far").ref, flush=True)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "model/far@v1"
    with lineal.open(path=ws) as repo:
        assert repo.show(_wrapper(ws).ref)["metric_points"] == 1
        assert repo.verify().ok  # signed with the workspace's key


def _python(ws: Path, body: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _HEADER + textwrap.dedent(body)],
        cwd=ws,
        env=_clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("call", ["lineal.active_run()", 'lineal.start_run("x", capture=False)'])
def test_a_wrong_lineal_run_is_one_clear_error(ws: Path, lineal_cli: Cli, call: str) -> None:
    done = _python(ws, call, LINEAL_RUN=UNKNOWN)
    assert done.returncode == 1
    last = done.stderr.splitlines()[-1]
    store = f"sqlite:///{ws.resolve() / '.lineal' / 'lineal.db'}"
    assert last == (
        f"lineal.errors.NotFound: LINEAL_RUN names {UNKNOWN}, which is not a run in the store "
        f"{store}: unset LINEAL_RUN to record a run of its own"
    )
    assert _lineal_run(lineal_cli, ws, "").returncode == 0  # a run that is over now
    ended = _wrapper(ws).ref
    done = _python(ws, call, LINEAL_RUN=ended)
    assert f"LINEAL_RUN names {ended}, which is finished in {store}" in done.stderr
    done = _python(ws, call, LINEAL_RUN="run/nope")
    assert "LINEAL_RUN='run/nope' is not a run reference (run/ULID)" in done.stderr
    with lineal.open(path=ws) as repo:
        assert len(lineal.search_runs(repo=repo)) == 1  # nothing was started


def test_lineal_run_under_a_wrong_lineal_run_says_so(ws: Path) -> None:
    done = subprocess.run(
        [str(LINEAL_BIN), "run", "--", "true"],
        cwd=ws,
        env=_clean_env(LINEAL_RUN=UNKNOWN),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: LINEAL_RUN names {UNKNOWN}, which is not a run")
    assert "hint:" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_script_never_ends_the_wrapper_run(ws: Path, repo: Lineal) -> None:
    # A run another process started (here this test): the script logs to it, then exits
    # (its exit hook flushes), and the run is still running, for its starter to end.
    outer = lineal.start_run("outer", repo=repo, capture=False)
    done = _python(
        ws,
        """
        run = lineal.active_run()
        run.log({"loss": 1.0}, step=0)
        with run:
            run.log({"loss": 0.5}, step=1)
        try:
            run.log({"loss": 0.1}, step=2)
        except InvalidInput as exc:
            print("detached:", exc)
        again = lineal.active_run()
        again.log({"loss": 0.25}, step=2)
        try:
            again.summary(best=1.0)  # no summary channel: not started by `lineal run`
        except InvalidInput as exc:
            print("no channel:", exc)
        """,
        LINEAL_RUN=outer.ref,
    )
    assert done.returncode == 0, done.stderr
    assert "detached: " in done.stdout
    assert f"no channel: summary values cannot reach {outer.ref}" in done.stdout
    assert repo.resolve(outer.ref).status == "running"  # type: ignore[union-attr]
    assert list(metric_points(repo, outer.ref, "loss")["loss"].values) == [1.0, 0.5, 0.25]
    assert outer.finish().status == "finished"


@pytest.mark.parametrize("code", [0, 3])
def test_the_wrapper_status_follows_the_exit_code(ws: Path, lineal_cli: Cli, code: int) -> None:
    done = _lineal_run(
        lineal_cli,
        ws,
        f"""
        run = lineal.active_run()
        run.log({{"loss": 1.0}})
        run.finish("failed")  # the script's word is not the run's status: its exit code is
        sys.exit({code})
        """,
    )
    assert done.returncode == code, done.stderr
    wrapper = _wrapper(ws)
    assert (wrapper.status, wrapper.error) == (
        ("finished", None) if code == 0 else ("failed", "exit code 3")
    )
    assert wrapper.metrics == {"loss": 1.0}


def _started(ws: Path, body: str) -> tuple[subprocess.Popen[str], str]:
    """`lineal run` of a script that logs, prints its run and waits; in its own session, as a
    terminal's process group."""
    (ws / "t.py").write_text("import lineal, os, sys, time\n" + textwrap.dedent(body))
    child = subprocess.Popen(
        [str(LINEAL_BIN), "run", "--name", "wrapper", "--", sys.executable, "t.py"],
        cwd=ws,
        env=_clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert child.stdout is not None
    return child, child.stdout.readline().strip()


_LOG_AND_WAIT = """
    from lineal.tracking.attached import AttachedRun
    AttachedRun.__init__.__kwdefaults__["flush_interval"] = 3600  # only the signal flushes
    run = lineal.active_run()
    for i in range(500):
        run.log({"loss": 1.0 / (i + 1)}, step=i)
    print(run.ref, flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("how", ["sigterm", "ctrl-c"])
def test_a_killed_wrapper_is_killed_with_the_scripts_points(
    ws: Path, repo: Lineal, how: str
) -> None:
    child, ref = _started(ws, _LOG_AND_WAIT)
    if how == "sigterm":
        child.send_signal(signal.SIGTERM)  # to `lineal run`, which passes it on
    else:
        os.killpg(child.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
    _, errors = child.communicate(timeout=60)
    assert child.returncode == 128 + (signal.SIGTERM if how == "sigterm" else signal.SIGINT), errors
    shown = repo.show(ref)
    assert shown["status"] == "killed", errors
    assert shown["metric_points"] == 500


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_worker_of_the_script(ws: Path, lineal_cli: Cli) -> None:
    done = _lineal_run(
        lineal_cli,
        ws,
        """
        import json
        run = lineal.active_run()
        run.log({"loss": 1.0}, step=0)
        pid = os.fork()
        if pid == 0:
            try:
                run.log({"loss": 2.0}, step=1)
            except InvalidInput as exc:
                print("refused:", exc, flush=True)
            own = lineal.active_run()  # a handle of the worker's own, on the same run
            own.log({"worker": 1.0})
            with lineal.start_run("worker", capture=False) as started:
                pass
            print(json.dumps([own is run, own.ref, started.ref]), flush=True)
            sys.exit(0)
        os.waitpid(pid, 0)
        """,
    )
    assert done.returncode == 0, done.stderr
    refused, found = done.stdout.splitlines()
    assert refused.startswith("refused: this handle on run/")
    same, own, started = json.loads(found)
    wrapper = _wrapper(ws)
    assert (same, own) == (False, wrapper.ref)
    assert wrapper.metrics == {"loss": 1.0, "worker": 1.0}
    with lineal.open(path=ws) as repo:
        assert [e.parent for e in repo.edges(started) if e.kind == "informed_by"] == [wrapper.ref]
