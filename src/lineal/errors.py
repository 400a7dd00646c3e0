"""The one error tree every lineal failure is raised through, each error with a hint.

Never raise a bare builtin for bad user input; never put a traceback in front of a user.

    LinealError                 code="error"
    ├── InvalidInput(ValueError)     code="invalid_input"   bad reference, payload, option
    ├── NotFound(KeyError)           code="not_found"       no such artifact, run, store
    ├── Conflict                     code="conflict"        a write that contradicts history
    ├── IntegrityError               code="integrity"       the ledger or a projection was altered
    ├── PermissionDenied             code="permission"      wrong key, token's role or agent
    │   └── Unauthenticated          code="unauthenticated" no valid token (expired, revoked…)
    ├── StoreUnavailable             code="unavailable"     a database that cannot be reached
    └── MissingExtra(ImportError)    code="missing_extra"   an optional dependency is absent
"""

from __future__ import annotations


class LinealError(Exception):
    """Base of every lineal error: a one-line message plus a hint saying what to do."""

    code = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InvalidInput(LinealError, ValueError):
    code = "invalid_input"


class NotFound(LinealError, KeyError):
    code = "not_found"

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class Conflict(LinealError):
    code = "conflict"


class IntegrityError(LinealError):
    code = "integrity"


class PermissionDenied(LinealError):
    code = "permission"


class Unauthenticated(PermissionDenied):
    """A request without a valid token: missing, unknown, expired or revoked (HTTP 401)."""

    code = "unauthenticated"


class StoreUnavailable(LinealError):
    code = "unavailable"


class MissingExtra(LinealError, ImportError):
    code = "missing_extra"

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"{module} is not installed",
            hint=f"pip install 'lineal[{extra}]'",
        )
        self.extra = extra
