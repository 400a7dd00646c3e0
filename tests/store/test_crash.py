"""A writer killed with SIGKILL at random moments: every transaction is all or nothing.

Each trial starts a writer process on the same SQLite store, lets it append transactions of
random sizes, and kills it after a random delay, usually in the middle of a transaction.
The store must then verify, hold only whole transactions, and keep every reported commit.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lineal.ledger.keys import Signer, save_signer
from lineal.model.ops import AgentRegister
from lineal.store.registry import open_store

SEED = 20_240_611
TRIALS = 25
MAX_DELAY = 0.4  # seconds a writer runs before it is killed (uniform from 0)

# Run as `python writer.py URI KEYDIR AGENT TRIAL SEED`: open the store, say "ready", then
# forever append transactions of 1..200 records, saying "begin TXN SIZE" before each and
# "commit TXN LAST_SEQ" once it is committed.
WRITER = """
import random
import sys
from pathlib import Path

from lineal.ledger.keys import load_signer
from lineal.model.digests import digest_bytes
from lineal.model.ops import ArtifactRecord
from lineal.store.registry import open_store

uri, keys, agent, trial, seed = sys.argv[1:6]
rng = random.Random(int(seed))
store = open_store(uri, load_signer(Path(keys), agent))
print("ready", flush=True)
txn = 0
while True:
    size = rng.randint(1, 200)
    print("begin", txn, size, flush=True)
    with store.atomic():
        for j in range(size):
            (last,) = store.append(
                ArtifactRecord(
                    kind="file",
                    digest=digest_bytes(f"{trial}/{txn}/{j}".encode()),
                    name=f"trial-{trial}",
                    meta={"trial": int(trial), "txn": txn, "size": size, "j": j},
                )
            )
    print("commit", txn, last.seq, flush=True)
    txn += 1
"""


def _parse(out: str) -> tuple[list[tuple[int, int]], int | None]:
    """(txn, last seq) of each reported commit, and the txn begun but never reported."""
    committed: list[tuple[int, int]] = []
    begun: int | None = None
    for line in out.splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # a line cut short by the kill
        word, *numbers = line.split()
        if word == "begin":
            begun = int(numbers[0])
        elif word == "commit":
            committed.append((int(numbers[0]), int(numbers[1])))
            begun = None
    return committed, begun


def _check_after_kill(uri: str, trial: int, committed: list[tuple[int, int]]) -> int:
    """Check the store after trial ``trial``'s writer was killed; return its record count."""
    store = open_store(uri)
    try:
        report = store.verify()
        assert report.ok, (trial, report.problem)
        head = store.head()[0]
        assert report.records == head
        if committed:
            assert head >= committed[-1][1], (trial, "a reported commit was lost")
        txns: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
        for record in store.records(op="artifact.record"):
            assert record.payload is not None
            meta = json.loads(record.payload)["meta"]
            key = (meta["trial"], meta["txn"])
            txns.setdefault(key, []).append((record.seq, meta["j"], meta["size"]))
        for (t, n), rows in txns.items():
            size = rows[0][2]
            # Whole: all `size` records, in order, in consecutive seqs.
            assert [j for _, j, _ in rows] == list(range(size)), (t, n, "torn transaction")
            assert rows[-1][0] - rows[0][0] == size - 1, (t, n, "interleaved transaction")
        present = sorted(n for t, n in txns if t == trial)
        assert present == list(range(len(present))), (trial, "a gap among transactions")
        for n, last_seq in committed:
            assert (trial, n) in txns, (trial, n, "a reported commit is missing")
            assert txns[trial, n][-1][0] == last_seq, (trial, n, "committed at another seq")
        return head
    finally:
        store.close()


def _new_store(directory: Path, signer: Signer) -> str:
    """A fresh SQLite store in ``directory`` with ``signer`` registered; return its URI."""
    directory.mkdir()
    uri = f"sqlite:///{directory / 'lineal.db'}"
    store = open_store(uri, signer, create=True)
    try:
        store.append(AgentRegister(name=signer.name, public_key=signer.public_key))
    finally:
        store.close()
    return uri


def _kill_writer(argv: list[str], err_path: Path, delay: float) -> tuple[str, str]:
    """Start the writer, wait for "ready", SIGKILL it ``delay`` s later; (stdout, stderr)."""
    with (
        err_path.open("w") as err,
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True) as proc,
    ):
        assert proc.stdout is not None
        try:
            ready = proc.stdout.readline()
            assert ready == "ready\n", (ready, err_path.read_text())
            time.sleep(delay)  # a random moment in the writer's life, not a wait for an event
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            out = proc.stdout.read()
            proc.wait()
    stderr = err_path.read_text()
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, stderr)
    return out, stderr


@pytest.mark.slow
@pytest.mark.serial  # kills timed to land mid-transaction: make test runs it alone
def test_sigkill_mid_transaction_never_tears_or_loses(tmp_path: Path, signer: Signer) -> None:
    rng = random.Random(SEED)
    keys = tmp_path / "keys"
    save_signer(keys, signer)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)

    mid_transaction = 0
    commits = 0
    for trial in range(TRIALS):
        uri = _new_store(tmp_path / f"trial-{trial}", signer)
        delay = rng.uniform(0.0, MAX_DELAY)
        seed = rng.randrange(2**32)
        argv = [sys.executable, str(script), uri, str(keys), signer.name, str(trial), str(seed)]
        out, stderr = _kill_writer(argv, tmp_path / f"writer-{trial}.stderr", delay)
        assert stderr == "", (trial, stderr)  # no traceback: it died of the kill alone
        committed, begun = _parse(out)
        commits += len(committed)
        mid_transaction += begun is not None
        head = _check_after_kill(uri, trial, committed)

        # The crashed store takes new writes on top of what survived.
        store = open_store(uri, signer)
        try:
            (record,) = store.append(
                AgentRegister(name="after-crash", public_key=Signer.generate("x").public_key)
            )
            assert record.seq == head + 1
        finally:
            store.close()

    # The kills mostly landed inside a transaction, and the writers got work done.
    assert mid_transaction >= TRIALS // 2, (mid_transaction, TRIALS)
    assert commits >= TRIALS, commits
