"""The service endpoint of the audit report: ``report?ref=R`` answers the HTML document
`lineal report R` writes (lineal.report.facts gathers, lineal.report.render writes), for the
web UI's "Audit report" link. A bad reference answers the 4xx JSON every service answers.
"""

from collections.abc import Callable
from typing import Annotated, Any

# No ``from __future__ import annotations``: FastAPI reads the parameter types below.
from fastapi import Query
from fastapi.responses import Response

from lineal.client import Lineal
from lineal.server.services import Ref

Verify = Annotated[
    bool,
    Query(description="run `lineal verify`'s checks and state their status (false: faster)"),
]
_HTML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}}}
}


def report_routes(get: Callable[..., Callable[[Any], Any]], repo: Callable[[str], Lineal]) -> None:
    """``report``."""

    @get(
        "report",
        "The audit report of a model or dataset version, as HTML (`lineal report REF`)",
        None,
        responses=_HTML,
        response_class=Response,
    )
    def report(project: str, ref: Ref, verify: Verify = True) -> Any:
        from lineal.report import facts, render

        found = facts.gather(repo(project), ref, verify=verify)
        return Response(render.html(found), media_type="text/html; charset=utf-8")
