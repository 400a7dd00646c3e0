"""The run filter language's parser: text to the tree of lineal.model.filters.

Pure text in, tree out; never touches a database. Every error is one InvalidInput that names
the column where the text stopped making sense and what was expected there.
"""

from __future__ import annotations

import re
from typing import NoReturn

from lineal.errors import InvalidInput
from lineal.model import refs
from lineal.model.filters import (
    _BARE,
    _CONNECTIVES,
    _KEY,
    _LITERALS,
    _NUMBER,
    _REF,
    _RUN,
    _SCAN_OPS,
    _STEP,
    _WORD,
    COLUMNS,
    EXAMPLE,
    OPERATORS,
    SCOPES,
    And,
    Compare,
    Expr,
    Field,
    Generated,
    Not,
    Or,
    Uses,
    Value,
    _compare_problem,
    _format_field,
    step_problem,
)

_STEP_TAIL = re.compile(r"[A-Za-z0-9_.]")  # what may not follow a step's digits
#: The deepest nesting of parentheses and 'not's a filter may have (Python allows 200
#: nested parentheses too); it bounds the parser's recursion and the SQL expression's depth.
MAX_NESTING = 200


class Parser:
    """Recursive descent over the text itself: keys, bare words and references each have their
    own character set, so there is no context-free token stream to split first."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0  # open parentheses and 'not's around the current position

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
        # Chains are loops, not recursion: a flat `a and b and …` of any length parses.
        items = [self.conjunction()]
        while self.peek_word() == "or":
            self.pos += 2
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Or(items=tuple(items))

    def conjunction(self) -> Expr:
        items = [self.unary()]
        while self.peek_word() == "and":
            self.pos += 3
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(items=tuple(items))

    def deeper(self, at: int) -> None:
        """One more level of nesting (a '(' or a 'not' at ``at``), within MAX_NESTING."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise InvalidInput(
                f"filter nests deeper than {MAX_NESTING} parentheses and 'not's "
                f"(at column {at + 1})",
                hint="write it flatter: `not (a or b)` is `not a and not b`, "
                "and `not not a` is `a`",
            )

    def unary(self) -> Expr:
        nots = 0  # `not not … x` is read in a loop, so only the depth limit bounds it
        while self.peek_word() == "not":
            self.deeper(self.pos)
            self.pos += 3
            nots += 1
        expr = self.operand()
        for _ in range(nots):
            expr = Not(item=expr)
        self.depth -= nots
        return expr

    def operand(self) -> Expr:
        word = self.peek_word()
        start = self.pos
        if self.take("("):
            self.deeper(start)
            expr = self.expr()
            if not self.take(")"):
                raise self.fail(f"expected ')' to close the '(' at column {start + 1}")
            self.depth -= 1
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
            step = self.step(word, start)
            return Field(scope=word, name=key, step=step)
        token = _KEY.match(self.text, start)
        if token is None:
            self.fail_condition("")
        if token.group().lower() not in COLUMNS:
            known = f"metrics.KEY, params.KEY, tags.KEY or one of {', '.join(COLUMNS)}"
            raise self.fail(f"unknown field '{token.group()}': expected {known}", at=start)
        self.pos = token.end()
        self.step(None, start)  # refuses one: a run column has no steps
        return Field(scope=None, name=token.group().lower())

    def step(self, scope: str | None, start: int) -> int | None:
        """The ``@STEP`` written right after a metrics key, or None; refused after a field
        that is not a metric (``start`` is where that field began)."""
        at = self.pos
        if not self.text.startswith("@", at):
            return None
        if scope != "metrics":
            shown = self.text[start:at].strip()
            raise self.fail(f"only metrics have steps: '{shown}' takes no '@STEP'", at=at)
        match = _STEP.match(self.text, at + 1)
        after = match.end() if match else at + 1
        if match is None or _STEP_TAIL.match(self.text, after):
            raise self.fail("expected an integer step after '@', e.g. metrics.mAP@10", at=at + 1)
        step = int(match.group())
        problem = step_problem(step)
        if problem:
            raise self.fail(problem, at=at + 1)
        self.pos = after
        return step

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
