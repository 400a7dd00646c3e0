"""What a push or a pull did, and the one way both kinds of remote (a folder or bucket, a
lineal server) run their per-object work and report failures.

Never stops the other objects for one object's failure; never reports an object it did not move.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lineal.cas.parallel import Progress, parallel
from lineal.errors import IntegrityError, LinealError
from lineal.model.digests import check_digest


@dataclass(frozen=True, slots=True)
class TransferResult:
    """What one push or pull did: objects moved, objects already there, bytes moved, failures,
    and the partial uploads of killed pushes a push removed from the remote's ``incoming/``."""

    sent: int
    skipped: int
    bytes: int
    failed: tuple[str, ...] = ()
    cleaned: int = 0


def unique(digests: Iterable[str]) -> list[str]:
    """``digests`` checked, each once, in the order given."""
    return list(dict.fromkeys(check_digest(digest) for digest in digests))


def transfer(
    verb: str,
    url: str,
    wanted: list[str],
    todo: list[str],
    move: Callable[[str], int | LinealError],
    *,
    workers: int,
    progress: Progress | None,
    strict: bool,
) -> TransferResult:
    """Run ``move`` (bytes moved, or the error of that object alone) over ``todo`` in parallel.

    With ``strict``, failures raise one error naming the first (corruption first) once every
    other object has moved; else they are returned in ``TransferResult.failed``.
    """
    sizes, failures = parallel(todo, move, workers, progress)
    if failures and strict:
        # Corruption is the more serious news, so it decides the error's type and hint.
        first = min((err for _, err in failures), key=lambda e: not isinstance(e, IntegrityError))
        more = f" (and {len(failures) - 1} more failed)" if len(failures) > 1 else ""
        message = f"{first.message}{more}; {len(sizes)} other objects were {verb} {url}"
        raise type(first)(message, hint=first.hint)
    failed = tuple(digest for digest, _ in failures)
    skipped = len(wanted) - len(todo)
    return TransferResult(sent=len(sizes), skipped=skipped, bytes=sum(sizes), failed=failed)
