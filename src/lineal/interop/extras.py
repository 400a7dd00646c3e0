"""Optional packages of the interop formats: imported on use, with the install that brings them."""

from __future__ import annotations

import importlib
from types import ModuleType

from lineal.errors import MissingExtra


def require(module: str, extra: str) -> ModuleType:
    """Import ``module``, or raise MissingExtra naming ``pip install 'lineal[EXTRA]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(module, extra) from exc
