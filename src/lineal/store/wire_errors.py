"""How errors cross the wire: the HTTP status of each LinealError code, and the class each
code is raised again as on the client (see lineal.store.wire)."""

from __future__ import annotations

from lineal import errors
from lineal.errors import LinealError

__all__ = ["CLASSES", "STATUS"]

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
