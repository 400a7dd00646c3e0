"""The run filter language: its syntax tree, the parser and the canonical printer.

Pure text in, tree out (and back); never touches a database (a store compiles the tree:
lineal.store.sql.filters for SQL).

    metrics.mAP >= 0.8 and params.lr = 0.01 and status = finished and uses(dataset/coco-synth@v3)
    name ~ "train-*" and (duration < 3600 or not tags.stage = dev) and started >= 2026-11-01
    metrics.mAP@10 >= 0.8 and metrics.loss@10 < 0.5         (the values logged at step 10)

Grammar (keywords ``and or not true false null uses generated`` in any case; ``not`` binds
tighter than ``and``, which binds tighter than ``or``)::

    expr    := and ("or" and)*          and  := unary ("and" unary)*
    unary   := "not" unary | "(" expr ")" | call | FIELD OP VALUE
    call    := ("uses" | "generated") "(" REF ["," ROLE] ")"
    FIELD   := "metrics" "." (KEY | STRING) ["@" STEP] | ("params" | "tags") "." (KEY | STRING)
               | id | name | status | author | started | ended | duration
    STEP    := an integer (64-bit), written right after the key: metrics.mAP@10
    OP      := "=" | "!=" | "<" | "<=" | ">" | ">=" | "~"      (~ is a glob: * and ?)
    VALUE   := NUMBER | STRING | true | false | null | BARE   (a bare word is that string)
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeAlias

from lineal.errors import InvalidInput
from lineal.model import refs

SCOPES = ("metrics", "params", "tags")
COLUMNS = ("id", "name", "status", "author", "started", "ended", "duration")
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "~")
EXAMPLE = 'metrics.mAP >= 0.8 and status = finished and (params.optimizer = adam or name ~ "t-*")'

_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./:-]*")
_BARE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/+-]*")
_RUN = re.compile(r"[A-Za-z0-9_.:/+-]+")  # a value's extent; numbers may start with - or .
_NUMBER = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SCAN_OPS = ("<=", ">=", "!=", "=", "<", ">", "~")  # longest first
_CONNECTIVES = ("and", "or", "not")
_LITERALS = {"true": True, "false": False, "null": None}
_REF = re.compile(r"[^\s,()\"']+")  # a bare reference: up to a comma or parenthesis
_STEP = re.compile(r"-?[0-9]+")
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1

Value: TypeAlias = str | int | float | bool | None


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Field:
    """``metrics.KEY``, ``params.KEY``, ``tags.KEY`` (scope set) or a run column (scope None).

    ``step`` (metrics only: ``metrics.KEY@STEP``) means the value logged at that step instead
    of the latest one.
    """

    scope: str | None
    name: str
    step: int | None = None

    def __post_init__(self) -> None:
        if self.scope is None and self.name not in COLUMNS:
            raise InvalidInput(f"unknown run column {self.name!r}: expected {', '.join(COLUMNS)}")
        if self.scope is not None and self.scope not in SCOPES:
            raise InvalidInput(f"unknown scope {self.scope!r}: expected {', '.join(SCOPES)}")
        if not isinstance(self.name, str) or not self.name:
            raise InvalidInput(f"empty {self.scope} key: name the {self.scope} entry")
        if self.step is not None:
            problem = step_problem(self.step)
            if self.scope != "metrics":
                problem = f"only metrics have steps: {self.scope or self.name} takes no '@STEP'"
            if problem:
                raise InvalidInput(problem, hint="e.g. metrics.mAP@10 >= 0.8")


def step_problem(step: object) -> str | None:
    """Why ``step`` is not a metric step (a 64-bit integer), or None when it is one."""
    if isinstance(step, bool) or not isinstance(step, int):
        return f"bad step {step!r}: expected an integer"
    if not _INT_MIN <= step <= _INT_MAX:
        return f"step {step} does not fit in 64 bits"
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Compare:
    """``FIELD OP VALUE``; the value's type says how it compares (see filters_sql)."""

    field: Field
    op: str
    value: Value

    def __post_init__(self) -> None:
        problem = _compare_problem(self.field, self.op, self.value)
        if problem:
            raise InvalidInput(problem, hint=f"example: {EXAMPLE}")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Call:
    ref: str  # the text of a reference (lineal.model.refs); the compiler's resolve() reads it
    role: str | None = None

    def __post_init__(self) -> None:
        refs.parse(self.ref)  # raises InvalidInput saying what a reference looks like
        if self.role is not None and not isinstance(self.role, str):
            raise InvalidInput(f"bad role {self.role!r}: expected a string")


@dataclass(frozen=True, slots=True, kw_only=True)
class Uses(_Call):
    """The run used an artifact the reference names (in ``role``, if given)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Generated(_Call):
    """The run generated an artifact the reference names (in ``role``, if given)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Junction:
    items: tuple[Expr, ...]

    def __post_init__(self) -> None:
        flat: list[Expr] = []
        for item in self.items:
            if not isinstance(item, Expr):
                raise InvalidInput(f"bad {type(self).__name__} item {item!r}: expected a filter")
            flat.extend(item.items if isinstance(item, type(self)) else (item,))
        if len(flat) < 2:
            raise InvalidInput(f"{type(self).__name__} needs at least two items, got {len(flat)}")
        object.__setattr__(self, "items", tuple(flat))


@dataclass(frozen=True, slots=True, kw_only=True)
class And(_Junction):
    """Every item holds. Nested ``And`` items are flattened; at least two items remain."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Or(_Junction):
    """Some item holds. Nested ``Or`` items are flattened; at least two items remain."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Not:
    """The item does not hold."""

    item: Expr

    def __post_init__(self) -> None:
        if not isinstance(self.item, Expr):
            raise InvalidInput(f"bad Not item {self.item!r}: expected a filter")


Expr: TypeAlias = Compare | Uses | Generated | And | Or | Not


def _compare_problem(field: Field, op: str, value: Value) -> str | None:  # noqa: PLR0911
    """Why ``field op value`` is not a valid comparison, or None when it is."""
    if op not in OPERATORS:
        return f"unknown operator {op!r}: expected one of {' '.join(OPERATORS)}"
    if not isinstance(value, str | int | float | bool | type(None)):
        return f"bad value {value!r}: expected a number, a string, true, false or null"
    if isinstance(value, float) and not math.isfinite(value):
        return "number out of range"
    if isinstance(value, int) and not isinstance(value, bool) and not _INT_MIN <= value <= _INT_MAX:
        return f"integer {value} does not fit in 64 bits"
    shown = _format_field(field)
    if op == "~" and not isinstance(value, str):
        return f"'~' matches strings only: quote the pattern, e.g. {shown} ~ \"train-*\""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    numeric = field.scope == "metrics" or (field.scope, field.name) == (None, "duration")
    if numeric and (op == "~" or not (number or (value is None and field.scope is None))):
        expected = "=, !=, <, <=, > or >=" if op == "~" else f"a number after '{op}'"
        return f"{shown} holds numbers: expected {expected}"
    if op not in ("=", "!=", "~") and (value is None or isinstance(value, bool)):
        return f"{_format_value(value)} compares only with = and !=, not '{op}'"
    return None


def format(expr: Expr) -> str:
    """The canonical text of ``expr``: minimal parentheses, strings quoted only when needed."""
    return _format(expr, 1)


def _format(expr: Expr, need: int) -> str:
    if isinstance(expr, Or | And):
        word, inner = (" or ", 2) if isinstance(expr, Or) else (" and ", 3)
        text = word.join(_format(item, inner) for item in expr.items)
    elif isinstance(expr, Not):
        text = "not " + _format(expr.item, 3)
    elif isinstance(expr, Compare):
        text = f"{_format_field(expr.field)} {expr.op} {_format_value(expr.value)}"
    else:
        args = expr.ref if _REF.fullmatch(expr.ref) else _quote(expr.ref)
        if expr.role is not None:
            args += ", " + (expr.role if _BARE.fullmatch(expr.role) else _quote(expr.role))
        text = f"{'uses' if isinstance(expr, Uses) else 'generated'}({args})"
    level = 1 if isinstance(expr, Or) else 2 if isinstance(expr, And) else 3
    return f"({text})" if level < need else text


def format_field(field: Field) -> str:
    """The canonical text of a field: ``metrics.mAP@10``, ``params."odd key"``, ``status``."""
    return _format_field(field)


def _format_field(field: Field) -> str:
    if field.scope is None:
        return field.name
    key = field.name if _KEY.fullmatch(field.name) else _quote(field.name)
    return f"{field.scope}.{key}" + ("" if field.step is None else f"@{field.step}")


def _format_value(value: Value) -> str:
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int | float):
        return repr(value)
    if _BARE.fullmatch(value) and not _NUMBER.fullmatch(value) and not _reserved(value):
        return value
    return _quote(value)


def _reserved(word: str) -> bool:
    return word.lower() in _CONNECTIVES or word.lower() in _LITERALS


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse(text: str) -> Expr:
    """Parse a filter, or raise one InvalidInput naming the column and what was expected."""
    if not isinstance(text, str):
        raise InvalidInput(f"bad filter {text!r}: expected a string", hint=f"example: {EXAMPLE}")
    from lineal.model.filters_parse import Parser  # the parser imports this module's tree

    return Parser(text).parse()


def leaves(expr: Expr) -> Iterator[Compare | Uses | Generated]:
    """Every comparison and call of ``expr``, left to right."""
    if isinstance(expr, And | Or):
        for item in expr.items:
            yield from leaves(item)
    elif isinstance(expr, Not):
        yield from leaves(expr.item)
    else:
        yield expr


def step_fields(expr: Expr) -> list[Field]:
    """The distinct ``metrics.KEY@STEP`` fields of ``expr``, in order of appearance."""
    found = (leaf.field for leaf in leaves(expr) if isinstance(leaf, Compare))
    return list(dict.fromkeys(field for field in found if field.step is not None))


#: At most this many distinct ``metrics.KEY@STEP`` fields in one filter: each is one query
#: over the filter's runs, so the work grows with their number times the filter's length.
MAX_STEP_FIELDS = 256


def check_step_fields(expr: Expr) -> list[Field]:
    """``expr``'s step fields, or InvalidInput when it names more than a store answers."""
    fields = step_fields(expr)
    if len(fields) > MAX_STEP_FIELDS:
        raise InvalidInput(
            f"filter names {len(fields)} metrics at a step; at most {MAX_STEP_FIELDS}",
            hint="ask about fewer steps at once (metrics.KEY@STEP), or filter on the latest "
            "values (metrics.KEY)",
        )
    return fields


def evaluate(
    expr: Expr,
    universe: set[str],
    at_step: Mapping[Field, Mapping[str, float]],
    ids: Callable[[Expr], set[str]],
) -> set[str]:
    """The candidates ``expr`` holds for: step comparisons from the values read (``at_step``:
    run id to value, per field), step-free parts (grouped per junction) from ``ids``."""
    if not step_fields(expr):
        return ids(expr)
    if isinstance(expr, Not):
        return universe - evaluate(expr.item, universe, at_step, ids)
    if isinstance(expr, And | Or):
        plain = [item for item in expr.items if not step_fields(item)]
        parts = [evaluate(i, universe, at_step, ids) for i in expr.items if step_fields(i)]
        if plain:
            parts.append(ids(plain[0] if len(plain) == 1 else type(expr)(items=tuple(plain))))
        if isinstance(expr, And):
            return set.intersection(*parts)
        return set.union(*parts)
    assert isinstance(expr, Compare)  # noqa: S101 - only comparisons have steps
    target, holds = float(expr.value), _COMPARE[expr.op]  # type: ignore[arg-type]
    return {run for run, value in at_step[expr.field].items() if holds(value, target)}
