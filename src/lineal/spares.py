"""The stores a client lends for writes beside its caller's thread (a run's metric flusher).

A store handed back is kept for the next borrower and closed with the client, so a process
running many runs opens one, not one a run. Never lends one store to two borrowers at once.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lineal.store.base import Store
    from lineal.workspace import Workspace


class Spares:
    """Stores of one workspace, opened on demand and kept when handed back."""

    def __init__(self, workspace: Workspace | None) -> None:
        self._workspace = workspace
        self._kept: list[Store] = []
        self._lock = threading.Lock()
        self._closed = False

    def lend(self) -> Store | None:
        """A store of its own (None without a workspace: nothing to open one from)."""
        if self._workspace is None:
            return None
        with self._lock:
            if self._kept:
                return self._kept.pop()
        return self._workspace.open()

    def take_back(self, store: Store) -> None:
        """Keep ``store`` for the next borrower (what it holds unsent, a server's spool, is
        sent first, as closing it would); once closed, close it instead."""
        with contextlib.suppress(Exception):  # what is not sent stays spooled
            store.sync()
        with self._lock:
            if not self._closed:
                self._kept.append(store)
                return
        store.close()

    def close(self) -> None:
        with self._lock:
            kept, self._kept, self._closed = self._kept, [], True
        for store in kept:
            store.close()
