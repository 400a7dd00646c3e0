"""Remotes: move content-addressed objects between the local cache and an fsspec URL, verified;
and keep or hand out one object at a time, as a lineal server does with its projects' objects.

Never leaves a partial object under its final name, and never installs bytes it has not hashed.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from lineal.cas import incoming
from lineal.cas.manifest import Entry
from lineal.cas.parallel import Progress, parallel
from lineal.cas.remote_fs import SUPPORTED, guard, open_fs
from lineal.cas.transfer import TransferResult, transfer, unique
from lineal.errors import IntegrityError, InvalidInput, LinealError, NotFound
from lineal.model.digests import PREFIX, check_digest

if TYPE_CHECKING:
    from lineal.cas.objects import ObjectCache

__all__ = ["CHUNK", "SUPPORTED", "Remote", "TransferResult"]

CHUNK = 1 << 20  # bytes read at a time when hashing remote files: memory stays bounded
# Protocols whose single PUT is atomic: an object appears whole or not at all. Everything else
# (local folders, memory://, NFS, SFTP, ...) is written to <root>/incoming/ and renamed into place.
_ATOMIC_PUT = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl"})
#: Below this many digests, a local folder is asked object by object (a stat each) rather than
#: listed whole: a server answering one push's chunk should not walk every object it holds.
_LIST_FROM = 50_000
_OBJECT_NAME = re.compile(r"([0-9a-f]{2})/([0-9a-f]{62})")


class Remote:
    """Objects at ``<url>/sha256/<2 hex>/<62 hex>`` on any fsspec file system.

    ``push`` and ``pull`` move only what the other side lacks, in parallel. Objects that cannot
    be moved (corrupt on the remote, absent from the source) do not stop the others: with
    ``strict=True`` (the default) the call raises one error naming them once everything else
    has moved; with ``strict=False`` it returns them in ``TransferResult.failed``. Errors that
    concern the whole remote (credentials, network, missing bucket) stop the call at once.
    """

    def __init__(self, url: str, *, options: Mapping[str, Any] | None = None) -> None:
        self.url = url.rstrip("/") or url
        self.fs, root, protocol = open_fs(url, dict(options or {}))
        self.root: str = root.rstrip("/") or root
        self._atomic_put = protocol in _ATOMIC_PUT
        self._local = protocol in {"file", "local"}
        self._objects = f"{self.root}/sha256"
        self._incoming = f"{self.root}/incoming"  # partial uploads, renamed into sha256/ whole

    def __repr__(self) -> str:
        return f"Remote({self.url!r})"

    def missing(self, digests: Iterable[str]) -> list[str]:
        """The digests among ``digests`` that the remote does not hold, in the order given."""
        wanted = unique(digests)
        if self._local and len(wanted) < _LIST_FROM:
            self._present_root()
            with self._guard(f"no such folder: {self.url}"):
                return [digest for digest in wanted if not Path(self._object(digest)).exists()]
        present = self._present() if wanted else set()
        return [digest for digest in wanted if digest not in present]

    def clean_incoming(self) -> int:
        """Remove the partial uploads that killed pushes left in ``incoming/``; how many."""
        if self._atomic_put:  # nothing is ever written there
            return 0
        with self._guard(f"no such bucket or folder: {self.url}"):
            return incoming.clean(self.fs, self._incoming, time.time() - incoming.GRACE)

    def _present(self) -> set[str]:
        """Every digest under ``sha256/``, from one recursive listing."""
        self._present_root()
        with self._guard(f"no such bucket or folder: {self.url}"):
            self.fs.invalidate_cache(self._objects)
            paths = self.fs.find(self._objects)
        start = len(self._objects) + 1
        matches = (_OBJECT_NAME.fullmatch(path[start:]) for path in paths)
        return {PREFIX + match[1] + match[2] for match in matches if match}

    def _present_root(self) -> None:
        # A local folder that does not exist lists as empty: refuse it rather than silently
        # create a remote at a typo. Object stores say "no such bucket" when listed.
        if self._local and not self.fs.isdir(self.root):
            raise NotFound(
                f"no such folder: {self.url}",
                hint="create the folder, or fix the remote's URL (lineal remote add NAME URL)",
            )

    def push(
        self,
        cache: ObjectCache,
        digests: Iterable[str],
        *,
        workers: int = 8,
        progress: Progress | None = None,
        strict: bool = True,
    ) -> TransferResult:
        """Send the objects the remote lacks; ``progress(done, total)`` counts objects to send."""
        wanted = unique(digests)

        def send(digest: str) -> int | LinealError:
            if not cache.has(digest):
                return NotFound(
                    f"object {digest} is not in the local cache, so it cannot be pushed",
                    hint="pull it from a remote that has it, or add the data again",
                )
            loose = cache.loose(digest)  # a packed object goes up as bytes
            self._put(loose if loose is not None else cache.read_bytes(digest), digest)
            return cache.size(digest)

        todo = self.missing(wanted)
        cleaned = self.clean_incoming()  # what pushes killed mid-upload left, never one under way
        result = transfer(
            "pushed to",
            self.url,
            wanted,
            todo,
            send,
            workers=workers,
            progress=progress,
            strict=strict,
        )
        return replace(result, cleaned=cleaned)

    def pull(
        self,
        cache: ObjectCache,
        digests: Iterable[str],
        *,
        workers: int = 8,
        progress: Progress | None = None,
        strict: bool = True,
        optional: Collection[str] = (),
    ) -> TransferResult:
        """Fetch the objects the cache lacks, verifying each digest before it is installed.

        Digests in ``optional`` that the remote does not hold either are left out (recorded
        digests of things whose bytes were never stored: an environment, a code reference).
        """
        wanted = unique(digests)

        def fetch(digest: str) -> int | LinealError:
            if digest not in present:
                return NotFound(
                    f"object {digest} is not on the remote {self.url}",
                    hint="push it there from a machine whose cache holds it (lineal push)",
                )
            return self._get(cache, digest)

        with cache.writing():  # a gc waits: it would take the downloads for leftovers
            need = cache.missing(wanted)
            present = self._present() if need else set()
            need = [digest for digest in need if digest in present or digest not in optional]
            return transfer(
                "pulled from",
                self.url,
                wanted,
                need,
                fetch,
                workers=workers,
                progress=progress,
                strict=strict,
            )

    def _put(self, source: Path | bytes, digest: str) -> None:
        final = self._object(digest)

        def upload(target: str) -> None:
            if isinstance(source, bytes):
                self.fs.pipe_file(target, source)
            else:
                self.fs.put_file(str(source), target)

        with self._guard(f"no such bucket or folder: {self.url}"):
            if self._atomic_put:
                upload(final)
                return
            temp = incoming.upload_path(self._incoming, digest[len(PREFIX) :])
            self.fs.makedirs(self._incoming, exist_ok=True)
            self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
            try:
                upload(temp)
                if self._local:  # durable and read-only, as in the cache, before it is published
                    with Path(temp).open("rb") as written:
                        os.fsync(written.fileno())
                    Path(temp).chmod(0o444)
                self.fs.mv(temp, final)
            except BaseException:
                if self.fs.exists(temp):
                    self.fs.rm_file(temp)
                raise

    def _get(self, cache: ObjectCache, digest: str) -> int | LinealError:
        temp = cache.temp_path()
        try:
            with self._guard(f"object {digest} vanished from the remote {self.url}"):
                self.fs.get_file(self._object(digest), str(temp))
            size = temp.stat().st_size
            try:
                cache.install(temp, digest)
            except IntegrityError:
                return IntegrityError(
                    f"object {digest} on the remote {self._object(digest, f'{self.url}/sha256')} "
                    "does not match its digest",
                    hint="the remote copy is corrupt: delete it there, then push it again "
                    "from a cache that holds good bytes (lineal push)",
                )
            return size
        except NotFound as exc:
            return exc  # this object only; the others may still arrive
        finally:
            temp.unlink(missing_ok=True)

    # -- one object at a time: what a lineal server does with the objects it keeps --------
    def has(self, digest: str) -> bool:
        with self._guard(f"no such bucket or folder: {self.url}"):
            return bool(self.fs.exists(self._object(check_digest(digest))))

    def size(self, digest: str) -> int:
        """The object's size in bytes; NotFound if the remote does not hold it."""
        with self._guard(self._absent(digest)):
            return int(self.fs.size(self._object(check_digest(digest))))

    def local_file(self, digest: str) -> Path | None:
        """The object's file when the remote is a local folder and holds it; else None."""
        path = Path(self._object(check_digest(digest)))
        return path if self._local and path.is_file() else None

    def open_object(self, digest: str) -> IO[bytes]:
        """The object's bytes, read CHUNK at a time; NotFound if the remote does not hold it."""
        with self._guard(self._absent(digest)):
            stream: IO[bytes] = self.fs.open(
                self._object(check_digest(digest)), "rb", block_size=CHUNK
            )
        return stream

    def staging(self) -> Path:
        """A local folder for an object arriving in pieces: ``incoming/`` of a local remote
        (the same file system, so publishing it is a rename), else the machine's temp folder."""
        if not self._local:
            return Path(tempfile.gettempdir())
        folder = Path(self._incoming)
        with self._guard(f"no such folder: {self.url}"):
            folder.mkdir(parents=True, exist_ok=True)
        return folder

    def publish(self, path: Path, digest: str) -> None:
        """Keep the local file ``path``, whose bytes the caller hashed to ``digest``, as that
        object; ``path`` is gone afterwards. Nothing appears under the final name before it
        is whole."""
        check_digest(digest)
        try:
            if not self._local:
                self._put(path, digest)
                return
            final = Path(self._object(digest))
            with self._guard(f"no such folder: {self.url}"):
                with path.open("rb") as written:
                    os.fsync(written.fileno())
                path.chmod(0o444)
                final.parent.mkdir(parents=True, exist_ok=True)
                path.replace(final)  # atomic; one that arrived meanwhile has the same bytes
        finally:
            path.unlink(missing_ok=True)

    def _absent(self, digest: str) -> str:
        return f"object {digest} is not on the remote {self.url}"

    def hash_tree(self, *, workers: int = 8, progress: Progress | None = None) -> list[Entry]:
        """Every file under the URL (the user's data, not ``sha256/``) hashed, sorted by path.

        Paths are relative POSIX paths; a URL naming one file gives one entry, its name.
        """
        with self._guard(f"no such bucket or folder: {self.url}"):
            self.fs.invalidate_cache(self.root)
            listing: dict[str, dict[str, Any]] = self.fs.find(self.root, detail=True)
            if not listing and not self.fs.exists(self.root):
                raise NotFound(f"no such bucket or folder: {self.url}", hint="check the URL")
        files: dict[str, tuple[str, int | None]] = {}  # relative path -> (path, listed size)
        for path, info in listing.items():
            if info.get("type", "file") != "file" or path.endswith("/"):
                continue  # directory markers some object stores keep
            relative = path.rsplit("/", 1)[-1] if path == self.root else path[len(self.root) + 1 :]
            files[relative] = (path, info.get("size"))

        def hash_one(relative: str) -> Entry:
            path, listed = files[relative]
            hasher = hashlib.sha256()
            size = 0
            with (
                self._guard(f"{self.url}/{relative} vanished while it was read"),
                self.fs.open(path, "rb", block_size=CHUNK) as stream,
            ):
                while chunk := stream.read(CHUNK):
                    hasher.update(chunk)
                    size += len(chunk)
            if listed is not None and size != listed:
                raise InvalidInput(  # as the object cache reports a local file that changes
                    f"{self.url}/{relative} changed while it was read ({listed} bytes listed, "
                    f"{size} read)",
                    hint="run the command again once nothing is writing to the data",
                )
            return Entry(path=relative, digest=PREFIX + hasher.hexdigest(), size=size)

        entries, _ = parallel(sorted(files), hash_one, workers, progress)
        return sorted(entries, key=lambda entry: entry.path)

    def _object(self, digest: str, base: str | None = None) -> str:
        hexdigest = digest[len(PREFIX) :]
        return f"{base or self._objects}/{hexdigest[:2]}/{hexdigest[2:]}"

    def _guard(self, not_found: str) -> Any:
        """Turn the remote's failures (credentials, network, missing paths) into lineal errors."""
        return guard(self.url, local=self._local, not_found=not_found)
