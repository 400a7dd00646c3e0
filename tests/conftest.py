"""Shared fixtures: a signer, fresh SQLite and PostgreSQL stores, a scratch workspace, the CLI,
the shared sample data."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import lineal
from lineal.client import Lineal
from lineal.ledger.keys import Signer
from lineal.model.ops import AgentRegister
from lineal.store.base import Store
from lineal.store.registry import open_store
from shared_data import require_shared_data
from store_origin import Origin

if TYPE_CHECKING:
    from lineal.store.sql.base import SqlStore

PG_ADMIN = os.environ.get("LINEAL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_admin():  # type: ignore[no-untyped-def]
    psycopg = pytest.importorskip("psycopg")
    try:
        return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise  # CI must run the PostgreSQL suite, never skip it
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN}: {exc}")


@pytest.fixture
def pg_uri() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"lineal_test_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin()
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, the real sample files; skips the test when absent (fails it under CI)."""
    return require_shared_data()


@pytest.fixture
def signer() -> Signer:
    return Signer.generate("alice")


#: The backends that keep their data in SQL: tests of SQL internals run on these alone.
SQL_BACKENDS = frozenset({"sqlite", "postgres"})


# The one list of backends: the Store contract (tests/store/test_contract*.py) and every test
# taking ``store`` or ``store_uri`` run on each entry; a new backend is one entry here (and how
# to reach a fresh store of it, below).
@pytest.fixture(params=["sqlite", "postgres", "http"])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URI of a fresh store of each backend (http: a new project on a live server)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'lineal.db'}"
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_uri"))
    if request.param == "http":
        from lineal.store.registry import create_project

        base, url = request.getfixturevalue("lineal_server")
        env = request.getfixturevalue("monkeypatch")
        env.setenv("LINEAL_SPOOL", str(tmp_path / "spool"))
        env.setenv("LINEAL_WRITE_WAIT", "300")  # a busy machine: still one answer per write
        name = f"t{uuid.uuid4().hex[:12]}"
        create_project(base, name)
        return f"{url}/projects/{name}"
    raise AssertionError(f"no way to open a fresh {request.param} store")


@pytest.fixture(scope="session")
def lineal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """One `lineal server` process for the session over SQLite projects: (base URI, URL)."""
    from server_process import start_server, stop

    folder = tmp_path_factory.mktemp("lineal-server")
    base = f"sqlite:///{folder / 'projects'}"
    proc, url = start_server(base, folder)
    try:
        yield base, url
    finally:
        stop(proc)


@pytest.fixture
def store(store_uri: str, signer: Signer) -> Iterator[Store]:
    """A migrated store of each backend with ``alice`` registered as its first record."""
    served = store_uri.startswith("http")  # a server's project is made by the server
    opened = open_store(store_uri, signer, create=not served)
    opened.append(AgentRegister(name=signer.name, public_key=signer.public_key))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def reopen(store_uri: str) -> Callable[[Signer], Store]:
    """Open ``store``'s store again for a writer, the way the ``store`` fixture opened it: with
    ``create`` (migrating: a no-op on an existing store) where the client makes the store, not
    on a server's project (which the server makes; the client may not)."""
    served = store_uri.startswith("http")
    return lambda signer: open_store(store_uri, signer, create=not served)


@pytest.fixture
def origin(store: Store) -> Origin:
    """Where ``store``'s own records start (read before the test writes)."""
    return Origin.of(store, "alice")


@pytest.fixture
def sql_store(store: Store) -> SqlStore:
    """``store``, for tests that read SQL internals (projection rows, raw tables): on the SQL
    backends only (the others' tests are deselected, see pytest_collection_modifyitems)."""
    from lineal.store.sql.base import SqlStore

    assert isinstance(store, SqlStore), f"{store.uri} keeps no SQL"
    return store


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of SQL internals (taking ``sql_store``, or marked ``sql``) run on SQL backends
    only: the Store contract runs everywhere, what lies beneath it only where it exists."""
    keep, drop = [], []
    for item in items:
        backend = getattr(item, "callspec", None) and item.callspec.params.get("store_uri")  # type: ignore[attr-defined]
        needs_sql = "sql_store" in getattr(item, "fixturenames", ()) or item.get_closest_marker(
            "sql"
        )
        (drop if backend and needs_sql and backend not in SQL_BACKENDS else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


#: ``LINEAL_TEST_STORE=server``: every workspace (``ws``) records into a fresh project on a live
#: `lineal server`, so the CLI and SDK suites run against the HTTP store unchanged.
THROUGH_SERVER = os.environ.get("LINEAL_TEST_STORE") == "server"
#: What the workspace's processes need to reach that server's spool (kept by ``lineal_cli``).
_SERVER_ENV = ("LINEAL_SPOOL", "LINEAL_WRITE_WAIT")


@pytest.fixture
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A folder with a fresh `.lineal/` workspace (agent ``tester``)."""
    if not THROUGH_SERVER:
        lineal.init(tmp_path, agent="tester")
        return tmp_path
    from lineal.store.registry import create_project

    base, url = request.getfixturevalue("lineal_server")
    env = request.getfixturevalue("monkeypatch")
    env.setenv("LINEAL_SPOOL", str(tmp_path.parent / f"{tmp_path.name}-spool"))
    env.setenv("LINEAL_WRITE_WAIT", "300")
    name = f"w{uuid.uuid4().hex[:12]}"
    create_project(base, name)
    lineal.init(tmp_path, agent="tester", uri=f"{url}/projects/{name}")
    return tmp_path


@pytest.fixture
def repo(ws: Path) -> Iterator[Lineal]:
    """The workspace's store, open."""
    with Lineal.open(path=ws) as opened:
        yield opened


LINEAL_BIN = Path(sys.executable).parent / "lineal"
Cli = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def lineal_cli() -> Cli:
    """Run the installed `lineal` console script as a user would, without LINEAL_* variables
    (but for those ``env`` sets)."""

    def run(
        *args: str, cwd: Path, timeout: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("LINEAL_") or (THROUGH_SERVER and k in _SERVER_ENV)
        }
        return subprocess.run(  # noqa: PLW1510 - callers check the exit code
            [str(LINEAL_BIN), *args],
            cwd=cwd,
            env={**clean, "COLUMNS": "200", **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
