"""Stores across ``fork``: each forked child gets connections of its own.

Neither SQLite nor libpq may be used through a connection inherited across fork: two
processes on one SQLite handle, or on one socket, corrupt each other's transactions. Every
SQL store registers here when it opens; in a child, each gets a fresh connection (the
backend decides when it really connects), and the parent's is held, never used or closed:
closing it would end the parent's PostgreSQL session.
"""

from __future__ import annotations

import os
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lineal.store.sql.base import SqlStore

_OPEN: weakref.WeakSet[SqlStore] = weakref.WeakSet()
_INHERITED: list[Any] = []  # in a child: the parent's connections, held so none is closed


def track(store: SqlStore) -> None:
    """Give ``store`` a connection of its own in every process forked from now on."""
    _OPEN.add(store)


def keep(connection: Any) -> None:
    """Hold a connection inherited from the parent for as long as this process lives."""
    _INHERITED.append(connection)


class Unusable:
    """In place of a connection a forked child could not reopen: every use says why."""

    def __init__(self, why: str) -> None:
        self._why = why

    def __getattr__(self, name: str) -> Any:
        from lineal.errors import StoreUnavailable

        raise StoreUnavailable(self._why, hint="open the store again in this process")


def _after_fork_in_child() -> None:
    for store in list(_OPEN):
        store.after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
