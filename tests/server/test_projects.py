"""`lineal server project create|list`: one store per project, where the docs say."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from live_server import PG_ADMIN

from lineal.store.registry import create_project, open_store, project_uri
from server_process import drop_server_databases, start_server, stop


def test_sqlite_projects_are_files(lineal_cli: object, tmp_path: Path) -> None:
    run = lineal_cli
    base = f"sqlite:///{tmp_path / 'projects'}"
    done = run("server", "project", "create", "vision", "--uri", base, cwd=tmp_path)  # type: ignore[operator]
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "projects" / "vision.db").is_file()
    store = open_store(project_uri(base, "vision"))
    assert store.head()[0] == 0  # an empty, migrated ledger
    store.close()
    again = run("server", "project", "create", "vision", "--uri", base, cwd=tmp_path)  # type: ignore[operator]
    assert again.returncode == 1
    assert again.stderr.startswith("error: project 'vision' already exists")
    bad = run("server", "project", "create", "Bad/Name", "--uri", base, cwd=tmp_path)  # type: ignore[operator]
    assert bad.returncode == 1
    assert "bad project name" in bad.stderr
    assert "\nhint: " in bad.stderr
    listed = run("server", "project", "list", "--uri", base, cwd=tmp_path)  # type: ignore[operator]
    assert listed.stdout.split() == ["vision"]


@pytest.mark.postgres
def test_postgres_projects_are_databases(lineal_cli: object, tmp_path: Path) -> None:

    run = lineal_cli
    prefix = f"lineal_srv_{uuid.uuid4().hex[:8]}"
    base = f"{PG_ADMIN.rsplit('/', 1)[0]}/{prefix}"
    try:
        done = run("server", "project", "create", "vision", "--uri", base, cwd=tmp_path)  # type: ignore[operator]
        assert done.returncode == 0, done.stderr
        assert project_uri(base, "vision").endswith(f"/{prefix}_vision")
        store = open_store(project_uri(base, "vision"))
        assert store.head()[0] == 0
        store.close()
        again = run("server", "project", "create", "vision", "--uri", base, cwd=tmp_path)  # type: ignore[operator]
        assert again.returncode == 1
        assert "already exists" in again.stderr
        listed = run("server", "project", "list", "--uri", base, cwd=tmp_path)  # type: ignore[operator]
        assert listed.stdout.split() == ["vision"]
    finally:
        drop_server_databases(PG_ADMIN, base)


def test_a_database_made_by_several_at_once_is_made_once_and_the_rest_told_conflict(
    pg_dropper: object,
) -> None:
    """Two servers make the same database at one moment (each the first to need its own audit
    log): PostgreSQL says unique violation, not duplicate database; each loser gets the
    Conflict its caller expects, never a raw database error."""
    import threading

    from lineal.errors import Conflict
    from lineal.store.sql.databases import create_database

    name = f"lineal_race_{uuid.uuid4().hex[:8]}"
    uri = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def make() -> None:
        start.wait()
        try:
            create_database(uri)
            outcomes.append("made")
        except Conflict:
            outcomes.append("conflict")
        except Exception as exc:  # what the test looks for
            outcomes.append(repr(exc))

    try:
        threads = [threading.Thread(target=make) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        pg_dropper.drop(name)  # type: ignore[attr-defined]
    assert sorted(outcomes) == ["conflict"] * 5 + ["made"]


@pytest.mark.postgres
def test_a_postgresql_server_leaves_no_database_behind_its_tests(tmp_path: Path) -> None:
    # A server makes its own audit log (PREFIX__server) beside the projects on its first
    # request; the tests' clean-up drops it with them (it used to be left, one per run).
    import httpx
    import psycopg

    base = f"{PG_ADMIN.rsplit('/', 1)[0]}/lineal_srv_{uuid.uuid4().hex[:8]}"
    prefix = base.rsplit("/", 1)[1]
    create_project(base, "vision")
    proc, url = start_server(base, tmp_path)
    try:
        assert httpx.get(f"{url}/api/v1/projects").status_code == 200
        assert httpx.get(f"{url}/api/v1/audit").status_code == 200  # the server's own log
    finally:
        stop(proc)
        dropped = drop_server_databases(PG_ADMIN, base)
    assert sorted(dropped) == [f"{prefix}__server", f"{prefix}_vision"]
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        left = admin.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
        ).fetchall()
    assert left == []
