"""The order of a runs listing (``lineal runs --sort``, ``GET …/runs?sort=``).

``created`` (the run's start), a run column (``name``, ``status``, ``author``, ``started``,
``ended``, ``duration``, ``id``) or ``metrics.KEY``, ``params.KEY``, ``tags.KEY``; a leading
``-`` sorts descending. Runs without the value come last either way, and ties keep the
listing's own order, newest first. No order at all is ``-created``: newest first.
"""

from __future__ import annotations

from dataclasses import dataclass

from lineal.errors import InvalidInput
from lineal.model.filters import COLUMNS, SCOPES, Field

#: What ``created`` stands for: a run is created when it starts.
_ALIASES = {"created": "started"}
EXAMPLE = "-metrics.acc"


@dataclass(frozen=True, slots=True)
class RunOrder:
    """Sort runs by ``field`` (a run column or a scoped key), descending or not."""

    field: Field
    descending: bool

    def __str__(self) -> str:
        name = (
            self.field.name if self.field.scope is None else f"{self.field.scope}.{self.field.name}"
        )
        return f"{'-' if self.descending else ''}{name}"


NEWEST_FIRST = RunOrder(Field(scope=None, name="started"), descending=True)


def parse_order(text: str | None) -> RunOrder:
    """The order ``text`` names (None or empty: newest first)."""
    if text is None or not text.strip():
        return NEWEST_FIRST
    spelled = text.strip()
    descending = spelled.startswith("-")
    name = spelled[1:] if descending or spelled.startswith("+") else spelled
    scope, dot, key = name.partition(".")
    hint = (
        f"e.g. {EXAMPLE}, params.lr, created or -duration: a run column "
        f"({', '.join(('created', *COLUMNS))}) or {', '.join(s + '.KEY' for s in SCOPES)}"
    )
    if dot and scope in SCOPES:
        if not key:
            raise InvalidInput(f"bad sort {text!r}: no {scope} key", hint=hint)
        return RunOrder(Field(scope=scope, name=key), descending)
    column = _ALIASES.get(name, name)
    if dot or column not in COLUMNS:
        raise InvalidInput(f"bad sort {text!r}: not a run column or a scoped key", hint=hint)
    return RunOrder(Field(scope=None, name=column), descending)
