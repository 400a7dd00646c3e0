"""Choosing a store implementation from a URI scheme, importing backends only when used.

Never opens anything but the one store asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lineal.errors import InvalidInput

if TYPE_CHECKING:
    from pathlib import Path

    from lineal.ledger.keys import Signer
    from lineal.store.base import Store

SCHEMES = ("sqlite:///", "postgresql://", "postgres://", "http://", "https://")


def open_store(
    uri: str, signer: Signer | None = None, *, create: bool = False, audited: bool = True
) -> Store:
    """Open (or with ``create``, create and migrate) the store at ``uri``; ``audited``: each
    write transaction adds its own audit row (a server opens its projects without: the
    request's row covers its writes)."""
    if uri.startswith("sqlite:///"):
        from lineal.store.sql.sqlite import SqliteStore

        return SqliteStore(uri, signer, create=create, audited=audited)
    if uri.startswith(("postgresql://", "postgres://")):
        from lineal.store.sql.postgres import PostgresStore

        return PostgresStore(uri, signer, create=create, audited=audited)
    if uri.startswith(("http://", "https://")):
        from lineal.store.http import HttpStore

        return HttpStore(uri, signer, create=create)
    from lineal.model.masking import mask_url  # compiled only for this error

    raise InvalidInput(
        f"unsupported store URI {mask_url(uri)!r}: expected sqlite:///PATH, postgresql://HOST/DB or http(s)://HOST:PORT/projects/NAME",
        hint="set LINEAL_URI, or pass --uri to `lineal init`",
    )


# -- a server's projects (lineal.store.projects says where each lives) ----------------------
def project_uri(base: str, name: str) -> str:
    """The store URI of server project ``name`` under the server's store URI ``base``."""
    from lineal.store import projects

    return projects.project_uri(base, name)


def create_project(base: str, name: str) -> str:
    """Create server project ``name`` (an empty store) and return its store URI."""
    from lineal.store import projects

    return projects.create_project(base, name)


def open_project(base: str, name: str, signer: Signer | None = None) -> Store:
    """The store of server project ``name`` (writing as the server with ``signer``), or
    NotFound."""
    from lineal.store import projects

    return projects.open_project(base, name, signer)


def server_signer(base: str) -> Signer:
    """The key a server over ``base`` chains and commits client batches with."""
    from lineal.store import projects

    return projects.server_signer(base)


def open_server_log(base: str, signer: Signer) -> Store:
    """The store of a server's own audit log (requests under no project), made on first use."""
    from lineal.store import projects

    return projects.open_server_log(base, signer)


def server_objects(base: str) -> str:
    """Where a server over ``base`` keeps its projects' objects, unless told (a folder or an
    fsspec URL: ``<url>/<project>/sha256/…``)."""
    from lineal.store import projects

    return projects.objects_url(base)


def server_folder(base: str) -> Path:
    """Where a server over ``base`` keeps its own files (its alert outboxes)."""
    from lineal.store import projects

    return projects.server_folder(base)


def list_projects(base: str) -> list[str]:
    from lineal.store import projects

    return projects.list_projects(base)


def server_url(uri: str) -> str:
    """The one spelling of a server project's address, ``http(s)://HOST:PORT/projects/NAME``
    (the key its token is saved under), from that or its API URL ``…/api/v1/projects/NAME``."""
    from lineal.store.http import store_url

    return store_url(uri)
