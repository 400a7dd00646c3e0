"""MLflow's error shapes: how a lineal error answers a client of the MLflow REST API.

The ``mlflow`` client reads a failure as ``{"error_code": "RESOURCE_DOES_NOT_EXIST",
"message": …}`` with the matching HTTP status, and acts on the code (``set_experiment`` creates
an experiment when the lookup says RESOURCE_DOES_NOT_EXIST). Services raise lineal's own errors
(NotFound, InvalidInput, Conflict…) or :class:`MlflowError` for a code of MLflow's that lineal
has no class for; :func:`error_body` turns either into MLflow's shape. Pure: no FastAPI here.
"""

from __future__ import annotations

from typing import Any

from lineal.errors import LinealError

__all__ = [
    "ALREADY_EXISTS",
    "BAD_REQUEST",
    "DOES_NOT_EXIST",
    "ENDPOINT_NOT_FOUND",
    "INVALID_PARAMETER",
    "INVALID_STATE",
    "MlflowError",
    "error_body",
    "is_mlflow_path",
    "status_of",
]

DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
INVALID_PARAMETER = "INVALID_PARAMETER_VALUE"
INVALID_STATE = "INVALID_STATE"
BAD_REQUEST = "BAD_REQUEST"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"

#: The HTTP status MLflow's server answers with each error code (mlflow.protos.databricks).
STATUS: dict[str, int] = {
    DOES_NOT_EXIST: 404,
    ALREADY_EXISTS: 400,
    INVALID_PARAMETER: 400,
    INVALID_STATE: 400,
    BAD_REQUEST: 400,
    "MALFORMED_REQUEST": 400,
    ENDPOINT_NOT_FOUND: 404,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503,
    "INTERNAL_ERROR": 500,
}

#: The MLflow error code of each lineal error code (lineal.errors).
CODES: dict[str, str] = {
    "invalid_input": INVALID_PARAMETER,
    "not_found": DOES_NOT_EXIST,
    "conflict": ALREADY_EXISTS,
    "unauthenticated": "UNAUTHENTICATED",
    "permission": "PERMISSION_DENIED",
    "missing_extra": "NOT_IMPLEMENTED",
    "unavailable": "TEMPORARILY_UNAVAILABLE",
    "integrity": "INTERNAL_ERROR",
    "error": "INTERNAL_ERROR",
}

#: Path pieces of the MLflow surface (default project and ``/api/v1/projects/P/mlflow/…``).
_PATHS = ("/api/2.0/mlflow/", "/api/2.0/mlflow-artifacts/", "/ajax-api/2.0/mlflow/")


class MlflowError(LinealError):
    """A failure with an MLflow error code of its own (``INVALID_STATE``, ``BAD_REQUEST``…)."""

    def __init__(self, error_code: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.error_code = error_code
        self.code = {DOES_NOT_EXIST: "not_found", ENDPOINT_NOT_FOUND: "not_found"}.get(
            error_code, "invalid_input" if STATUS.get(error_code, 400) < 500 else "error"
        )


def code_of(exc: LinealError) -> str:
    """The MLflow error code ``exc`` answers with."""
    if isinstance(exc, MlflowError):
        return exc.error_code
    return CODES.get(exc.code, "INTERNAL_ERROR")


def status_of(exc: LinealError) -> int:
    """The HTTP status ``exc`` answers with, as MLflow's server gives its code."""
    return STATUS.get(code_of(exc), 500)


def error_body(exc: LinealError) -> dict[str, Any]:
    """``{"error_code", "message"}`` as the ``mlflow`` client parses it; the hint is kept in
    the message (the client shows only the message)."""
    message = exc.message if not exc.hint else f"{exc.message} ({exc.hint})"
    return {"error_code": code_of(exc), "message": message}


def is_mlflow_path(path: str) -> bool:
    """Whether a request path is on the MLflow REST surface (its errors take MLflow's shape)."""
    return any(piece in path for piece in _PATHS)
