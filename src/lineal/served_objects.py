"""The objects a lineal server keeps for its projects: one object remote per project under one
URL (``<url>/<project>/sha256/…``, the layout every remote has), and uploads hashed as they
arrive.

A service for lineal.server.objects, over lineal.cas; never prints.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from lineal.cas.arrival import Arrival
from lineal.cas.remote import CHUNK, Remote
from lineal.errors import NotFound
from lineal.model.digests import PREFIX

__all__ = ["CHUNK", "ServedObjects"]


class ServedObjects:
    """The object remote of each project under one URL, opened once and shared by the threads."""

    def __init__(self, url: str, project: Callable[[str], object]) -> None:
        self.project = project  # raises NotFound for a project the server does not hold
        self.url = url.rstrip("/") or url
        self._open: dict[str, Remote] = {}
        self._lock = threading.Lock()
        Remote(self.url)  # an unsupported URL or a missing extra fails when the server starts

    def remote(self, project: str) -> Remote:
        """The objects of ``project``; NotFound when the server has no such project."""
        self.project(project)  # no folder for a project that does not exist
        with self._lock:
            found = self._open.get(project)
            if found is None:
                found = Remote(f"{self.url}/{project}")
                found.staging()  # a local folder exists from the start: `missing` lists it
                self._open[project] = found
            return found

    def require(self, project: str, hexdigest: str) -> tuple[Remote, str]:
        remote, digest = self.remote(project), PREFIX + hexdigest
        if not remote.has(digest):
            raise NotFound(
                f"object {digest} is not on the server (project {project!r})",
                hint="push it from a machine whose cache holds it (lineal push)",
            )
        return remote, digest

    def arrival(self, remote: Remote, digest: str) -> Arrival:
        """An upload of ``digest`` to ``remote``: hashed as it is written, kept under its
        name only when whole and matching (lineal.cas.arrival)."""
        return Arrival(remote, digest)
