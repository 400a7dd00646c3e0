"""A remote's fsspec file system: opened from a URL (with the extra it needs), and its failures
(credentials, network, missing paths, a full disk) turned into lineal errors with hints.

Never retries and never hides a failure: what it cannot name is raised as it came.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lineal.errors import (
    InvalidInput,
    LinealError,
    MissingExtra,
    NotFound,
    PermissionDenied,
    StoreUnavailable,
)

SUPPORTED = "file://, s3://, gs://, az://, memory:// (or a plain absolute path)"
_EXTRAS = {  # protocol -> (module, extra) for MissingExtra
    **dict.fromkeys(("s3", "s3a"), ("s3fs", "s3")),
    **dict.fromkeys(("gs", "gcs"), ("gcsfs", "gcs")),
    **dict.fromkeys(("az", "abfs", "abfss", "adl"), ("adlfs", "azure")),
}
_CREDENTIALS_HINT = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the environment; "
    "a remote can also name a credentials profile: lineal remote add NAME URL --profile P"
)
_ENDPOINT_HINT = (
    "check the network and the endpoint (--endpoint-url of lineal remote add or lineal add, "
    "or AWS_ENDPOINT_URL in the environment)"
)
_OPTIONS = "see the storage options of the fsspec implementation for this protocol"
RETRY_HINT = "run the command again: only what did not arrive will move"


def open_fs(url: str, options: dict[str, Any]) -> tuple[Any, str, str]:
    """The fsspec file system, root path and protocol for ``url``, or a lineal error saying
    why not."""
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


@contextmanager
def guard(url: str, *, local: bool, not_found: str) -> Iterator[None]:
    """Turn the failures of the remote at ``url`` (a local folder if ``local``) into lineal
    errors; ``not_found`` is the message for a missing path."""
    try:
        yield
    except LinealError:
        raise
    except Exception as exc:
        error = translate(exc, url, local=local, not_found=not_found)
        if error is None:
            raise
        raise error from exc


def translate(exc: Exception, url: str, *, local: bool, not_found: str) -> LinealError | None:
    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    error: LinealError | None = None
    if _is_no_credentials(exc) or isinstance(exc, PermissionError):
        what, hint = (
            ("denied us access", "check the folder's owner and permissions")
            if local
            else ("refused our credentials", _CREDENTIALS_HINT)
        )
        error = PermissionDenied(f"the remote {url} {what}: {detail}", hint=hint)
    elif isinstance(exc, FileNotFoundError):
        error = NotFound(not_found, hint="check the URL, and that the bucket or folder exists")
    elif _is_unreachable(exc):
        error = StoreUnavailable(
            f"cannot reach the remote {url}: {detail}",
            hint=f"{_ENDPOINT_HINT}; {RETRY_HINT}",
        )
    elif isinstance(exc, TypeError) and "unexpected keyword argument" in detail:
        error = InvalidInput(f"bad option for the remote {url}: {detail}", hint=_OPTIONS)
    elif isinstance(exc, OSError) and exc.errno in {errno.ENOSPC, errno.EDQUOT}:
        error = StoreUnavailable(  # as the object cache reports a full disk
            f"no space left on the device while copying to or from {url}",
            hint=f"free some space; {RETRY_HINT}",
        )
    return error


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
