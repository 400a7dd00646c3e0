"""A store open before a fork works in the children: each gets a connection of its own.

Neither SQLite nor libpq may be used through a connection inherited across fork (two
processes on one SQLite handle, or on one socket, corrupt each other). Real forked processes
write while the parent writes; the chain must verify and hold every record.
"""

from __future__ import annotations

import os

import pytest

from lineal.model.digests import digest_bytes
from lineal.model.ops import ArtifactRecord
from lineal.store.sql import SqlStore

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")

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
