"""A lineal server as a remote: the objects of one of its projects, pushed and pulled over its
object routes (``/api/v1/projects/NAME/objects/…``), in parallel, streamed.

Never installs a downloaded object before its bytes hash to its digest, and moves only what
the other side lacks. httpx is imported only here (and only when a server remote is used).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal import errors
from lineal.cas.parallel import Progress
from lineal.cas.remote_fs import RETRY_HINT
from lineal.cas.transfer import TransferResult, transfer, unique
from lineal.errors import (
    IntegrityError,
    InvalidInput,
    LinealError,
    MissingExtra,
    NotFound,
    StoreUnavailable,
)
from lineal.model.digests import PREFIX

if TYPE_CHECKING:
    import httpx

    from lineal.cas.objects import ObjectCache

CHUNK = 1 << 20  # bytes sent or written at a time: memory stays bounded whatever the size
#: Digests asked about per request (the server's own limit, lineal.server.objects.MAX_ASKED).
ASKED = 10_000
#: Seconds to wait for a connection, and for each piece of an answer.
TIMEOUT = (10.0, 600.0)
_URL = re.compile(
    r"(?P<base>https?://[^/?#]+)(?P<prefix>/[^?#]*?)?/projects/(?P<project>[^/?#]+)/?"
)
#: The errors a server's JSON body names by code, raised again here as themselves.
_CODES: dict[str, type[LinealError]] = {
    cls.code: cls
    for cls in (
        errors.InvalidInput,
        errors.Unauthenticated,
        errors.NotFound,
        errors.Conflict,
        errors.IntegrityError,
        errors.PermissionDenied,
        errors.StoreUnavailable,
    )
}


def is_server_url(url: str) -> bool:
    """Does ``url`` name a lineal server's project (rather than a folder or a bucket)?"""
    return url.startswith(("http://", "https://"))


class HttpRemote:
    """The objects of the project at ``http(s)://HOST:PORT[/PREFIX]/projects/NAME``.

    The same contract as lineal.cas.remote.Remote: ``push`` and ``pull`` move only what the
    other side lacks, in parallel; one object's failure does not stop the others (``strict``
    raises one error naming them at the end); a server that cannot be reached stops the call.
    """

    def __init__(self, url: str, token: str | None = None) -> None:
        try:
            import httpx  # noqa: F401  # fails here, clearly, when the extra is absent
        except ImportError as exc:
            raise MissingExtra("httpx", "server") from exc
        match = _URL.fullmatch(url)
        if match is None:
            raise InvalidInput(
                f"bad server URL {url!r}: expected http(s)://HOST:PORT/projects/NAME",
                hint="e.g. lineal remote add team http://127.0.0.1:8470/projects/vision",
            )
        self.url = url.rstrip("/")
        prefix = match["prefix"] or ""
        self._objects = f"{match['base']}{prefix}/api/v1/projects/{match['project']}/objects"
        self._client: httpx.Client | None = None
        self.use_token(token)

    def use_token(self, token: str | None) -> None:
        """Send ``token`` as a bearer token on every request (None: none, for an open
        project); never in a message or the repr."""
        self._headers = {"authorization": f"Bearer {token}"} if token else {}

    def __repr__(self) -> str:
        return f"HttpRemote({self.url!r})"

    @contextmanager
    def _session(self, workers: int = 1) -> Iterator[httpx.Client]:
        """One connection pool for a whole push or pull (as many connections as workers)."""
        if self._client is not None:
            yield self._client
            return
        import httpx

        connect, read = TIMEOUT
        limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
        with httpx.Client(
            timeout=httpx.Timeout(read, connect=connect), limits=limits, headers=self._headers
        ) as client:
            self._client = client
            try:
                yield client
            finally:
                self._client = None

    def missing(self, digests: Iterable[str]) -> list[str]:
        """The digests among ``digests`` that the server does not hold, in the order given."""
        wanted = unique(digests)
        lacking: list[str] = []
        with self._session() as client:
            # Asked at least once, even about nothing: an unknown project is said so now.
            for start in range(0, max(len(wanted), 1), ASKED):
                asked = wanted[start : start + ASKED]
                answer = self._request(client, "POST", "/missing", json={"digests": asked})
                lacking.extend(answer.json()["missing"])
        absent = set(lacking)
        return [digest for digest in wanted if digest in absent]

    def push(
        self,
        cache: ObjectCache,
        digests: Iterable[str],
        *,
        workers: int = 8,
        progress: Progress | None = None,
        strict: bool = True,
    ) -> TransferResult:
        """Send the objects the server lacks; ``progress(done, total)`` counts objects to send."""
        wanted = unique(digests)
        with self._session(workers) as client:

            def send(digest: str) -> int | LinealError:
                if not cache.has(digest):
                    return NotFound(
                        f"object {digest} is not in the local cache, so it cannot be pushed",
                        hint="pull it from a remote that has it, or add the data again",
                    )
                size = cache.size(digest)
                loose = cache.loose(digest)  # a packed object goes up as bytes
                content = _pieces(loose) if loose is not None else cache.read_bytes(digest)
                headers = {"content-type": "application/octet-stream", "content-length": str(size)}
                try:
                    self._request(client, "PUT", _path(digest), content=content, headers=headers)
                except InvalidInput as exc:  # the server hashed other bytes than the digest's
                    return IntegrityError(
                        f"the server refused object {digest} from the local cache: {exc.message}",
                        hint="the cache's copy is damaged: add the data again, then push",
                    )
                return size

            todo = self.missing(wanted)
            return transfer(
                "pushed to",
                self.url,
                wanted,
                todo,
                send,
                workers=workers,
                progress=progress,
                strict=strict,
            )

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

        Digests in ``optional`` that the server does not hold either are left out.
        """
        wanted = unique(digests)
        with cache.writing(), self._session(workers) as client:  # a gc waits meanwhile
            need = cache.missing(wanted)
            absent = set(self.missing(need)) if need else set()
            need = [digest for digest in need if digest not in absent or digest not in optional]

            def fetch(digest: str) -> int | LinealError:
                if digest in absent:
                    return NotFound(
                        f"object {digest} is not on the server {self.url}",
                        hint="push it there from a machine whose cache holds it (lineal push)",
                    )
                return self._get(client, cache, digest)

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

    def _get(self, client: httpx.Client, cache: ObjectCache, digest: str) -> int | LinealError:
        import httpx

        temp = cache.temp_path()
        try:
            try:
                with client.stream("GET", self._objects + _path(digest)) as answer:
                    if answer.status_code >= 400:
                        answer.read()
                        raise self._error(answer)
                    with temp.open("wb") as written:
                        for piece in answer.iter_bytes(CHUNK):
                            written.write(piece)
            except httpx.HTTPError as exc:
                raise self._unreachable(exc) from None
            except NotFound as exc:
                return exc  # this object only (removed on the server meanwhile)
            size = temp.stat().st_size
            try:
                cache.install(temp, digest)
            except IntegrityError:
                return IntegrityError(
                    f"object {digest} from the server {self.url} does not match its digest",
                    hint="the server's copy is damaged: delete it from the server's objects, "
                    "then push it again from a cache that holds good bytes (lineal push)",
                )
            return size
        finally:
            temp.unlink(missing_ok=True)

    def _request(self, client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
        """One request; its answer, or the lineal error the server (or the network) gave."""
        import httpx

        try:
            answer = client.request(method, self._objects + path, **kwargs)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        if answer.status_code >= 400:
            raise self._error(answer)
        return answer

    def _unreachable(self, exc: Exception) -> StoreUnavailable:
        return StoreUnavailable(
            f"cannot reach the lineal server at {self.url}: {exc}",
            hint=f"start it (`lineal server`), or fix the remote's URL; {RETRY_HINT}",
        )

    def _error(self, answer: Any) -> LinealError:
        try:
            body = answer.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "code" not in body:
            return StoreUnavailable(
                f"{self.url} answered HTTP {answer.status_code} without a lineal error",
                hint="is this URL a lineal server's project? http(s)://HOST:PORT/projects/NAME",
            )
        cls = _CODES.get(str(body["code"]), LinealError)
        return cls(str(body.get("error")), hint=body.get("hint"))


def _path(digest: str) -> str:
    return f"/sha256/{digest[len(PREFIX) :]}"


def _pieces(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while piece := source.read(CHUNK):
            yield piece
