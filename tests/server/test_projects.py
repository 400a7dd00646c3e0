"""`lineal server project create|list`: one store per project, where the docs say."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from live_server import PG_ADMIN

from lineal.store.registry import open_store, project_uri


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
    import psycopg

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
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{prefix}_vision" WITH (FORCE)')
