"""The objects a lineal server keeps for its projects: one object remote per project under one
URL (``<url>/<project>/sha256/…``, the layout every remote has), and uploads hashed as they
arrive.

A service for lineal.server.objects, over lineal.cas; never prints.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from lineal.cas.arrival import Arrival
from lineal.cas.manifest import Manifest
from lineal.cas.remote import CHUNK, Remote
from lineal.errors import NotFound
from lineal.model.digests import PREFIX
from lineal.model.entities import Artifact

__all__ = ["CHUNK", "ServedObjects"]


def cached_manifests(root: Path) -> Callable[[object, Artifact], Manifest]:
    """Dataset manifests from the object cache of the workspace whose folder (``.lineal``)
    is ``root``, as lineal.datasets.manifest_of reads them, for a server holding that
    workspace's store but not the workspace (`lineal ui`: ``Projects.manifests``)."""
    from lineal.cas.objects import ObjectCache
    from lineal.datasets import manifest_in

    cache = ObjectCache(root / "objects")
    return lambda _, artifact: manifest_in(cache, artifact)


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

    def manifest(self, project: str, artifact: Artifact) -> Manifest:
        """The manifest of dataset version ``artifact`` (what a file-level diff reads), from
        ``project``'s objects; NotFound when no one pushed it."""
        remote = self.remote(project)
        if not remote.has(artifact.digest):
            if "files" not in artifact.meta:  # never had one: see lineal.datasets.manifest_of
                raise NotFound(
                    f"{artifact.ref} was recorded by its digest alone, without a list of its files",
                    hint=f"record its files: lineal add PATH --name {artifact.name or 'NAME'}",
                )
            raise NotFound(
                f"the manifest of {artifact.ref} is not on the server (project {project!r})",
                hint="run `lineal push` where the version was added, then ask again",
            )
        with remote.open_object(artifact.digest) as stream:
            return Manifest.decode(stream.read(), expected=artifact.digest)

    def manifests(self, project: str) -> Callable[[object, Artifact], Manifest]:
        """:meth:`manifest` of ``project`` as lineal.datasets.diff_versions reads one."""
        return lambda _, artifact: self.manifest(project, artifact)

    def arrival(self, remote: Remote, digest: str) -> Arrival:
        """An upload of ``digest`` to ``remote``: hashed as it is written, kept under its
        name only when whole and matching (lineal.cas.arrival)."""
        return Arrival(remote, digest)
