"""The service endpoints a runs table, a metric chart and a time slider read: ``runs`` (a page
in any order, the total in ``X-Total-Count``), ``runs/columns``, ``metrics`` (a step range),
``series`` (several runs at once) and ``timeline``. Each calls the service the CLI calls (see
lineal.server.services) and answers its ``as_dict()``.
"""

from collections.abc import Callable
from typing import Annotated, Any, Literal

# No ``from __future__ import annotations``: FastAPI reads the parameter types below.
from fastapi import Query
from pydantic import StringConstraints

from lineal.client import Lineal
from lineal.model.entities import MAX_LIMIT
from lineal.server.services import _TEXT, Limit, Obj, Objs, Points, Ref, Text, Where, _answer

Sort = Annotated[
    str | None,
    Query(
        pattern=_TEXT,
        description="order: created, name, status, duration, metrics.KEY, params.KEY, "
        "tags.KEY…; a leading - sorts descending (default -created, newest first)",
    ),
]
Offset = Annotated[int, Query(ge=0, le=MAX_LIMIT, description="skip this many first")]
_STEP = {"ge": -(2**63), "le": 2**63 - 1}
FromStep = Annotated[int | None, Query(**_STEP, description="only points from this step on (kept)")]
ToStep = Annotated[int | None, Query(**_STEP, description="only points up to this step (kept)")]
#: The most runs one chart request compares.
MAX_RUNS = 50


def run_routes(get: Callable[..., Callable[[Any], Any]], repo: Callable[[str], Lineal]) -> None:
    """The runs table, the metric charts and the time slider: ``runs``, ``runs/columns``,
    ``metrics``, ``series``, ``timeline``."""

    @get(
        "runs",
        summary="A page of the runs a filter matches, in any order (`lineal runs --json`)",
        description="The runs `where` matches, sorted by `sort` (newest first without one), "
        "`limit` of them from `offset`. The `X-Total-Count` header says how many match in "
        "all, for a pager.",
        returns=Objs,
        responses={200: {"headers": {"X-Total-Count": {"schema": {"type": "integer"}}}}},
    )
    def runs(
        project: str,
        where: Where = None,
        sort: Sort = None,
        offset: Offset = 0,
        limit: Limit = 50,
    ) -> Any:
        from lineal.tracking.search import page_runs

        page = page_runs(repo(project), where or "", sort=sort, offset=offset, limit=limit)
        answer = _answer(page.as_dict()["runs"])
        answer.headers["X-Total-Count"] = str(page.total)
        return answer

    @get("runs/columns", "The run columns and the param, metric and tag keys of runs", Obj)
    def run_columns(project: str) -> Any:
        from lineal.tracking.search import run_columns

        return _answer(run_columns(repo(project)))

    @get("metrics", "A run's metric points by key (`lineal metrics --json`)", Obj)
    def metrics(
        project: str,
        run: Ref,
        key: Text = None,
        max_points: Points = None,
        from_step: FromStep = None,
        to_step: ToStep = None,
    ) -> Any:
        from lineal.tracking.search import metric_points, series_dict

        found = metric_points(
            repo(project), run, key, max_points=max_points, from_step=from_step, to_step=to_step
        )
        return _answer(series_dict(found))

    @get("series", "Several runs' metric points by run and key, for one chart", Obj)
    def series(
        project: str,
        run: Annotated[
            list[Annotated[str, StringConstraints(min_length=1, pattern=_TEXT)]],
            Query(min_length=1, max_length=MAX_RUNS, description="run/ULID; repeat for each"),
        ],
        key: Text = None,
        max_points: Points = None,
        from_step: FromStep = None,
        to_step: ToStep = None,
    ) -> Any:
        from lineal.tracking.search import compared_points

        found = compared_points(
            repo(project), run, key, max_points=max_points, from_step=from_step, to_step=to_step
        )
        return _answer(found)

    @get(
        "timeline",
        "The ledger's span and the moments that named something, for a time slider",
        Obj,
        description="The first and last ledger record (seq, time) and events, newest first: "
        "versions of named artifacts, aliases, promotions, approvals (and runs, if asked). "
        "Pass an event's seq as `as_of` to upstream, downstream or path.",
    )
    def timeline(
        project: str,
        events: Annotated[
            list[Literal["versions", "aliases", "promotions", "approvals", "runs"]] | None,
            Query(description="which events; may repeat (default all but runs)"),
        ] = None,
        limit: Limit = 1000,
    ) -> Any:
        from lineal.lineage.timeline import timeline

        return _answer(timeline(repo(project), events, limit=limit).as_dict())
