"""Many writing processes at once on one store: nothing lost, nothing locked, chain intact.

Real OS processes (not threads), each with its own signing key, released together so that
every one of their single-record transactions contends for the chain head.
"""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from lineal.ledger.keys import Signer, save_signer
from lineal.model.ops import AgentRegister
from lineal.store.registry import open_store

pytestmark = pytest.mark.serial  # eight processes racing for the head: run alone

WORKERS = 8
PER_WORKER = 1_000

# Run as `python worker.py URI KEYDIR AGENT GOFILE COUNT`: open the store as AGENT, say
# "ready", wait for GOFILE, then append COUNT records, one transaction each.
WORKER = """
import sys
import time
from pathlib import Path

from lineal.ledger.keys import load_signer
from lineal.model.digests import digest_bytes
from lineal.model.ops import ArtifactRecord
from lineal.store.registry import open_store

uri, keys, agent, go, count = sys.argv[1:6]
store = open_store(uri, load_signer(Path(keys), agent))
print("ready", flush=True)
go_file = Path(go)
while not go_file.exists():
    time.sleep(0.001)
last = 0
for i in range(int(count)):
    (record,) = store.append(
        ArtifactRecord(
            kind="file",
            digest=digest_bytes(f"{agent}/{i}".encode()),
            name=agent,
            meta={"i": i},
        )
    )
    assert record.seq > last, (record.seq, last)
    last = record.seq
store.close()
print("done", count, flush=True)
"""


def _run_writers(uri: str, tmp_path: Path) -> float:
    """Register WORKERS agents, run them all at once; return the contended phase's seconds."""
    keys = tmp_path / "keys"
    parent = Signer.generate("parent")
    workers = [Signer.generate(f"w{n}") for n in range(WORKERS)]
    store = open_store(uri, parent, create=True)
    try:
        store.append(AgentRegister(name=parent.name, public_key=parent.public_key))
        for worker in workers:
            save_signer(keys, worker)
            # A new name may be registered by anyone; the worker then signs as itself.
            store.append(AgentRegister(name=worker.name, public_key=worker.public_key))
        assert store.head()[0] == 1 + WORKERS
    finally:
        store.close()

    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    go = tmp_path / "go"
    with ExitStack() as stack:
        procs: list[subprocess.Popen[str]] = []
        errs: list[Path] = []
        for worker in workers:
            argv = [sys.executable, str(script), uri, str(keys), worker.name, str(go)]
            err_path = tmp_path / f"{worker.name}.stderr"
            err = stack.enter_context(err_path.open("w"))
            proc = stack.enter_context(
                subprocess.Popen(
                    [*argv, str(PER_WORKER)], stdout=subprocess.PIPE, stderr=err, text=True
                )
            )
            stack.callback(_kill_if_running, proc)
            procs.append(proc)
            errs.append(err_path)
        for proc, err_path in zip(procs, errs, strict=True):
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line == "ready\n", (line, err_path.read_text())
        started = time.monotonic()
        go.touch()  # release every worker at once
        outs = []
        for proc in procs:
            out, _ = proc.communicate(timeout=600)
            outs.append(out)
        elapsed = time.monotonic() - started
    for worker, proc, out, err_path in zip(workers, procs, outs, errs, strict=True):
        stderr = err_path.read_text()
        assert "database is locked" not in stderr.lower(), (worker.name, stderr)
        assert proc.returncode == 0, (worker.name, proc.returncode, stderr)
        assert out == f"done {PER_WORKER}\n", (worker.name, out, stderr)
    return elapsed


def _kill_if_running(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _check_store(uri: str) -> None:
    total = 1 + WORKERS + WORKERS * PER_WORKER
    store = open_store(uri)
    try:
        assert store.head()[0] == total
        records = list(store.records(after=1 + WORKERS))
        assert len(records) == WORKERS * PER_WORKER
        by_author: dict[str, int] = {}
        for record in records:
            assert record.op == "artifact.record"
            by_author[record.author] = by_author.get(record.author, 0) + 1
        assert by_author == {f"w{n}": PER_WORKER for n in range(WORKERS)}
        # One signed commit per transaction: the registrations and every worker append.
        assert len(list(store.commits())) == total
        report = store.verify()
        assert report.ok, report.problem
        assert report.records == total
        assert report.commits == total
        assert report.agents == 1 + WORKERS
    finally:
        store.close()


@pytest.mark.slow
def test_sqlite_many_processes_append_at_once(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'lineal.db'}"
    elapsed = _run_writers(uri, tmp_path)
    print(f"sqlite: {WORKERS} x {PER_WORKER} appends in {elapsed:.1f} s")
    _check_store(uri)


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_many_processes_append_at_once(pg_uri: str, tmp_path: Path) -> None:
    elapsed = _run_writers(pg_uri, tmp_path)
    print(f"postgres: {WORKERS} x {PER_WORKER} appends in {elapsed:.1f} s")
    _check_store(pg_uri)
