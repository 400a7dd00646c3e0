"""One snapshot's packs (see :mod:`lineal.cas.packs`): a writer per hashing thread, each
rolled over at :data:`PACK_TARGET` bytes, all sealed when the snapshot ends."""

from __future__ import annotations

import threading
from collections.abc import Callable

from lineal.cas.packs import PackWriter

#: A writer starts a new pack once its current one holds this many bytes.
PACK_TARGET = 512 << 20


class Packing:
    """One snapshot's packs: a writer per hashing thread, sealed together at the end."""

    def __init__(self, temp_name: Callable[[], str], folder: str) -> None:
        self._temp_name = temp_name
        self._folder = folder
        self._local = threading.local()
        self._lock = threading.Lock()
        self._writers: list[PackWriter] = []
        self.added: set[bytes] = set()

    def claim(self, raw: bytes) -> bool:
        """True unless a thread of this snapshot has packed ``raw`` already.

        Lock-free: the set only grows, so if ``raw`` is new the size grows past what it was
        here; a race can only make two threads both pack it (harmless), never neither.
        """
        added = self.added
        before = len(added)
        added.add(raw)
        return len(added) != before

    def add(self, raw: bytes, data: bytes) -> None:
        writer: PackWriter | None = getattr(self._local, "writer", None)
        if writer is not None and writer.size >= PACK_TARGET:
            with self._lock:
                self._writers.remove(writer)
            writer.finish()
            writer = None
        if writer is None:
            writer = PackWriter(self._temp_name(), self._folder)
            self._local.writer = writer
            with self._lock:
                self._writers.append(writer)
        writer.add(raw, data)

    def finish(self) -> int:
        """Seal every pack of the session: how many."""
        sealed = 0
        for writer in self._writers:
            writer.finish()
            sealed += 1
        self._writers.clear()
        return sealed

    def abort(self) -> None:
        for writer in self._writers:
            writer.abort()
        self._writers.clear()
