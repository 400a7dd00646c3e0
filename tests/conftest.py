"""Shared fixtures: a signer, fresh SQLite and PostgreSQL stores, a scratch workspace, the CLI,
the shared sample data."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
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


class _Dropper:
    """Drops the session's PostgreSQL databases in a thread of its own, so a test does not wait
    for the server to let go of the last one's files; ``close`` waits for every drop and
    raises the first that failed."""

    def __init__(self) -> None:
        self.names: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self.failed: list[str] = []
        self.thread = threading.Thread(target=self._run, name="drop-databases", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        admin = None
        while (name := self.names.get()) is not None:
            try:
                admin = admin or _pg_admin_connection()
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as exc:  # said at the session's end, where it fails a test
                self.failed.append(f"{name}: {exc}")
        if admin is not None:
            admin.close()

    def drop(self, name: str) -> None:
        self.names.put(name)

    def close(self) -> None:
        self.names.put(None)
        self.thread.join(timeout=300)
        assert not self.thread.is_alive(), "PostgreSQL test databases still being dropped"
        assert not self.failed, f"could not drop test databases: {self.failed}"


def _pg_admin_connection():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)


def _fresh_database(template: str | None = None) -> str:
    """Create a test database (a copy of ``template``, else empty); return its name.

    Its commits do not wait for the disk (synchronous_commit off): they are as atomic, as
    isolated and as serialised, and only a crash of the PostgreSQL server, which no test
    causes, could tell; the suite's thousands of commits stop waiting on disk flushes."""
    name = f"lineal_test_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin()
    try:
        copy = f' TEMPLATE "{template}"' if template else ""
        admin.execute(f'CREATE DATABASE "{name}"{copy}')
        admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    finally:
        admin.close()
    return name


@pytest.fixture(scope="session")
def pg_dropper() -> Iterator[_Dropper]:
    dropper = _Dropper()
    try:
        yield dropper
    finally:
        dropper.close()


@pytest.fixture
def pg_uri(pg_dropper: _Dropper) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards (in the background:
    the name is never used again)."""
    name = _fresh_database()
    try:
        yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    finally:
        pg_dropper.drop(name)


@pytest.fixture(scope="session")
def pg_template(pg_dropper: _Dropper) -> Iterator[str]:
    """The name of a PostgreSQL database migrated to today's schema and holding no record, made
    once a session (a pytest-xdist worker would make its own): ``pg_store_uri`` copies it.
    Nothing may stay connected to it: ``CREATE DATABASE ... TEMPLATE`` needs it alone."""
    name = f"lineal_tmpl_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin()
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
    try:
        open_store(f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}", create=True).close()
        yield name
    finally:
        pg_dropper.drop(name)


@pytest.fixture
def pg_store_uri(pg_template: str, pg_dropper: _Dropper) -> Iterator[str]:
    """A fresh PostgreSQL database already migrated (a copy of ``pg_template``: the schema
    ``open_store(..., create=True)`` makes, no records), dropped afterwards. Cheaper than
    ``pg_uri`` plus a migration; use ``pg_uri`` where the test is about an empty database."""
    name = _fresh_database(pg_template)
    try:
        yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    finally:
        pg_dropper.drop(name)


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
    """The URI of a fresh store of each backend (http: a new project on a live server).
    PostgreSQL's comes migrated (``pg_store_uri``): opening it with ``create`` finds nothing
    to do, as it would after `lineal init`."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'lineal.db'}"
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_store_uri"))
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


@pytest.fixture(scope="session")
def demo_pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `lineal demo` folder per test process (~15 s to make): never changed; tests that
    write take ``demo_copy``."""
    folder = tmp_path_factory.mktemp("demo-pristine") / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    made = subprocess.run(
        [str(LINEAL_BIN), "demo", str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    return folder


@pytest.fixture(scope="module")
def demo_copy(demo_pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo's workspace of the module's own (its store, cache and files)."""
    import shutil

    folder = tmp_path_factory.mktemp("demo-copy") / "demo"
    shutil.copytree(demo_pristine, folder, symlinks=True)
    return folder
