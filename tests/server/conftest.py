"""The ``served`` fixture: a real `lineal server` process over a populated project (see
live_server.py)."""

from live_server import served

__all__ = ["served"]
