"""lineal: tamper-evident lineage for datasets, label schemas, scenes, runs, metrics and models.

The curated public API; everything not listed in ``__all__`` may change without notice.
Names load on first use (PEP 562), so ``import lineal`` costs almost nothing: the CLI imports
this package on every start.
"""

from __future__ import annotations

import typing as _typing

if _typing.TYPE_CHECKING:
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

# Where each public name lives; the TYPE_CHECKING imports above must say the same.
_SOURCES = {
    "Agent": "lineal.model.entities",
    "Artifact": "lineal.model.entities",
    "Conflict": "lineal.errors",
    "Edge": "lineal.model.entities",
    "IntegrityError": "lineal.errors",
    "InvalidInput": "lineal.errors",
    "Lineal": "lineal.client",
    "LinealError": "lineal.errors",
    "MissingExtra": "lineal.errors",
    "NotFound": "lineal.errors",
    "PermissionDenied": "lineal.errors",
    "Ref": "lineal.model.refs",
    "Run": "lineal.model.entities",
    "Store": "lineal.store.base",
    "StoreUnavailable": "lineal.errors",
    "VerifyReport": "lineal.store.base",
    "active_run": "lineal.sdk",
    "downstream": "lineal.sdk",
    "init": "lineal.workspace",
    "open": "lineal.client",
    "parse": "lineal.model.refs",
    "path": "lineal.sdk",
    "query": "lineal.sdk",
    "search_runs": "lineal.sdk",
    "start_run": "lineal.sdk",
    "step": "lineal.sdk",
    "upstream": "lineal.sdk",
}

if not _typing.TYPE_CHECKING:  # type checkers see the imports above instead

    def __getattr__(name: str) -> object:
        source = _SOURCES.get(name)
        if source is None:
            raise AttributeError(f"module 'lineal' has no attribute {name!r}")
        from importlib import import_module

        value = getattr(import_module(source), name)
        globals()[name] = value  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
