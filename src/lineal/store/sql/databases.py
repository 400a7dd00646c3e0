"""Creating and listing PostgreSQL databases, one per server project (lineal.store.projects).

Connects to the server's maintenance database ``postgres`` with the project URI's host, port,
user and password; never touches a project's tables (the store's migrations do that).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from lineal.errors import Conflict, MissingExtra, StoreUnavailable
from lineal.model.masking import mask_url


def _admin(uri: str) -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise MissingExtra("psycopg", "postgres") from exc
    try:
        return psycopg.connect(uri, dbname="postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        reason = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
        raise StoreUnavailable(
            f"cannot reach PostgreSQL at {mask_url(uri)}: {reason or 'no answer'}",
            hint="start the server, or fix --uri",
        ) from exc


def create_database(uri: str) -> None:
    """CREATE DATABASE for the database ``uri`` names; Conflict if it exists."""
    import psycopg
    from psycopg import sql

    name = urlsplit(uri).path.strip("/")
    conn = _admin(uri)
    try:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation) as exc:
        # Made before; or made by another session at the same moment, which PostgreSQL
        # reports as a unique violation of pg_database's names, not as a duplicate.
        raise Conflict(
            f"database {name!r} already exists at {mask_url(uri)}",
            hint="pick another project name, or use the existing project",
        ) from exc
    finally:
        conn.close()


def list_databases(uri: str) -> list[str]:
    conn = _admin(uri)
    try:
        rows = conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate").fetchall()
    finally:
        conn.close()
    return [str(row[0]) for row in rows]
