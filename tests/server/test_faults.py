"""Faults under concurrent writers: the server killed, the server away, two servers on one
database. Real processes on loopback ports only.

Each writer is a process of its own with its own agent key and spool: it registers, starts a
run, logs STEPS metric steps with known values, sets TAGS tags, finishes the run (each write
one signed batch), syncs, and prints what it wrote. Afterwards the project's own store must
hold every record each writer wrote exactly once, verify, and every spool must be empty.

LINEAL_TEST_CUT_SECONDS sets how long the server is away in the network-cut test (5 s unless
told; run it by hand with 30 for the long cut).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import PROJECT, _pg_base

from lineal.store.registry import create_project, open_store
from lineal.store.spool import Spool
from server_process import free_port, start_server, stop

pytestmark = pytest.mark.serial  # servers killed and writers timed: make test runs it alone

STEPS = 96  # with the run start, two tags and the finish: 100 batches per writer
TAGS = 2
CUT = float(os.environ.get("LINEAL_TEST_CUT_SECONDS", "5"))

WRITER = """
import json, sys, time
from lineal.client import Lineal
from lineal.ledger.keys import Signer
from lineal.model.ops import AgentRegister
from lineal.store.registry import open_store

url, name, steps, tags, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), \\
    float(sys.argv[5])
signer = Signer.generate(name)
store = open_store(url, signer)
store.append(AgentRegister(name=name, public_key=signer.public_key))
lin = Lineal(store)
run = lin.start_run("train", params={"writer": name})
print("writing", flush=True)
for step in range(steps):
    lin.log_metrics(run, {"loss": step / 1000 + len(name)}, step=step)
    time.sleep(pause)
for n in range(tags):
    lin.set_tag(run, f"tag{n}", f"{name}-{n}")
lin.finish_run(run)
state = store.sync(float(sys.argv[6]))
store.close()
print(json.dumps({"name": name, "run": run.id, "steps": steps, "tags": tags, "sync": state}))
"""


def _writer(url: str, name: str, spool: Path, *, pause: float = 0.02) -> subprocess.Popen[str]:
    env = {**os.environ, "LINEAL_SPOOL": str(spool), "LINEAL_SYNC_TIMEOUT": "30"}
    wait = str(max(60.0, 3 * CUT))
    args = [url, name, str(STEPS), str(TAGS), str(pause), wait]
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _started(writers: list[subprocess.Popen[str]]) -> None:
    """Wait until every writer has registered and is logging steps."""
    for proc in writers:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "writing":
            proc.kill()
            raise AssertionError(f"writer failed to start: {line}{proc.communicate()[1]}")


def _finished(writers: list[subprocess.Popen[str]]) -> list[dict[str, object]]:
    summaries = []
    for proc in writers:
        out, err = proc.communicate(timeout=max(120.0, 4 * CUT))
        assert proc.returncode == 0, err
        summary = json.loads(out.strip().splitlines()[-1])
        summaries.append(summary)
    return summaries


def _restart(base: str, cwd: Path, port: int) -> subprocess.Popen[str]:
    for _ in range(50):  # the port may take a moment to be free again
        try:
            return start_server(base, cwd, port=port)[0]  # the address the writers know
        except RuntimeError:
            time.sleep(0.2)
    raise AssertionError(f"server did not restart on port {port}")


def _check(store_uri: str, summaries: list[dict[str, object]], spool: Path) -> None:
    for summary in summaries:
        state = summary["sync"]
        assert isinstance(state, dict)
        assert state["pending_batches"] == 0, summary
        assert state["rejected"] == [], summary
    server = open_store(store_uri)
    try:
        per_agent = Counter((r.author, r.op) for r in server.records())
        batches = Counter(c.author for c in server.commits() if c.batch is not None)
        for summary in summaries:
            name, run_id = str(summary["name"]), str(summary["run"])
            ops = {op: n for (author, op), n in per_agent.items() if author == name}
            assert ops == {
                "agent.register": 1,
                "run.start": 1,
                "metrics.batch": STEPS,
                "tag.set": TAGS,
                "run.finish": 1,
            }, name
            assert batches[name] == 1 + 1 + STEPS + TAGS + 1
            series = server.metric_series(run_id)["loss"]
            assert list(series.steps) == list(range(STEPS))  # each step once
            assert list(series.values) == [s / 1000 + len(name) for s in range(STEPS)]
            assert server.tags(f"run/{run_id}") == {f"tag{n}": f"{name}-{n}" for n in range(TAGS)}
            assert server.get_run(run_id).status == "finished"
        report = server.verify()
        assert report.ok, report.problem
    finally:
        server.close()
    assert list(spool.rglob("seg-*.log")) == []
    for folder in (p for p in spool.rglob("*") if p.is_dir() and (p / "LOCK").exists()):
        with Spool(folder) as left:
            assert left.status().batches == 0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def base(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    bases = (
        iter([f"sqlite:///{tmp_path / 'projects'}"]) if request.param == "sqlite" else _pg_base()
    )
    yield next(bases)
    for _ in bases:  # the PostgreSQL database is dropped after the servers let go of it
        pass


def _fault(base: str, tmp_path: Path, fault: str) -> None:
    store_uri = create_project(base, PROJECT)
    spool = tmp_path / "spool"
    proc, url = start_server(base, tmp_path)
    port = int(url.rsplit(":", 1)[1])
    writers = [_writer(f"{url}/projects/{PROJECT}", f"w{n}", spool) for n in range(8)]
    try:
        _started(writers)
        time.sleep(0.5)  # some batches are in, many are still to come
        if fault == "kill":
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            time.sleep(2)
        else:
            stop(proc)
            time.sleep(CUT)
        # none has finished: each waits for its last batches to be taken
        assert [w.poll() for w in writers] == [None] * len(writers)
        proc = _restart(base, tmp_path, port)
        summaries = _finished(writers)
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
                w.wait()
        stop(proc)
    _check(store_uri, summaries, spool)


def test_a_server_killed_under_eight_writers_loses_and_doubles_nothing(
    base: str, tmp_path: Path
) -> None:
    _fault(base, tmp_path, "kill")


def test_a_server_away_mid_training_loses_and_doubles_nothing(base: str, tmp_path: Path) -> None:
    _fault(base, tmp_path, "cut")


@pytest.mark.postgres
def test_two_servers_on_one_postgresql_project_keep_one_chain(tmp_path: Path) -> None:
    bases = _pg_base()
    base = next(bases)
    try:
        store_uri = create_project(base, PROJECT)
        spool = tmp_path / "spool"
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        servers = [start_server(base, tmp_path / "a"), start_server(base, tmp_path / "b")]
        writers = [
            _writer(f"{url}/projects/{PROJECT}", f"{side}{n}", spool, pause=0.0)
            for (_, url), side in zip(servers, "ab", strict=True)
            for n in range(4)
        ]
        try:
            summaries = _finished(writers)
        finally:
            for w in writers:
                if w.poll() is None:
                    w.kill()
                    w.wait()
            for proc, _ in servers:
                stop(proc)
        _check(store_uri, summaries, spool)
    finally:
        for _ in bases:
            pass


def test_a_starting_process_spool_is_not_adopted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spool folder made but not locked yet (its process is starting) is left alone: a
    writer that adopted it took the lock from under its owner, which then failed to write."""
    from lineal.ledger.keys import Signer
    from lineal.model.ops import TagSet
    from lineal.store.http import parse_uri
    from lineal.store.http_writes import spool_root

    monkeypatch.setenv("LINEAL_SPOOL", str(tmp_path / "spool"))
    uri = f"http://127.0.0.1:{free_port()}/projects/{PROJECT}"  # nobody there: writes spool
    store = open_store(uri, Signer.generate("dave"))
    starting = spool_root(parse_uri(uri)[0]) / "p1-starting"
    starting.mkdir(parents=True)
    (starting / "LOCK").touch()
    try:
        assert store.sync(0)["pending_batches"] == 0
        assert (starting / "LOCK").exists()  # not taken, not removed
        with Spool(starting) as own:  # its owner locks it and writes
            own.put([TagSet(target="agent/dave", key="team", value="qa")], agent="dave")
            assert own.status().batches == 1
    finally:
        store.close()
