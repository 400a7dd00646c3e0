"""Content digests: ``algo:hex`` strings, the identity of every artifact and payload.

Pure functions over bytes already in memory; never opens a file.
"""

from __future__ import annotations

import hashlib
import re
from typing import TypeGuard

from lineal.errors import InvalidInput

ALGORITHM = "sha256"
PREFIX = "sha256:"
_FULL = re.compile(r"sha256:[0-9a-f]{64}")


def digest_bytes(data: bytes) -> str:
    """The ``sha256:<hex>`` digest of ``data``."""
    return PREFIX + hashlib.sha256(data).hexdigest()


def is_digest(text: object) -> TypeGuard[str]:
    return isinstance(text, str) and _FULL.fullmatch(text) is not None


def check_digest(text: object, what: str = "digest") -> str:
    """Return ``text`` if it is a full ``sha256:<64 hex>`` digest, else raise InvalidInput."""
    if not is_digest(text):
        raise InvalidInput(
            f"bad {what} {text!r}: expected 'sha256:' followed by 64 lowercase hex characters"
        )
    return text
