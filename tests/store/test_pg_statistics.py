"""PostgreSQL planner statistics: refreshed as the ledger doubles, whichever process writes.

When they were last refreshed is the database's state: a new process (every CLI command, every
worker) must not ANALYZE a store already analyzed at its size, or many writers ANALYZE over
and over (and all at once). Observed on the server: pg_stat_user_tables.analyze_count.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lineal.ledger.keys import Signer, save_signer
from lineal.model.digests import digest_bytes
from lineal.model.ops import AgentRegister, ArtifactRecord
from lineal.store.registry import open_store

pytestmark = pytest.mark.postgres

# Run as `python append.py URI KEYDIR FROM COUNT`: a fresh process appends COUNT records.
APPEND = """
import sys
from pathlib import Path

from lineal.ledger.keys import load_signer
from lineal.model.digests import digest_bytes
from lineal.model.ops import ArtifactRecord
from lineal.store.registry import open_store

uri, keys, start, count = sys.argv[1:5]
store = open_store(uri, load_signer(Path(keys), "alice"))
store.append(
    ArtifactRecord(kind="file", digest=digest_bytes(f"{i}".encode()), name="f")
    for i in range(int(start), int(start) + int(count))
)
store.close()
"""


def _analyses(uri: str) -> int:
    """How many times ``edges`` has been analyzed (by anyone), as the server counts."""
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'edges'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _append_elsewhere(uri: str, tmp_path: Path, start: int, count: int) -> None:
    script = tmp_path / "append.py"
    script.write_text(APPEND)
    done = subprocess.run(
        [sys.executable, str(script), uri, str(tmp_path / "keys"), str(start), str(count)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_a_new_process_does_not_analyze_again_until_the_ledger_doubles(
    pg_uri: str, tmp_path: Path
) -> None:
    signer = Signer.generate("alice")
    save_signer(tmp_path / "keys", signer)
    store = open_store(pg_uri, signer, create=True)
    try:
        store.append(AgentRegister(name="alice", public_key=signer.public_key))
        assert _analyses(pg_uri) == 0  # a small store: the planner needs no statistics yet
        store.append(
            ArtifactRecord(kind="file", digest=digest_bytes(f"{i}".encode()), name="f")
            for i in range(1000, 2000)
        )
        assert store.head()[0] == 1001
        assert _analyses(pg_uri) == 1  # big enough now: analyzed once
    finally:
        store.close()

    # New processes, each appending at about the analyzed size: none analyzes again...
    _append_elsewhere(pg_uri, tmp_path, 2000, 1)
    _append_elsewhere(pg_uri, tmp_path, 2001, 1)
    assert _analyses(pg_uri) == 1
    # ...until the ledger has doubled since: then once.
    _append_elsewhere(pg_uri, tmp_path, 3000, 1000)
    assert _analyses(pg_uri) == 2
    _append_elsewhere(pg_uri, tmp_path, 4000, 1)
    assert _analyses(pg_uri) == 2
