"""Canonical encoding: the one byte form of a payload, so a fact hashes the same everywhere.

Pure and deterministic; never reads the clock, never normalises what it is given.

Rules (the encoding is JSON, RFC 8259, narrowed so that equal values give equal bytes):

- **Accepted values**: ``None``, ``bool``, ``int``, ``float``, ``str``, ``list``/``tuple``
  (both become arrays) and ``dict`` with ``str`` keys. Anything else (bytes, sets, datetimes,
  Decimals, objects) is refused with :class:`~lineal.errors.InvalidInput`.
- **Key order**: object keys are sorted by Unicode code point (Python's ``str`` order), at every
  depth. Duplicate keys cannot occur.
- **Whitespace**: none outside strings (``,`` and ``:`` separators only).
- **Strings**: UTF-8, not ASCII-escaped; only ``"``, ``\\`` and control characters U+0000-U+001F
  are escaped. Strings are *not* Unicode-normalised: NFC and NFD spellings of a name stay two
  different values, because file systems and labels keep them apart too. Lone surrogates are
  refused, and so is U+0000 (PostgreSQL text cannot hold it, and a fact must be storable by
  every backend).
- **Integers vs floats**: an ``int`` is written without a decimal point (``1``); a ``float``
  always carries one or an exponent (``1.0``, ``1e+16``), using Python's shortest round-trip
  ``repr``. So ``1`` and ``1.0`` are different values with different bytes. ``-0.0`` stays
  ``-0.0``. Integers must fit in a signed 64-bit word (every SQL backend can hold them).
- **NaN and ±Infinity** are refused: JSON has no spelling for them.
- **Datetimes** are not accepted as such: payloads carry times as RFC 3339 UTC strings with
  microseconds (``2026-11-25T11:37:31.000000Z``), made by :func:`format_time`, so a time and
  the string that spells it cannot be confused.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from lineal.errors import InvalidInput

_INT_MIN = -(2**63)
_INT_MAX = 2**63 - 1
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
)


def _check(value: Any, path: str) -> None:
    kind = type(value)
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidInput(f"string at {path} contains U+0000, which cannot be stored")
        return
    if kind is bool or value is None:
        return
    if kind is int or (isinstance(value, int) and not isinstance(value, bool)):
        if not _INT_MIN <= value <= _INT_MAX:
            raise InvalidInput(f"integer at {path} does not fit in 64 bits: {value}")
        return
    if kind is float or isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"{value!r} at {path} has no canonical form (NaN/Infinity)")
        return
    if kind is dict or isinstance(value, Mapping):
        for key, item in value.items():
            if type(key) is not str:
                raise InvalidInput(f"object key {key!r} at {path} is not a string")
            _check(key, f"{path} (a key)")
            _check(item, f"{path}.{key}")
        return
    if kind is list or kind is tuple:
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    raise InvalidInput(
        f"{type(value).__name__} at {path} cannot be encoded canonically",
        hint="use str, int, float, bool, None, lists and dicts with string keys",
    )


def _ok(value: Any) -> bool:  # noqa: PLR0911 - a flat dispatch is the fast path
    # The fast path: no paths built; _check runs only to explain a failure.
    kind = type(value)
    if kind is str:
        return "\x00" not in value
    if kind is bool or value is None:
        return True
    if kind is int:
        return bool(_INT_MIN <= value <= _INT_MAX)
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        return all(type(k) is str and "\x00" not in k and _ok(v) for k, v in value.items())
    if kind is list or kind is tuple:
        return all(_ok(v) for v in value)
    return False  # subclasses and the rest: let _check decide, with a path


#: A U+0000 in encoded text (or a string holding that text: the walk then decides).
_NUL = "\\u0000"


def _fast_ok(value: Any) -> bool | None:
    """Whether orjson accepts ``value`` in its strict form (a C walk, ~20x _ok's): True,
    False, or None when the process has not imported orjson. Its walk refuses what _ok
    refuses but for NaN/Infinity (the encoder refuses them), U+0000 (``_NUL`` finds its
    text), and values it writes that the encoder refuses (a UUID, an Enum)."""
    # orjson where the process has already imported it (a server does, for its answers),
    # never imported here: an import on a command's path costs it start-up time, and one
    # made while the process exits on Ctrl-C (a run's last flush) costs Python the
    # unhandled KeyboardInterrupt it exits with (the exit status becomes 1, not SIGINT's).
    orjson = sys.modules.get("orjson")
    if orjson is None:
        return None
    # Refused for the walk to decide: keys that are not str, integers beyond 53 bits,
    # subclasses, dataclasses and datetimes (orjson would write them its way).
    strict = (
        orjson.OPT_STRICT_INTEGER
        | orjson.OPT_PASSTHROUGH_SUBCLASS
        | orjson.OPT_PASSTHROUGH_DATACLASS
        | orjson.OPT_PASSTHROUGH_DATETIME
    )
    try:
        orjson.dumps(value, option=strict)
    except TypeError:  # orjson.JSONEncodeError is one
        return False
    return True


def encode(value: Any) -> bytes:
    """Return the canonical bytes of ``value`` (see the module rules)."""
    try:
        fast = _fast_ok(value)
        if fast is None:
            if not _ok(value):
                _check(value, "$")
            return _ENCODER.encode(value).encode("utf-8")
        if not fast:
            _check(value, "$")  # says why; or accepts what orjson alone refuses
            return _ENCODER.encode(value).encode("utf-8")
        try:
            text = _ENCODER.encode(value)
        except (ValueError, TypeError):  # NaN/Infinity, a value orjson writes and JSON not
            _check(value, "$")
            raise
        if _NUL in text:
            _check(value, "$")
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput("string holds a lone surrogate; it is not valid Unicode") from exc
    except RecursionError as exc:  # no fact nests this deep; Python's stack says where
        raise InvalidInput(
            "value nests lists or objects too deeply to encode",
            hint="flatten it: no record needs hundreds of levels",
        ) from exc


def encode_checked(value: Any) -> str:
    """Canonical text of a value that was already accepted as part of an encoded payload.

    Skips the type walk (projections re-encode parts of payloads that encode() just checked).
    """
    return _ENCODER.encode(value)


def decode(data: bytes) -> Any:
    """Parse canonical bytes back into Python values."""
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"not a canonical payload: {exc}") from exc
    except RecursionError as exc:
        raise InvalidInput("not a canonical payload: arrays or objects nested too deeply") from exc


def format_time(moment: datetime) -> str:
    """Spell an aware datetime as the RFC 3339 UTC string payloads carry."""
    if moment.tzinfo is None:
        raise InvalidInput("naive datetime: times must carry a time zone")
    # isoformat, not strftime: strftime("%Y") does not pad years before 1000 to four digits.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_time(text: str) -> datetime:
    """Read back a time written by :func:`format_time`."""
    try:
        # strptime alone is lenient (one-digit fields, short fractions, a lower-case "z",
        # non-ASCII digits): the pattern keeps one spelling per instant.
        if not _TIME.fullmatch(text):
            raise ValueError("not the one canonical spelling")
        moment = datetime.fromisoformat(text[:-1])  # the pattern held: the same reading
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"bad time {text!r}: expected RFC 3339 UTC like 2026-01-31T12:00:00.000000Z"
        ) from exc
    return moment.replace(tzinfo=UTC)
