"""The tracking SDK's entry points: ``lineal.start_run``, ``active_run`` and ``search_runs``.

Thin and import-light (the CLI imports the package on every start): the tracking machinery
is imported when first used. Never prints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lineal.client import Lineal
from lineal.model.entities import Run

if TYPE_CHECKING:
    from datetime import datetime

    from lineal.lineage.graph import Graph
    from lineal.tracking.query import QueryResult
    from lineal.tracking.runs import ActiveRun


def start_run(
    name: str,
    *,
    params: Mapping[str, Any] | None = None,
    seed: int | None = None,
    tags: Mapping[str, str] | None = None,
    parent: ActiveRun | None = None,
    repo: Lineal | None = None,
    capture: bool = True,
    env_allow: Sequence[str] = (),
    flush_interval: float = 1.0,
) -> ActiveRun:
    """Start a recorded run; use it as a context manager.

    At start it captures git state, the software environment (one shared ``env`` artifact),
    hardware, user, host, command line and allowlisted environment variables (plus
    ``env_allow`` names or ``PREFIX_*`` patterns; secret-looking ones never). A run started
    inside another, or in a command `lineal run` runs, is linked to it (``informed_by``).
    ``repo`` defaults to the store of the nearest ``.lineal/`` (or ``LINEAL_URI``).
    """
    from lineal.tracking import runs

    owns = repo is None
    store = Lineal.open() if repo is None else repo
    try:
        run = runs.start(
            store,
            name,
            params=params,
            seed=seed,
            tags=tags,
            parent=parent,
            capture_env=capture,
            env_allow=env_allow,
            flush_interval=flush_interval,
        )
    except BaseException:
        if owns:
            store.close()
        raise
    run.owns_repo = owns
    return run


def active_run() -> ActiveRun | None:
    """The innermost unfinished run this process started; else, in a command `lineal run`
    runs, a handle on that run (logs, inputs and outputs go to it; ``lineal run`` ends it);
    else None. A ``LINEAL_RUN`` that names no running run of this store is an error."""
    from lineal.tracking import attached, lifecycle

    return lifecycle.active_run() or attached.current()


def search_runs(
    where: str | None = None, *, limit: int | None = None, repo: Lineal | None = None
) -> list[Run]:
    """Runs matching a filter such as ``metrics.mAP >= 0.8 and uses(dataset/coco@v3)``
    (None or empty: every run), newest first, with params, metrics (latest or summary values)
    and tags. A reference in ``uses()``/``generated()`` that names nothing is NotFound."""
    from lineal.tracking import search

    if repo is not None:
        return search.search_runs(repo, where, limit=limit)
    with Lineal.open() as opened:
        return search.search_runs(opened, where, limit=limit)


def step(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    cache: bool = True,
    repo: Lineal | None = None,
) -> Any:
    """Make a Python function a recorded, cached pipeline step: ``@lineal.step``.

    Path and reference arguments are inputs (snapshotted), the rest params, the return value
    outputs; a call whose code, params and input digests match an earlier success, with its
    outputs still in the cache, returns them without running and records a cache-hit run.
    """
    from lineal.tracking import steps

    decorate: Callable[[Callable[..., Any]], Any] = steps.step(name=name, cache=cache, repo=repo)
    return decorate if func is None else decorate(func)


def _with_repo(repo: Lineal | None, work: Callable[[Lineal], Any]) -> Any:
    if repo is not None:
        return work(repo)
    with Lineal.open() as opened:
        return work(opened)


def upstream(
    ref: str,
    *,
    depth: int | None = None,
    kinds: Sequence[str] | None = None,
    as_of: int | str | datetime | None = None,
    repo: Lineal | None = None,
) -> Graph:
    """Where ``ref`` came from, as a Graph: everything upstream, ``depth`` steps at most,
    only nodes of ``kinds`` if given, and exactly as the store stood at ``as_of`` (a ledger
    seq, a datetime or an ISO time) if given."""
    from lineal.lineage import queries

    return _with_repo(  # type: ignore[no-any-return]
        repo, lambda r: queries.upstream(r, ref, depth=depth, kinds=kinds, as_of=as_of)
    )


def downstream(
    ref: str,
    *,
    depth: int | None = None,
    kinds: Sequence[str] | None = None,
    as_of: int | str | datetime | None = None,
    repo: Lineal | None = None,
) -> Graph:
    """What ``ref`` fed into (a bare ``KIND/NAME``: any of its versions), as a Graph; e.g.
    ``downstream("dataset/coco", kinds=["model"])`` is every model trained on it."""
    from lineal.lineage import queries

    return _with_repo(  # type: ignore[no-any-return]
        repo, lambda r: queries.downstream(r, ref, depth=depth, kinds=kinds, as_of=as_of)
    )


def path(
    a: str,
    b: str,
    *,
    as_of: int | str | datetime | None = None,
    repo: Lineal | None = None,
) -> Graph:
    """Every node on some path from ``a`` down to ``b``, as a Graph."""
    from lineal.lineage import queries

    return _with_repo(repo, lambda r: queries.path(r, a, b, as_of=as_of))  # type: ignore[no-any-return]


def query(
    where: str, *, show: Sequence[str] = (), limit: int | None = None, repo: Lineal | None = None
) -> QueryResult:
    """Cross-run questions: the runs matching ``where`` (steps allowed, e.g.
    ``metrics.mAP@10 >= 0.8``) with their ``inputs``, ``outputs``, ``params`` or ``metrics``."""
    from lineal.tracking.query import query as run_query

    return _with_repo(repo, lambda r: run_query(r, where, show=show, limit=limit))  # type: ignore[no-any-return]
