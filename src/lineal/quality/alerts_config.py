"""The ``[alerts]`` table of `lineal.toml`: where findings are sent, and how hard to try.

    [alerts]
    command = "notify-send lineal"            # run with the alert's JSON on stdin
    webhook = "https://hooks.example.com/x"   # the alert's JSON POSTed to it
    kinds = ["policy", "drift"]               # which findings alert (default: every kind)
    tries = 5                                 # give an alert up after this many failures
    backoff = 2.0                             # seconds before the second try, doubling
    timeout = 10.0                            # seconds one try may take

Pure parsing with one clear error per bad key; never reads the store.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal.errors import InvalidInput

if TYPE_CHECKING:
    from lineal.workspace import Workspace

#: The kinds of finding that can alert.
KINDS = ("validation", "leakage", "drift", "policy")
_KEYS = ("command", "webhook", "kinds", "tries", "backoff", "timeout")


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    """Where alerts go (a command, a webhook or both) and how each is retried."""

    command: tuple[str, ...] | None = None
    webhook: str | None = None
    kinds: tuple[str, ...] = KINDS
    tries: int = 5
    backoff: float = 2.0
    timeout: float = 10.0

    @property
    def sinks(self) -> tuple[str, ...]:
        """``command`` and/or ``webhook``: the receivers this table names."""
        return tuple(
            name for name, value in (("command", self.command), ("webhook", self.webhook)) if value
        )


def _bad(key: str, message: str, path: Path | None) -> InvalidInput:
    shown = str(path) if path else "lineal.toml"
    return InvalidInput(
        f"{shown}: bad [alerts] {key}: {message}",
        hint="see `Alerts` in docs/quality.md for the [alerts] table",
    )


def _number(body: Mapping[str, Any], key: str, default: float, path: Path | None) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(key, f"expected a number, not {value!r}", path)
    if not 0 <= value <= 3600:
        raise _bad(key, f"expected seconds between 0 and 3600, not {value!r}", path)
    return float(value)


def parse(document: Mapping[str, Any], path: Path | None = None) -> AlertsConfig | None:
    """The ``[alerts]`` table of a decoded `lineal.toml` (None when it has none)."""
    if "alerts" not in document:
        return None
    body = document["alerts"]
    if not isinstance(body, Mapping):
        raise _bad("table", f"expected a table, not {body!r}", path)
    if extra := sorted(set(body) - set(_KEYS)):
        raise _bad("table", f"unknown keys {extra}; expected {', '.join(_KEYS)}", path)
    command = body.get("command")
    if command is not None:
        if not isinstance(command, str) or not command.strip():
            raise _bad("command", f"expected a command line, not {command!r}", path)
        try:
            command = tuple(shlex.split(command))
        except ValueError as exc:
            raise _bad("command", f"{command!r} does not parse: {exc}", path) from None
    webhook = body.get("webhook")
    if webhook is not None and (
        not isinstance(webhook, str) or not webhook.startswith(("http://", "https://"))
    ):
        raise _bad("webhook", f"{webhook!r} is not an http:// or https:// URL", path)
    if command is None and webhook is None:
        raise _bad("table", "give a command, a webhook or both", path)
    kinds = body.get("kinds", list(KINDS))
    if not isinstance(kinds, list) or not kinds or any(k not in KINDS for k in kinds):
        raise _bad("kinds", f"expected a list of {', '.join(KINDS)}, not {kinds!r}", path)
    tries = body.get("tries", 5)
    if isinstance(tries, bool) or not isinstance(tries, int) or not 1 <= tries <= 100:
        raise _bad("tries", f"expected a count from 1 to 100, not {tries!r}", path)
    timeout = _number(body, "timeout", 10.0, path)
    if timeout == 0:
        raise _bad("timeout", "expected more than 0 seconds", path)
    return AlertsConfig(
        command=command,
        webhook=webhook,
        kinds=tuple(dict.fromkeys(kinds)),
        tries=tries,
        backoff=_number(body, "backoff", 2.0, path),
        timeout=timeout,
    )


def load(found: Workspace | None) -> AlertsConfig | None:
    """The alerts settings of the workspace's `lineal.toml` (None: no alerts)."""
    if found is None or found.root is None:
        return None
    path, document = found.project_config()
    return parse(document, path)


def read(path: Path) -> AlertsConfig:
    """The ``[alerts]`` table of the TOML file at ``path`` (`lineal server --alerts FILE`; a
    project's `lineal.toml` will do); InvalidInput, one line, for a file that is missing, not
    TOML, or has no such table."""
    import tomllib

    hint = "see `Alerts` in docs/quality.md for the [alerts] table"
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}", hint=hint) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path} is not TOML: {exc}", hint=hint) from None
    found = parse(document, path)
    if found is None:
        raise InvalidInput(f"{path} has no [alerts] table", hint=hint)
    return found
