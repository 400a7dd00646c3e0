"""Remotes: move content-addressed objects between the local cache and an fsspec URL, verified.

Never leaves a partial object under its final name, and never installs bytes it has not hashed.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import sys
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal.cas import incoming
from lineal.cas.manifest import Entry
from lineal.cas.parallel import Progress, parallel
from lineal.errors import (
    IntegrityError,
    InvalidInput,
    LinealError,
    MissingExtra,
    NotFound,
    PermissionDenied,
    StoreUnavailable,
)
from lineal.model.digests import PREFIX, check_digest

if TYPE_CHECKING:
    from lineal.cas.objects import ObjectCache


CHUNK = 1 << 20  # bytes read at a time when hashing remote files: memory stays bounded
SUPPORTED = "file://, s3://, gs://, az://, memory:// (or a plain absolute path)"
# Protocols whose single PUT is atomic: an object appears whole or not at all. Everything else
# (local folders, memory://, NFS, SFTP, ...) is written to <root>/incoming/ and renamed into place.
_ATOMIC_PUT = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl"})
_EXTRAS = {  # protocol -> (module, extra) for MissingExtra
    **dict.fromkeys(("s3", "s3a"), ("s3fs", "s3")),
    **dict.fromkeys(("gs", "gcs"), ("gcsfs", "gcs")),
    **dict.fromkeys(("az", "abfs", "abfss", "adl"), ("adlfs", "azure")),
}
_OBJECT_NAME = re.compile(r"([0-9a-f]{2})/([0-9a-f]{62})")
_CREDENTIALS_HINT = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the environment; "
    "a remote can also name a credentials profile: lineal remote add NAME URL --profile P"
)
_ENDPOINT_HINT = (
    "check the network and the endpoint (--endpoint-url of lineal remote add or lineal add, "
    "or AWS_ENDPOINT_URL in the environment)"
)
_OPTIONS = "see the storage options of the fsspec implementation for this protocol"
_RETRY_HINT = "run the command again: only what did not arrive will move"


@dataclass(frozen=True, slots=True)
class TransferResult:
    """What one push or pull did: objects moved, objects already there, bytes moved, failures,
    and the partial uploads of killed pushes a push removed from the remote's ``incoming/``."""

    sent: int
    skipped: int
    bytes: int
    failed: tuple[str, ...] = ()
    cleaned: int = 0


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
        self.fs, root, protocol = _open_fs(url, dict(options or {}))
        self.root: str = root.rstrip("/") or root
        self._atomic_put = protocol in _ATOMIC_PUT
        self._local = protocol in {"file", "local"}
        self._objects = f"{self.root}/sha256"
        self._incoming = f"{self.root}/incoming"  # partial uploads, renamed into sha256/ whole

    def __repr__(self) -> str:
        return f"Remote({self.url!r})"

    def missing(self, digests: Iterable[str]) -> list[str]:
        """The digests among ``digests`` that the remote does not hold, in the order given."""
        wanted = _unique(digests)
        present = self._present() if wanted else set()
        return [digest for digest in wanted if digest not in present]

    def _present(self) -> set[str]:
        """Every digest under ``sha256/``, from one recursive listing."""
        # A local folder that does not exist lists as empty: refuse it rather than silently
        # create a remote at a typo. Object stores say "no such bucket" when listed.
        if self._local and not self.fs.isdir(self.root):
            raise NotFound(
                f"no such folder: {self.url}",
                hint="create the folder, or fix the remote's URL (lineal remote add NAME URL)",
            )
        with self._guard(f"no such bucket or folder: {self.url}"):
            self.fs.invalidate_cache(self._objects)
            paths = self.fs.find(self._objects)
        start = len(self._objects) + 1
        matches = (_OBJECT_NAME.fullmatch(path[start:]) for path in paths)
        return {PREFIX + match[1] + match[2] for match in matches if match}

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
        wanted = _unique(digests)

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
        cleaned = 0
        if not self._atomic_put:  # what pushes killed mid-upload left, never one under way
            with self._guard(f"no such bucket or folder: {self.url}"):
                cleaned = incoming.clean(self.fs, self._incoming, time.time() - incoming.GRACE)
        result = self._transfer("pushed to", wanted, todo, send, workers, progress, strict)
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
        wanted = _unique(digests)

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
            return self._transfer("pulled from", wanted, need, fetch, workers, progress, strict)

    def _transfer(
        self,
        verb: str,
        wanted: list[str],
        todo: list[str],
        move: Callable[[str], int | LinealError],
        workers: int,
        progress: Progress | None,
        strict: bool,
    ) -> TransferResult:
        sizes, failures = parallel(todo, move, workers, progress)
        if failures and strict:
            # Corruption is the more serious news, so it decides the error's type and hint.
            first = min(
                (err for _, err in failures), key=lambda e: not isinstance(e, IntegrityError)
            )
            more = f" (and {len(failures) - 1} more failed)" if len(failures) > 1 else ""
            message = f"{first.message}{more}; {len(sizes)} other objects were {verb} {self.url}"
            raise type(first)(message, hint=first.hint)
        failed = tuple(digest for digest, _ in failures)
        skipped = len(wanted) - len(todo)
        return TransferResult(sent=len(sizes), skipped=skipped, bytes=sum(sizes), failed=failed)

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

    @contextmanager
    def _guard(self, not_found: str) -> Iterator[None]:
        """Turn the remote's failures (credentials, network, missing paths) into lineal errors."""
        try:
            yield
        except LinealError:
            raise
        except Exception as exc:
            error = self._translate(exc, not_found)
            if error is None:
                raise
            raise error from exc

    def _translate(self, exc: Exception, not_found: str) -> LinealError | None:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        error: LinealError | None = None
        if _is_no_credentials(exc) or isinstance(exc, PermissionError):
            what, hint = (
                ("denied us access", "check the folder's owner and permissions")
                if self._local
                else ("refused our credentials", _CREDENTIALS_HINT)
            )
            error = PermissionDenied(f"the remote {self.url} {what}: {detail}", hint=hint)
        elif isinstance(exc, FileNotFoundError):
            error = NotFound(not_found, hint="check the URL, and that the bucket or folder exists")
        elif _is_unreachable(exc):
            error = StoreUnavailable(
                f"cannot reach the remote {self.url}: {detail}",
                hint=f"{_ENDPOINT_HINT}; {_RETRY_HINT}",
            )
        elif isinstance(exc, TypeError) and "unexpected keyword argument" in detail:
            error = InvalidInput(f"bad option for the remote {self.url}: {detail}", hint=_OPTIONS)
        elif isinstance(exc, OSError) and exc.errno in {errno.ENOSPC, errno.EDQUOT}:
            error = StoreUnavailable(  # as the object cache reports a full disk
                f"no space left on the device while copying to or from {self.url}",
                hint=f"free some space; {_RETRY_HINT}",
            )
        return error


def _open_fs(url: str, options: dict[str, Any]) -> tuple[Any, str, str]:
    """The fsspec file system and root path for ``url``, or a lineal error saying why not."""
    # Imported here, not at the top: fsspec (and the asyncio it pulls in) would add ~40 ms to
    # every `lineal` command, and only the commands that reach a remote need it.
    import fsspec  # type: ignore[import-untyped]  # fsspec ships no type information

    if not url.strip():
        raise InvalidInput("empty remote URL", hint=f"use one of {SUPPORTED}")
    protocol = fsspec.core.split_protocol(url)[0] or "file"
    if protocol not in fsspec.available_protocols():
        raise InvalidInput(
            f"unsupported remote URL {url!r}: unknown protocol {protocol + '://'!r}",
            hint=f"use one of {SUPPORTED}",
        )
    try:
        fsspec.get_filesystem_class(protocol)
    except ImportError as exc:
        if protocol in _EXTRAS:
            raise MissingExtra(*_EXTRAS[protocol]) from None
        raise InvalidInput(
            f"the {protocol}:// remote needs a package that is not installed",
            hint=str(exc).splitlines()[0] if str(exc) else f"use one of {SUPPORTED}",
        ) from None
    try:
        fs, root = fsspec.core.url_to_fs(url, **options)
    except (TypeError, ValueError) as exc:
        detail = str(exc).splitlines()[0]
        raise InvalidInput(f"bad option for the remote {url}: {detail}", hint=_OPTIONS) from None
    return fs, str(root), protocol


def _unique(digests: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(check_digest(digest) for digest in digests))


def _is_no_credentials(exc: Exception) -> bool:
    botocore = sys.modules.get("botocore.exceptions")  # loaded only if s3fs is in use
    return botocore is not None and isinstance(
        exc, (botocore.NoCredentialsError, botocore.PartialCredentialsError)
    )


def _is_unreachable(exc: Exception) -> bool:
    botocore = sys.modules.get("botocore.exceptions")
    if (
        isinstance(exc, (ConnectionError, TimeoutError))
        or (isinstance(exc, OSError) and exc.errno in {errno.EHOSTUNREACH, errno.ENETUNREACH})
        or (botocore and isinstance(exc, (botocore.ConnectionError, botocore.HTTPClientError)))
    ):
        return True
    aiohttp = sys.modules.get("aiohttp")  # gcsfs and adlfs speak aiohttp
    return aiohttp is not None and isinstance(exc, aiohttp.ClientConnectionError)
