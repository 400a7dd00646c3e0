"""lineal: tamper-evident lineage for datasets, label schemas, scenes, runs, metrics and models.

The curated public API; everything not listed in ``__all__`` may change without notice.
"""

from __future__ import annotations

from lineal.client import Lineal, open
from lineal.errors import (
    Conflict,
    IntegrityError,
    InvalidInput,
    LinealError,
    MissingExtra,
    NotFound,
    PermissionDenied,
    StoreUnavailable,
)
from lineal.model.entities import Agent, Artifact, Edge, Run
from lineal.model.refs import Ref, parse
from lineal.sdk import (
    active_run,
    downstream,
    path,
    query,
    search_runs,
    start_run,
    step,
    upstream,
)
from lineal.store.base import Store, VerifyReport
from lineal.workspace import init

__version__ = "0.1.0.dev0"

__all__ = [
    "Agent",
    "Artifact",
    "Conflict",
    "Edge",
    "IntegrityError",
    "InvalidInput",
    "Lineal",
    "LinealError",
    "MissingExtra",
    "NotFound",
    "PermissionDenied",
    "Ref",
    "Run",
    "Store",
    "StoreUnavailable",
    "VerifyReport",
    "__version__",
    "active_run",
    "downstream",
    "init",
    "open",
    "parse",
    "path",
    "query",
    "search_runs",
    "start_run",
    "step",
    "upstream",
]
