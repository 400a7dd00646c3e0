"""Writes through a lineal server: signed batches through the client's durable spool.

Real server processes on loopback ports (SQLite and PostgreSQL projects). The records land as
the client's (both signatures on each commit), nothing is lost or doubled when the server is
away and comes back, and `lineal sync` empties the spool.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from live_server import LINEAL_BIN, PROJECT, _pg_base

from lineal.client import Lineal
from lineal.errors import StoreUnavailable
from lineal.ledger.keys import Signer
from lineal.model.ops import AgentRegister
from lineal.store.registry import create_project, open_store
from server_process import start_server, stop


@dataclass
class Fresh:
    base: str
    store_uri: str
    url: str
    folder: Path
    proc: object

    @property
    def lineal_uri(self) -> str:
        return f"{self.url}/projects/{PROJECT}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Fresh]:
    """An empty project on a server process of its own; spools under tmp_path."""
    monkeypatch.setenv("LINEAL_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("LINEAL_SYNC_TIMEOUT", "20")
    bases = (
        iter([f"sqlite:///{tmp_path / 'projects'}"]) if request.param == "sqlite" else _pg_base()
    )
    base = next(bases)
    store_uri = create_project(base, PROJECT)
    proc, url = start_server(base, tmp_path)
    served = Fresh(base, store_uri, url, tmp_path, proc)
    try:
        yield served
    finally:
        stop(served.proc)  # type: ignore[arg-type]
        for _ in bases:
            pass


def _client(fresh: Fresh, name: str = "bob") -> tuple[Lineal, Signer]:
    signer = Signer.generate(name)
    lin = Lineal(open_store(fresh.lineal_uri, signer))
    lin.store.append(AgentRegister(name=name, public_key=signer.public_key))
    return lin, signer


def _spool_files(fresh: Fresh) -> list[Path]:
    root = fresh.folder / "spool"
    return list(root.rglob("seg-*.log")) if root.exists() else []


def test_an_sdk_run_lands_through_the_server_as_its_agents(fresh: Fresh) -> None:
    lin, _ = _client(fresh)
    data = lin.record_artifact("dataset", data=b"images", name="cars")
    run = lin.start_run("train", params={"lr": 0.1})
    lin.link("used", data, run, role="train")
    for step in range(1, 4):
        lin.log_metrics(run, {"loss": 1.0 / step}, step=step)
    model = lin.record_artifact("model", data=b"weights", name="det")
    lin.link("generated", run, model)
    finished = lin.finish_run(run, summary={"loss": 0.25})
    assert finished.status == "finished"
    assert lin.sync(20)["pending_batches"] == 0
    graph = lin.store.subgraph([model.node], upstream=True)
    assert {data.node, f"run/{run.id}", model.node} <= set(graph[0])
    lin.close()

    server = open_store(fresh.store_uri)  # the project's own database
    try:
        records = list(server.records())
        authors = {r.author for r in records}
        assert authors == {"lineal-server", "bob"}
        commits = [c for c in server.commits() if c.batch is not None]
        assert commits
        assert all(c.author == "bob" and c.server == "lineal-server" for c in commits)
        assert server.get_run(run.id).metrics == {"loss": 0.25}
        report = server.verify()
        assert report.ok, report.problem
    finally:
        server.close()
    assert _spool_files(fresh) == []


def test_lineal_start_run_logs_through_the_server(fresh: Fresh) -> None:
    """The SDK's run does not read its own start back: through a server it is still spooled."""
    import lineal

    lin, _ = _client(fresh)
    with lineal.start_run("sdk", repo=lin, capture=False, tags={"team": "perception"}) as run:
        assert run.info.tags == {"team": "perception"}
        for step in range(100):
            run.log({"loss": 1.0 / (step + 1), "acc": step / 100}, step=step)
    assert lin.sync(20)["pending_batches"] == 0
    series = lin.store.metric_series(run.id)
    assert {key: len(s.steps) for key, s in series.items()} == {"loss": 100, "acc": 100}
    assert lin.store.get_run(run.id).status == "finished"
    lin.close()


def test_recording_a_named_artifact_does_not_wait_for_the_server(
    fresh: Fresh, monkeypatch: pytest.MonkeyPatch
) -> None:
    lin, _ = _client(fresh)
    asked: list[str] = []
    read = lin.store._call  # type: ignore[attr-defined]
    monkeypatch.setattr(
        lin.store, "_call", lambda method, **a: asked.append(method) or read(method, **a)
    )
    monkeypatch.setenv("LINEAL_WRITE_WAIT", "0")  # never wait: the write is only spooled
    model = lin.record_artifact("model", data=b"weights", name="det")
    assert asked == []  # spooled: no read, so no wait for the network
    assert model.version is None
    assert model.name == "det"
    assert lin.sync(20)["pending_batches"] == 0
    assert lin.store.version_of("model", "det", model.digest) == 1
    # Waiting for the answer (the default): the version the server gave comes back.
    monkeypatch.setenv("LINEAL_WRITE_WAIT", "60")
    again = lin.record_artifact("model", data=b"weights 2", name="det")
    assert again.version == 2
    assert again.seq is not None
    lin.close()


def test_writes_while_the_server_is_away_are_sent_when_it_is_back(fresh: Fresh) -> None:
    lin, _ = _client(fresh)
    assert lin.sync(20)["pending_batches"] == 0
    stop(fresh.proc)  # type: ignore[arg-type]
    run = lin.start_run("offline")  # nothing waits for the network
    for step in range(50):
        lin.log_metrics(run, {"acc": step / 50}, step=step)
    lin.finish_run(run)
    state = lin.sync(0)
    assert state["pending_batches"] >= 52
    with pytest.raises(StoreUnavailable, match=r"batches .* are spooled"):
        lin.store.get_run(run.id)
    port = int(fresh.url.rsplit(":", 1)[1])
    fresh.proc, url = _restart(fresh, port)
    assert url == fresh.url
    assert lin.sync(30)["pending_batches"] == 0
    series = lin.store.metric_series(run.id)["acc"]
    assert list(series.steps) == list(range(50))  # each point once
    assert lin.store.get_run(run.id).status == "finished"
    assert lin.store.verify().ok
    lin.close()
    assert _spool_files(fresh) == []


def test_a_spool_left_by_a_process_that_died_is_drained_by_sync(
    fresh: Fresh, lineal_cli: object, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    env = {"LINEAL_SPOOL": str(fresh.folder / "spool"), "LINEAL_SYNC_TIMEOUT": "20"}
    done = lineal_cli("init", "--uri", fresh.lineal_uri, "--agent", "carol", cwd=work, env=env)  # type: ignore[operator]
    assert done.returncode == 0, done.stderr
    assert "registered through the lineal server" in done.stdout
    stop(fresh.proc)  # type: ignore[arg-type]
    script = (
        "import lineal\n"
        "with lineal.open() as repo:\n"
        "    repo.set_tag('agent/carol', 'team', 'qa')\n"
    )
    tagged = subprocess.run(  # a process that writes offline, then exits with it spooled
        [sys.executable, "-c", script],
        cwd=work,
        # The server is away: the write counts as spooled after 0.5 s, and so does closing.
        env={**os.environ, **env, "LINEAL_SYNC_TIMEOUT": "0.5", "LINEAL_WRITE_WAIT": "0.5"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert tagged.returncode == 0, tagged.stderr
    # Still away: closing the client would wait LINEAL_SYNC_TIMEOUT for a spool that cannot
    # drain (the dead process's, adopted to be counted); half a second says the same.
    away = {**env, "LINEAL_SYNC_TIMEOUT": "0.5"}
    status = lineal_cli("sync", "--status", "--json", cwd=work, env=away)  # type: ignore[operator]
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["pending_batches"] == 1
    port = int(fresh.url.rsplit(":", 1)[1])
    fresh.proc, _ = _restart(fresh, port)
    synced = lineal_cli("sync", cwd=work, env=env)  # type: ignore[operator]
    assert synced.returncode == 0, synced.stderr
    assert synced.stdout.startswith("nothing pending")
    server = open_store(fresh.store_uri)
    try:
        assert server.tags("agent/carol") == {"team": "qa"}
        assert server.verify().ok
    finally:
        server.close()
    assert _spool_files(fresh) == []


def _restart(fresh: Fresh, port: int) -> tuple[object, str]:
    return start_server(fresh.base, fresh.folder, port=port)  # the address clients know


def test_the_lineal_binary_is_there() -> None:
    assert LINEAL_BIN.exists()


def test_a_read_sees_the_writes_of_its_own_process(fresh: Fresh) -> None:
    lin, _ = _client(fresh)
    lin.record_artifact("dataset", data=b"v1", name="cars")
    found = lin.resolve("dataset/cars")  # no sync: the read sends the spool first
    assert found.version == 1  # type: ignore[union-attr]
    lin.close()
