"""A store open before a fork works in the children: each gets a connection of its own.

Neither SQLite nor libpq may be used through a connection inherited across fork (two
processes on one SQLite handle, or on one socket, corrupt each other). Real forked processes
write while the parent writes; the chain must verify and hold every record.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lineal.errors import StoreUnavailable
from lineal.ledger.keys import Signer
from lineal.model.digests import digest_bytes
from lineal.model.ops import AgentRegister, ArtifactRecord
from lineal.store.registry import open_store
from lineal.store.sql.base import SqlStore

#: Forks a SQL connection: runs on the SQL backends of ``store_uri`` only (tests/conftest.py).
pytestmark = [pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork"), pytest.mark.sql]

CHILDREN = 3
EACH = 20


def _write(store: SqlStore, who: str) -> None:
    for i in range(EACH):
        store.append(
            ArtifactRecord(kind="file", digest=digest_bytes(f"{who}/{i}".encode()), name=who)
        )


def test_forked_children_write_through_connections_of_their_own(store: SqlStore) -> None:
    _write(store, "before")  # the connection is in use before the fork
    children = []
    for n in range(CHILDREN):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit code
            code = 1
            try:
                _write(store, f"child{n}")
                assert store.sql().one("SELECT COUNT(*) FROM versions")[0] >= EACH
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    _write(store, "parent")  # meanwhile, through the parent's own connection
    for pid in children:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    assert store.verify().ok
    names = dict(store.sql().all("SELECT name, COUNT(*) FROM versions GROUP BY name"))
    assert names == dict.fromkeys(
        ("before", "parent", *(f"child{n}" for n in range(CHILDREN))), EACH
    )


def test_a_child_that_cannot_reopen_the_store_says_so(tmp_path: Path, signer: Signer) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'lineal.db'}", signer, create=True)
    store.append(AgentRegister(name=signer.name, public_key=signer.public_key))
    (tmp_path / "lineal.db").rename(tmp_path / "moved.db")  # gone from where it was opened
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            _write(store, "child")
            said = "wrote"
        except StoreUnavailable as exc:
            said = str(exc)
        finally:
            os.write(write, said.encode()[:4000])
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        said = pipe.read()
    assert os.waitstatus_to_exitcode(status) == 0
    assert said.startswith("cannot reopen sqlite:///"), said
    assert not (tmp_path / "lineal.db").exists()  # no new, empty store where it was
    _write(store, "parent")  # the parent's own connection goes on
    assert store.verify().ok
    store.close()


def test_a_child_that_only_closes_the_store_leaves_the_parent_connected(store: SqlStore) -> None:
    _write(store, "before")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        code = 1
        try:
            store.close()  # closes nothing of the parent's (PostgreSQL never even connects)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    _write(store, "after")
    assert store.verify().ok
