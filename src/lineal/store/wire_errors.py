"""How errors cross the wire: the HTTP status of each LinealError code, and the class each
code is raised again as on the client (see lineal.store.wire)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lineal import errors
from lineal.errors import LinealError

__all__ = ["CLASSES", "STATUS", "error_body", "to_error"]

#: The HTTP status of each LinealError code (docs/architecture.md explains the choices).
STATUS = {
    "invalid_input": 400,
    "unauthenticated": 401,
    "permission": 403,
    "not_found": 404,
    "conflict": 409,
    "missing_extra": 501,
    "integrity": 502,
    "unavailable": 503,
    "error": 500,
}
#: The class each code is raised again as on the client.
CLASSES: dict[str, type[LinealError]] = {
    "invalid_input": errors.InvalidInput,
    "unauthenticated": errors.Unauthenticated,
    "permission": errors.PermissionDenied,
    "not_found": errors.NotFound,
    "conflict": errors.Conflict,
    "missing_extra": errors.MissingExtra,
    "integrity": errors.IntegrityError,
    "unavailable": errors.StoreUnavailable,
    "error": LinealError,
}


def error_body(exc: LinealError) -> dict[str, Any]:
    return {"error": exc.message, "hint": exc.hint, "code": exc.code}


def to_error(body: Mapping[str, Any]) -> LinealError:
    """The LinealError an error body describes, of the class its code names."""
    cls = CLASSES.get(str(body.get("code")), LinealError)
    exc = cls.__new__(cls)
    LinealError.__init__(exc, str(body.get("error")), hint=body.get("hint"))
    if cls is errors.MissingExtra:
        exc.extra = str(body.get("extra", ""))  # type: ignore[attr-defined]
    return exc
