"""The service endpoints of data quality: drift between dataset versions, lineage health and
stale models. Each calls the service the CLI calls (see lineal.server.services) and answers its
``as_dict()``. A server has no `lineal.toml`: drift uses the default thresholds there (what
each version recorded when it was added, ``drift/recorded``, used the adding workspace's).
"""

from collections.abc import Callable
from typing import Annotated, Any

# No ``from __future__ import annotations``: FastAPI reads the parameter types below.
from fastapi import Query

from lineal.client import Lineal
from lineal.server.services import _TEXT, Obj, Objs, Ref, _answer

Other = Annotated[
    str | None,
    Query(
        pattern=_TEXT,
        description="the dataset version to compare ref with (default: the one before ref)",
    ),
]
Days = Annotated[float, Query(ge=0, description="a pipeline not run for this long is stale")]
Model = Annotated[
    str | None, Query(pattern=_TEXT, description="a model version (default: every one)")
]


def quality_routes(get: Callable[..., Callable[[Any], Any]], repo: Callable[[str], Lineal]) -> None:
    """``drift``, ``drift/recorded``, ``health``, ``stale``."""

    @get("drift", "Drift of a dataset version from another (`lineal drift A [B] --json`)", Obj)
    def drift(project: str, ref: Ref, to: Other = None) -> Any:
        from lineal.quality.drift import drift as compute

        # ?ref=B alone: B against the version before it, as `lineal show` gives it
        return _answer(compute(repo(project), ref, to).as_dict())

    @get(
        "drift/recorded",
        "Every dataset version's drift as recorded when it was added (`lineal drift --all`)",
        Objs,
    )
    def drift_recorded(project: str) -> Any:
        from lineal.quality.drift_record import recorded

        return _answer([one.as_dict() for one in recorded(repo(project))])

    @get("health", "Lineage health: coverage, staleness, freshness, orphans, crashed runs", Obj)
    def health(project: str, days: Days = 30.0) -> Any:
        from lineal.quality.health import health as compute

        return _answer(compute(repo(project), days=days).as_dict())

    @get("stale", "Model versions made from inputs with a newer version (`lineal stale`)", Obj)
    def stale(project: str, ref: Model = None) -> Any:
        from lineal.quality.stale import stale as compute

        return _answer(compute(repo(project), ref).as_dict())
