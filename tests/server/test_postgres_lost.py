"""PostgreSQL dropping the store's connections (a restart, an admin, a pooler): the request
that finds its connection gone gets a 503 with the one-line JSON body, never a 500, and the
next request is served on a new connection; in process, the store raises StoreUnavailable
and works again on the next call. (Before, the driver's error was a 500 on every request
until the server was restarted: the broken connection was kept.)"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_server import PROJECT, _pg_base, populate

from lineal.client import Lineal
from lineal.errors import StoreUnavailable
from lineal.ledger.keys import Signer
from lineal.model.ops import AgentRegister
from lineal.store.registry import create_project, open_store
from server_process import start_server, stop

pytestmark = pytest.mark.postgres
PG_ADMIN = os.environ.get("LINEAL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _drop_connections(database: str) -> int:
    """Terminate every connection to ``database`` (not the caller's own): how many."""
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return len(rows)


def test_a_store_whose_connection_is_dropped_says_so_then_reconnects(pg_store_uri: str) -> None:
    signer = Signer.generate("alice")
    store = open_store(pg_store_uri, signer)
    try:
        store.append(AgentRegister(name="alice", public_key=signer.public_key))
        repo = Lineal(store)
        repo.record_artifact("dataset", data=b"before", name="d")
        assert _drop_connections(pg_store_uri.rsplit("/", 1)[1]) >= 1
        with pytest.raises(StoreUnavailable) as lost:
            repo.record_artifact("dataset", data=b"lost", name="d")
        assert "PostgreSQL at" in str(lost.value)
        assert lost.value.hint is not None
        assert "retry" in lost.value.hint
        after = repo.record_artifact("dataset", data=b"after", name="d")  # a new connection
        assert after.version == 2  # the refused write left nothing behind
        assert [a.digest for a in repo.artifacts("dataset")] == [
            repo.resolve("dataset/d@v1").digest,
            after.digest,
        ]
        assert repo.verify().ok
    finally:
        store.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    bases = _pg_base()
    base = next(bases)
    store_uri = create_project(base, PROJECT)
    populate(store_uri)
    proc, url = start_server(base, tmp_path)
    try:
        yield url, store_uri.rsplit("/", 1)[1]
    finally:
        stop(proc)
        for _ in bases:
            pass


def test_a_server_whose_database_connections_drop_answers_503_then_serves(
    served: tuple[str, str],
) -> None:
    url, database = served
    show = f"{url}/api/v1/projects/{PROJECT}/show"
    with httpx.Client(timeout=30) as client:
        assert client.get(show, params={"ref": "dataset/raw"}).status_code == 200
        assert _drop_connections(database) >= 1
        lost = client.get(show, params={"ref": "dataset/raw"})
        assert lost.status_code == 503, lost.text
        body = lost.json()
        assert body["code"] == "unavailable"
        assert "PostgreSQL at" in body["error"]
        assert "\n" not in body["error"]
        assert "retry" in body["hint"]
        again = client.get(show, params={"ref": "dataset/raw"})
        assert again.status_code == 200, again.text
        assert again.json() == client.get(show, params={"ref": "dataset/raw"}).json()
