"""The run filter language: its syntax tree, the parser and the canonical printer.

Pure text in, tree out (and back); never touches a database (filters_sql compiles a tree to SQL).

    metrics.mAP >= 0.8 and params.lr = 0.01 and status = finished and uses(dataset/coco-synth@v3)
    name ~ "train-*" and (duration < 3600 or not tags.stage = dev) and started >= 2026-11-01

Grammar (keywords ``and or not true false null uses generated`` in any case; ``not`` binds
tighter than ``and``, which binds tighter than ``or``)::

    expr    := and ("or" and)*          and  := unary ("and" unary)*
    unary   := "not" unary | "(" expr ")" | call | FIELD OP VALUE
    call    := ("uses" | "generated") "(" REF ["," ROLE] ")"
    FIELD   := ("metrics" | "params" | "tags") "." (KEY | STRING) | id | name | status | author
               | started | ended | duration
    OP      := "=" | "!=" | "<" | "<=" | ">" | ">=" | "~"      (~ is a glob: * and ?)
    VALUE   := NUMBER | STRING | true | false | null | BARE   (a bare word is that string)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeAlias

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
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1

Value: TypeAlias = str | int | float | bool | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Field:
    """``metrics.KEY``, ``params.KEY``, ``tags.KEY`` (scope set) or a run column (scope None)."""

    scope: str | None
    name: str

    def __post_init__(self) -> None:
        if self.scope is None and self.name not in COLUMNS:
            raise InvalidInput(f"unknown run column {self.name!r}: expected {', '.join(COLUMNS)}")
        if self.scope is not None and self.scope not in SCOPES:
            raise InvalidInput(f"unknown scope {self.scope!r}: expected {', '.join(SCOPES)}")
        if not isinstance(self.name, str) or not self.name:
            raise InvalidInput(f"empty {self.scope} key: name the {self.scope} entry")


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


def _format_field(field: Field) -> str:
    if field.scope is None:
        return field.name
    return f"{field.scope}.{field.name if _KEY.fullmatch(field.name) else _quote(field.name)}"


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
    return _Parser(text).parse()


class _Parser:
    """Recursive descent over the text itself: keys, bare words and references each have their
    own character set, so there is no context-free token stream to split first."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, expected: str, at: int | None = None) -> InvalidInput:
        column = (self.pos if at is None else at) + 1
        return InvalidInput(
            f"syntax error at column {column} in {self.text!r}: {expected}",
            hint=f"a valid filter looks like: {EXAMPLE}",
        )

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek_word(self) -> str:
        self.skip()
        match = _WORD.match(self.text, self.pos)
        return match.group().lower() if match else ""

    def take(self, char: str) -> bool:
        self.skip()
        found = self.text.startswith(char, self.pos)
        self.pos += len(char) if found else 0
        return found

    def parse(self) -> Expr:
        self.skip()
        if self.pos == len(self.text):
            raise self.fail("empty filter: expected a condition")
        expr = self.expr()
        self.skip()
        if self.pos < len(self.text):
            raise self.fail("expected 'and', 'or' or the end of the filter")
        return expr

    def expr(self) -> Expr:
        return self.chain("or", lambda: self.chain("and", self.unary, And), Or)

    def chain(self, word: str, item: Callable[[], Expr], kind: type[And] | type[Or]) -> Expr:
        items = [item()]
        while self.peek_word() == word:
            self.pos += len(word)
            items.append(item())
        return items[0] if len(items) == 1 else kind(items=tuple(items))

    def unary(self) -> Expr:
        word = self.peek_word()
        if word == "not":
            self.pos += 3
            return Not(item=self.unary())
        start = self.pos
        if self.take("("):
            expr = self.expr()
            if not self.take(")"):
                raise self.fail(f"expected ')' to close the '(' at column {start + 1}")
            return expr
        if word in ("uses", "generated"):
            self.pos += len(word)
            if self.take("("):
                return self.call(word)
            self.pos = start
        if self.pos == len(self.text) or word in ("and", "or"):
            head = self.text[:start].rstrip()
            before = head[-1:] if head.endswith("(") else (head.split() or [""])[-1].lower()
            self.fail_condition(f" after '{before}'" if before else "")
        return self.compare()

    def fail_condition(self, where: str) -> NoReturn:
        raise self.fail(
            f"expected a condition (FIELD OP VALUE, uses(REF) or generated(REF)){where}"
        )

    def call(self, word: str) -> Expr:
        self.skip()
        ref_at = self.pos
        ref = self.word_or_string(_REF, f"a reference like dataset/coco-synth@v3 after '{word}('")
        try:
            refs.parse(ref)
        except InvalidInput as exc:
            raise self.fail(exc.message, at=ref_at) from None
        role = (
            self.word_or_string(_BARE, f"a role after '{word}({ref},'") if self.take(",") else None
        )
        if not self.take(")"):
            raise self.fail(f"expected ',' or ')' after '{word}({ref}'")
        return Uses(ref=ref, role=role) if word == "uses" else Generated(ref=ref, role=role)

    def word_or_string(self, pattern: re.Pattern[str], expected: str) -> str:
        self.skip()
        if self.text.startswith(('"', "'"), self.pos):
            return self.string()
        match = pattern.match(self.text, self.pos)
        if not match:
            raise self.fail(f"expected {expected}")
        self.pos = match.end()
        return match.group()

    def compare(self) -> Expr:
        field = self.field()
        shown = _format_field(field)
        self.skip()
        op = next((op for op in _SCAN_OPS if self.text.startswith(op, self.pos)), None)
        if op is None:
            raise self.fail(f"expected an operator ({' '.join(OPERATORS)}) after '{shown}'")
        self.pos += len(op)
        if op == "=" and self.text.startswith("=", self.pos):
            raise self.fail("expected a value after '=' (write '=', not '==')")
        self.skip()
        value_at = self.pos
        value = self.value(op)
        problem = _compare_problem(field, op, value)
        if problem:
            raise self.fail(problem, at=value_at)
        return Compare(field=field, op=op, value=value)

    def field(self) -> Field:
        start = self.pos
        match = _WORD.match(self.text, start)
        word = match.group().lower() if match else ""
        if word in SCOPES:
            self.pos = start + len(word)
            if not self.take("."):
                raise self.fail(f"expected '.' and a key after '{word}', e.g. {word}.loss")
            self.skip()
            key_at, key = self.pos, self.word_or_string(_KEY, f"a key after '{word}.'")
            if not key:
                raise self.fail(f"expected a non-empty {word} key", at=key_at)
            return Field(scope=word, name=key)
        token = _KEY.match(self.text, start)
        if token is None:
            self.fail_condition("")
        if token.group().lower() not in COLUMNS:
            known = f"metrics.KEY, params.KEY, tags.KEY or one of {', '.join(COLUMNS)}"
            raise self.fail(f"unknown field '{token.group()}': expected {known}", at=start)
        self.pos = token.end()
        return Field(scope=None, name=token.group().lower())

    def value(self, op: str) -> Value:
        if self.text.startswith(('"', "'"), self.pos):
            return self.string()
        match = _RUN.match(self.text, self.pos)
        word = match.group() if match else ""
        if not word or word.lower() in _CONNECTIVES:
            raise self.fail(f"expected a value after '{op}'")
        if _NUMBER.fullmatch(word):
            number: int | float = float(word) if any(c in word for c in ".eE") else int(word)
            self.pos += len(word)
            return number
        if not _BARE.fullmatch(word):
            raise self.fail(f"expected a value after '{op}': quote {word!r} to mean a string")
        self.pos += len(word)
        return _LITERALS.get(word.lower(), word)

    def string(self) -> str:
        quote, start = self.text[self.pos], self.pos
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == quote:
                self.pos += 1
                return "".join(out)
            if char == "\\":
                char = self.text[self.pos + 1 : self.pos + 2]
                if char not in ("\\", '"', "'"):
                    raise self.fail("expected \\\\, \\\" or \\' after a backslash")
                self.pos += 1
            out.append(char)
            self.pos += 1
        raise self.fail(f"unterminated string: expected a closing {quote}", at=start)


def compile_where(
    expr: Expr, *, resolve: Callable[[str], list[str]], status_sql: str = "r.status"
) -> tuple[str, list[Any]]:
    """A SQL condition over ``runs r`` for ``expr`` (see :mod:`lineal.tracking.filters_sql`)."""
    from lineal.tracking import filters_sql  # the compiler imports this module's tree

    return filters_sql.compile_where(expr, resolve=resolve, status_sql=status_sql)
