"""Choosing a store implementation from a URI scheme, importing backends only when used.

Never opens anything but the one store asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lineal.errors import InvalidInput

if TYPE_CHECKING:
    from lineal.ledger.keys import Signer
    from lineal.store.base import Store

SCHEMES = ("sqlite:///", "postgresql://", "postgres://")


def open_store(uri: str, signer: Signer | None = None, *, create: bool = False) -> Store:
    """Open (or with ``create``, create and migrate) the store at ``uri``."""
    if uri.startswith("sqlite:///"):
        from lineal.store.sql.sqlite import SqliteStore

        return SqliteStore(uri, signer, create=create)
    if uri.startswith(("postgresql://", "postgres://")):
        from lineal.store.sql.postgres import PostgresStore

        return PostgresStore(uri, signer, create=create)
    from lineal.model.masking import mask_url  # compiled only for this error

    raise InvalidInput(
        f"unsupported store URI {mask_url(uri)!r}: expected sqlite:///PATH or postgresql://HOST/DB",
        hint="set LINEAL_URI, or pass --uri to `lineal init`",
    )
