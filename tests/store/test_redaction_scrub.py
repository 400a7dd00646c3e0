"""An erased payload's bytes appear nowhere in the store's raw files: the SQLite file and its
WAL, PostgreSQL's table, TOAST and index files, a server's database and the client's spool.

Each test first finds the secret in the raw files (so the search can fail), redacts, then
finds it nowhere; the chain still verifies.
"""

from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from lineal.client import Lineal
from lineal.model import canonical
from lineal.store.base import Store


def _files_holding(folder: Path, needle: bytes) -> list[str]:
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and needle in path.read_bytes()
    )


def _postgres_relations_holding(uri: str, needle: bytes) -> list[str]:
    """Every relation file of the database (tables, TOAST, indexes) read by the server itself
    (pg_read_binary_file needs a superuser, as the tests connect), after a CHECKPOINT has
    written every page out."""
    import psycopg

    with psycopg.connect(uri, autocommit=True) as db:
        db.execute("CHECKPOINT")
        rows = db.execute(
            "SELECT relname, pg_relation_filepath(oid) FROM pg_class "
            "WHERE relkind IN ('r', 't', 'i') AND pg_relation_filepath(oid) IS NOT NULL"
        ).fetchall()
        found = []
        for name, path in rows:
            size = db.execute("SELECT (pg_stat_file(%s, true)).size", (path,)).fetchone()
            if size is None or size[0] is None:
                continue  # an empty relation has no file yet
            data = db.execute("SELECT pg_read_binary_file(%s)", (path,)).fetchone()
            if data is not None and needle in bytes(data[0]):
                found.append(name)
        return sorted(found)


def _raw_holders(request: pytest.FixtureRequest, store: Store, needle: bytes) -> list[str]:
    backend = request.node.callspec.params["store_uri"]
    if backend == "sqlite":
        return _files_holding(Path(getattr(store, "path")).parent, needle)  # noqa: B009
    if backend == "postgres":
        return _postgres_relations_holding(store.uri, needle)
    base, _ = request.getfixturevalue("lineal_server")
    projects = Path(base.removeprefix("sqlite:///"))
    spool = Path(os.environ["LINEAL_SPOOL"])
    return _files_holding(projects, needle) + [f"spool/{p}" for p in _files_holding(spool, needle)]


def _values_text(payload: bytes) -> bytes:
    body: dict[str, Any] = canonical.decode(payload)
    return str(body["series"][0]["values"]).encode()


def test_redacted_payload_bytes_are_gone_from_every_file(
    request: pytest.FixtureRequest, store: Store
) -> None:
    lin = Lineal(store)
    secret = f"jane.doe+{uuid.uuid4().hex}@example.com".encode()
    run = lin.start_run("train")
    lin.set_tag(run, "stage", "raw")
    tag = lin.set_tag(run, "owner", secret.decode())
    batch = lin.log_metrics(run, {"loss": float(int.from_bytes(os.urandom(6), "big"))}, step=0)
    for n in range(50):  # records after them, in the same pages
        lin.set_tag(run, f"note{n % 5}", f"value {n}")
    assert batch.payload is not None
    points = _values_text(batch.payload)
    assert len(base64.b64decode(points)) == 8
    assert _raw_holders(request, store, secret), "the search must find the secret first"
    assert _raw_holders(request, store, points)

    lin.redact(tag.seq, "gdpr request 17")
    lin.redact(batch.seq, "gdpr request 17")

    assert _raw_holders(request, store, secret) == []
    assert _raw_holders(request, store, points) == []
    assert store.tags(f"run/{run.id}")["stage"] == "raw"
    report = store.verify()
    assert report.ok, report.problem
    assert report.redacted == 2
