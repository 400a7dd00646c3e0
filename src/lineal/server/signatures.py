"""Giving an endpoint defined inside a function its parameters' real types.

The server's modules write annotations as text (``from __future__ import annotations``) and
import FastAPI lazily, so FastAPI cannot resolve an endpoint's annotations by name; each
route module sets its endpoints' signatures through this one helper instead.
"""

from __future__ import annotations

import inspect
from typing import Any


def sign(endpoint: Any, **annotations: Any) -> None:
    """Set ``endpoint.__signature__`` to keyword-only parameters of the given types; a value
    ``(type, default)`` also gives the default (e.g. a FastAPI ``Path(pattern=…)``)."""
    params = []
    for name, kind in annotations.items():
        annotation, default = kind if isinstance(kind, tuple) else (kind, inspect.Parameter.empty)
        params.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
            )
        )
    endpoint.__signature__ = inspect.Signature(params)
