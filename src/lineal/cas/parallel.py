"""Running one piece of work per item on a thread pool, with progress and per-item failures.

Never reports an item as done before its work has finished, nor leaves work running behind
its caller: an interruption waits for the items under way and counts those that succeeded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

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
    succeeded = [0]  # counted by the workers themselves: exact whenever the caller stops
    lock = threading.Lock()

    def counted(item: str) -> R | LinealError:
        outcome = work(item)
        if not isinstance(outcome, LinealError):
            with lock:
                succeeded[0] += 1
        return outcome

    count = min(workers, len(items))
    pool = ThreadPoolExecutor(count, thread_name_prefix="lineal-remote")
    # Every thread starts before any item is queued: a Ctrl-C that lands while submit() starts
    # a thread leaves that thread out of the pool's shutdown, and an item it ran uncounted.
    started = threading.Barrier(count)
    try:
        for _ in range(count):
            pool.submit(started.wait)  # none returns before all run, so each needs a thread
        futures = {pool.submit(counted, it): it for it in items}
        for done, future in enumerate(as_completed(futures), start=1):
            outcome = future.result()
            if isinstance(outcome, LinealError):
                failures.append((futures[future], outcome))
            else:
                results.append(outcome)
            if progress is not None:
                progress(done, len(items))
    except BaseException:
        started.abort()
        pool.shutdown(wait=True, cancel_futures=True)
        if progress is not None:  # the items under way when it stopped did finish
            progress(succeeded[0], len(items))
        raise
    pool.shutdown(wait=True)
    return results, sorted(failures, key=lambda failure: failure[0])
