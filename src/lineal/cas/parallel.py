"""Running one piece of work per item on a thread pool, with progress and per-item failures.

Never reports an item as done before its work has finished, nor leaves work running behind
its caller: an interruption waits for the items under way and counts those that succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Any, TypeVar

from lineal.errors import InvalidInput, LinealError

Progress = Callable[[int, int], None]
R = TypeVar("R")


def parallel(
    items: list[str],
    work: Callable[[str], R | LinealError],
    workers: int,
    progress: Progress | None,
) -> tuple[list[R], list[tuple[str, LinealError]]]:
    """Run ``work`` over ``items`` on a thread pool, reporting progress from this thread only.

    ``work`` returns a result, or a LinealError for a failure that concerns only its item;
    anything it raises stops the run (pending items are cancelled) and is re-raised here.
    """
    if workers < 1:
        raise InvalidInput(f"workers must be at least 1, not {workers}")
    results: list[R] = []
    failures: list[tuple[str, LinealError]] = []
    if progress is not None:
        progress(0, len(items))
    if not items:
        return results, failures
    pool = ThreadPoolExecutor(min(workers, len(items)), thread_name_prefix="lineal-remote")
    futures: dict[Future[R | LinealError], str] = {}
    try:
        futures.update((pool.submit(work, it), it) for it in items)
        for done, future in enumerate(as_completed(futures), start=1):
            outcome = future.result()
            if isinstance(outcome, LinealError):
                failures.append((futures[future], outcome))
            else:
                results.append(outcome)
            if progress is not None:
                progress(done, len(items))
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        if progress is not None:  # the items under way when it stopped did finish
            progress(sum(map(_succeeded, futures)), len(items))
        raise
    pool.shutdown(wait=True)
    return results, sorted(failures, key=lambda failure: failure[0])


def _succeeded(future: Future[Any]) -> bool:
    return (
        future.done()
        and not future.cancelled()
        and future.exception() is None
        and not isinstance(future.result(), LinealError)
    )
