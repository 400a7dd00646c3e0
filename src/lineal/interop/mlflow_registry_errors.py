"""MLflow's error shape for the registry and logged-model endpoints: ``{"error_code",
"message"}`` with the HTTP status MLflow gives that code, made from a lineal error.

The services raise lineal's own errors (lineal.errors); only the HTTP layer turns them into
this shape, so the `mlflow` client raises the ``MlflowException`` its callers expect.
"""

from __future__ import annotations

from typing import Any

from lineal.errors import LinealError

#: lineal's error code -> MLflow's error code (databricks.proto ErrorCode).
MLFLOW_CODES = {
    "invalid_input": "INVALID_PARAMETER_VALUE",
    "not_found": "RESOURCE_DOES_NOT_EXIST",
    "conflict": "RESOURCE_ALREADY_EXISTS",
    "permission": "PERMISSION_DENIED",
    "unauthenticated": "UNAUTHENTICATED",
    "unavailable": "TEMPORARILY_UNAVAILABLE",
    "missing_extra": "NOT_IMPLEMENTED",
}
#: MLflow's error code -> the HTTP status its server answers with it.
STATUS = {
    "INVALID_PARAMETER_VALUE": 400,
    "MALFORMED_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
    "TEMPORARILY_UNAVAILABLE": 503,
    "NOT_IMPLEMENTED": 501,
    "INTERNAL_ERROR": 500,
}


class MlflowError(Exception):
    """A lineal error as MLflow's REST API spells it: an error code and one message."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message

    @property
    def status(self) -> int:
        return STATUS.get(self.error_code, 500)

    def as_dict(self) -> dict[str, Any]:
        return {"error_code": self.error_code, "message": self.message}


def from_lineal(exc: LinealError) -> MlflowError:
    """``exc`` in MLflow's shape: its message, then its hint (what to do) after a colon."""
    message = exc.message if not exc.hint else f"{exc.message} ({exc.hint})"
    return MlflowError(MLFLOW_CODES.get(exc.code, "INTERNAL_ERROR"), message)
