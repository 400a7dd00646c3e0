"""lineal.model.filters and filters_sql: the run filter language, parsed, printed and compiled.

The compiler is checked on real databases: an in-memory SQLite always, PostgreSQL 15 when marked.
"""

from __future__ import annotations

import os
import re
import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineal.errors import InvalidInput
from lineal.model.filters import (
    COLUMNS,
    OPERATORS,
    And,
    Compare,
    Expr,
    Field,
    Generated,
    Not,
    Or,
    Uses,
    Value,
    format,
    format_field,
    parse,
    step_fields,
)
from lineal.store.sql.filters import compile_where, like_pattern, stored_time

PG_ADMIN = os.environ.get("LINEAL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def cmp(field: str, op: str, value: Value, step: int | None = None) -> Compare:
    scope, dot, name = field.partition(".")
    return Compare(
        field=Field(scope=scope if dot else None, name=name if dot else field, step=step),
        op=op,
        value=value,
    )


# -- parsing ------------------------------------------------------------------------------------

EXAMPLES = [
    (
        "metrics.mAP >= 0.8 and params.lr = 0.01 and status = finished"
        " and uses(dataset/coco-synth@v3)",
        And(
            items=(
                cmp("metrics.mAP", ">=", 0.8),
                cmp("params.lr", "=", 0.01),
                cmp("status", "=", "finished"),
                Uses(ref="dataset/coco-synth@v3"),
            )
        ),
    ),
    (
        'status != failed and (params.optimizer = adam or params.optimizer = "sgd")'
        " and not tags.stage = dev",
        And(
            items=(
                cmp("status", "!=", "failed"),
                Or(
                    items=(
                        cmp("params.optimizer", "=", "adam"),
                        cmp("params.optimizer", "=", "sgd"),
                    )
                ),
                Not(item=cmp("tags.stage", "=", "dev")),
            )
        ),
    ),
    (
        'name ~ "train-*" and duration < 3600 and started >= 2026-11-01',
        And(
            items=(
                cmp("name", "~", "train-*"),
                cmp("duration", "<", 3600),
                cmp("started", ">=", "2026-11-01"),
            )
        ),
    ),
    (
        "generated(model/detector) or uses(dataset/coco-synth)",
        Or(items=(Generated(ref="model/detector"), Uses(ref="dataset/coco-synth"))),
    ),
    (
        "metrics.val/loss < 0.25 and params.model.depth >= 50",
        And(items=(cmp("metrics.val/loss", "<", 0.25), cmp("params.model.depth", ">=", 50))),
    ),
    (
        "metrics.mAP@10 >= 0.8 and not metrics.loss@-1 != 0.5 and uses(dataset/coco-synth)",
        And(
            items=(
                cmp("metrics.mAP", ">=", 0.8, step=10),
                Not(item=cmp("metrics.loss", "!=", 0.5, step=-1)),
                Uses(ref="dataset/coco-synth"),
            )
        ),
    ),
]


@pytest.mark.parametrize(("text", "expected"), EXAMPLES)
def test_the_examples_parse(text: str, expected: Expr) -> None:
    assert parse(text) == expected
    assert parse(format(expected)) == expected


def test_int_and_float_stay_apart() -> None:
    assert type(parse("params.epochs = 10").value) is int  # type: ignore[union-attr]
    assert type(parse("params.epochs = 10.0").value) is float  # type: ignore[union-attr]
    assert parse("params.x = true").value is True  # type: ignore[union-attr]
    assert format(parse("params.epochs = 10.0")) == "params.epochs = 10.0"


A, B, C = cmp("id", "=", "a"), cmp("id", "=", "b"), cmp("id", "=", "c")


@pytest.mark.parametrize(
    ("text", "expected", "canonical"),
    [
        ("id = a or id = b and id = c", Or(items=(A, And(items=(B, C)))), None),
        ("id = a and id = b or id = c", Or(items=(And(items=(A, B)), C)), None),
        ("(id = a or id = b) and id = c", And(items=(Or(items=(A, B)), C)), None),
        ("id = a and (id = b or id = c)", And(items=(A, Or(items=(B, C)))), None),
        ("not id = a and id = b", And(items=(Not(item=A), B)), None),
        ("not (id = a and id = b)", Not(item=And(items=(A, B))), None),
        ("not (id = a or id = b)", Not(item=Or(items=(A, B))), None),
        ("not not id = a", Not(item=Not(item=A)), None),
        ("((id = a))", A, "id = a"),
        ("(not id = a) and id = b", And(items=(Not(item=A), B)), "not id = a and id = b"),
        ("id = a and (id = b and id = c)", And(items=(A, B, C)), "id = a and id = b and id = c"),
        ("(id = a or id = b) or id = c", Or(items=(A, B, C)), "id = a or id = b or id = c"),
        (
            "(id = a and id = b) or id = c",
            Or(items=(And(items=(A, B)), C)),
            "id = a and id = b or id = c",
        ),
        ("id=a AND id=b", And(items=(A, B)), "id = a and id = b"),
    ],
)
def test_precedence_and_minimal_parentheses(
    text: str, expected: Expr, canonical: str | None
) -> None:
    assert parse(text) == expected
    assert format(expected) == (canonical or text)


def test_keywords_are_case_insensitive() -> None:
    text = "NOT Status = x AnD USES(dataset/a) Or GENERATED(model/m, best) oR params.p = TRUE"
    assert parse(text) == Or(
        items=(
            And(items=(Not(item=cmp("status", "=", "x")), Uses(ref="dataset/a"))),
            Generated(ref="model/m", role="best"),
            cmp("params.p", "=", True),
        )
    )
    assert parse("params.p = Null").value is None  # type: ignore[union-attr]
    assert parse("params.p = 'TRUE'").value == "TRUE"  # type: ignore[union-attr]


def test_quoted_keys_and_escaped_strings() -> None:
    expr = parse(r"""tags."odd key" = 'it\'s' and params.'a"b' = "say \"hi\" \\ done" """)
    assert expr == And(
        items=(
            cmp("tags.odd key", "=", "it's"),
            Compare(field=Field(scope="params", name='a"b'), op="=", value='say "hi" \\ done'),
        )
    )
    assert (
        format(expr)
        == r'tags."odd key" = "it' + "'" + r's" and params."a\"b" = "say \"hi\" \\ done"'
    )


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("-3", -3),
        ("-1.5e-3", -0.0015),
        ("2E10", 2e10),
        ("1e+16", 1e16),
        (".5", 0.5),
        ("-.5", -0.5),
        ("7.", 7.0),
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
    ],
)
def test_numbers(literal: str, value: float) -> None:
    parsed = parse(f"metrics.x > {literal}")
    assert isinstance(parsed, Compare)
    assert parsed.value == value
    assert type(parsed.value) is type(value)


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        ("finished", "finished"),
        ("2026-11-01T10:00:00+01:00", "2026-11-01T10:00:00+01:00"),
        ("10", '"10"'),
        ("1e5", '"1e5"'),
        ("and", '"and"'),
        ("NOT", '"NOT"'),
        ("true", '"true"'),
        ("null", '"null"'),
        ("", '""'),
        ("a b", '"a b"'),
        ("-x", '"-x"'),
        ('a"b\\', '"a\\"b\\\\"'),
    ],
)
def test_strings_are_quoted_only_when_a_bare_word_would_differ(value: str, printed: str) -> None:
    expr = cmp("tags.t", "=", value)
    assert format(expr) == f"tags.t = {printed}"
    assert parse(format(expr)) == expr


def test_calls_with_roles_and_quoted_references() -> None:
    assert parse("uses( 'dataset/x@sha256:9f2c1234' , \"train set\" )") == Uses(
        ref="dataset/x@sha256:9f2c1234", role="train set"
    )
    assert parse("uses(sha256:abcdef12, eval)") == Uses(ref="sha256:abcdef12", role="eval")
    assert parse("generated(model/detector:production)") == Generated(
        ref="model/detector:production"
    )
    expr = Generated(ref="run/01JD3XQ4M5N6P7Q8R9S0T1V2W3", role="a b")
    assert format(expr) == 'generated(run/01JD3XQ4M5N6P7Q8R9S0T1V2W3, "a b")'


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column", "says"),
    [
        ("metrics.mAP >= ", 16, "expected a value after '>='"),
        ("metrics.mAP >= and x", 16, "expected a value after '>='"),
        ("status = finished and", 22, "expected a condition"),
        ("status = finished and or x = 1", 23, "after 'and'"),
        ("(status = x", 12, "expected ')' to close the '(' at column 1"),
        ("status = x)", 11, "expected 'and', 'or' or the end"),
        ("foo = 1", 1, "unknown field 'foo'"),
        ("status = a and Foo.bar = 1", 16, "unknown field 'Foo.bar'"),
        ("name ~ 3", 8, "'~' matches strings only"),
        ("name ~ null", 8, "'~' matches strings only"),
        ("uses(", 6, "expected a reference"),
        ("uses(datset/x)", 6, "did you mean 'dataset'"),
        ("uses(dataset/x y)", 16, "expected ',' or ')'"),
        ("uses(dataset/x,)", 16, "expected a role"),
        ("metrics.loss = abc", 16, "metrics.loss holds numbers: expected a number after '='"),
        ("metrics.loss = 'abc'", 16, "expected a number"),
        ("metrics.loss ~ 'a*'", 16, "expected =, !=, <, <=, > or >="),
        ("duration ~ '1*'", 12, "duration holds numbers: expected =, !="),
        ("", 1, "empty filter"),
        ("   ", 4, "empty filter"),
        ("status == x", 9, "not '=='"),
        ("status x", 8, "expected an operator"),
        ("status = 'abc", 10, "unterminated string"),
        ('status = "a\\n"', 12, "after a backslash"),
        ("not", 4, "after 'not'"),
        ("metrics = 1", 9, "expected '.' and a key"),
        ("metrics.", 9, "expected a key"),
        ("tags.'' = 1", 6, "non-empty tags key"),
        ("params.x < true", 12, "true compares only with = and !="),
        ("duration < abc", 12, "duration holds numbers"),
        ("duration < null", 12, "null compares only with = and !="),
        ("metrics.x = 1e999", 13, "out of range"),
        ("params.x = 99999999999999999999", 12, "does not fit in 64 bits"),
        ("status = -abc", 10, "quote '-abc'"),
        ("status = x and ()", 17, "expected a condition"),
        ("metrics.loss@x < 0.5", 14, "expected an integer step after '@'"),
        ("metrics.loss@ < 0.5", 14, "expected an integer step after '@'"),
        ("metrics.loss@3.5 < 0.5", 14, "expected an integer step after '@'"),
        ("metrics.loss@3x < 0.5", 14, "expected an integer step after '@'"),
        ("metrics.loss@99999999999999999999 < 1", 14, "step 99999999999999999999 does not fit"),
        ("params.lr@3 = 1", 10, "only metrics have steps: 'params.lr' takes no '@STEP'"),
        ("tags.'a b'@3 = 1", 11, "only metrics have steps"),
        ("duration@3 < 1", 9, "only metrics have steps: 'duration'"),
        ("metrics.loss@3 ~ 'a*'", 18, "metrics.loss@3 holds numbers"),
        ("metrics.loss @3 < 1", 14, "expected an operator"),
    ],
)
def test_errors_name_the_column(text: str, column: int, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(text)
    message = caught.value.message
    assert message.startswith(f"syntax error at column {column} in {text!r}: "), message
    assert says in message
    assert "\n" not in message
    assert caught.value.hint
    assert "metrics.mAP >= 0.8" in caught.value.hint
    parse(caught.value.hint.split(": ", 1)[1])  # the example in the hint is itself valid


@pytest.mark.parametrize(
    "build",
    [
        lambda: Field(scope=None, name="foo"),
        lambda: Field(scope="metric", name="x"),
        lambda: Field(scope="tags", name=""),
        lambda: cmp("metrics.x", "=", "a"),
        lambda: cmp("name", "~", 1),
        lambda: cmp("name", "==", "a"),
        lambda: cmp("params.x", "<", None),
        lambda: cmp("params.x", "=", float("nan")),
        lambda: cmp("params.x", "=", 2**64),
        lambda: And(items=(cmp("name", "=", "a"),)),
        lambda: Or(items=()),
        lambda: Not(item="status = x"),  # type: ignore[arg-type]
        lambda: Uses(ref="datset/x"),
        lambda: Field(scope="params", name="x", step=1),
        lambda: Field(scope=None, name="duration", step=1),
        lambda: Field(scope="metrics", name="x", step=True),
        lambda: Field(scope="metrics", name="x", step=2**63),
        lambda: Field(scope="metrics", name="x", step=1.0),  # type: ignore[arg-type]
        lambda: cmp("metrics.x", "=", "a", step=3),
    ],
)
def test_trees_refuse_what_the_parser_refuses(build: Any) -> None:
    with pytest.raises(InvalidInput):
        build()


def test_nested_junctions_are_flattened() -> None:
    assert And(items=(A, And(items=(B, C)))) == And(items=(A, B, C))
    assert Or(items=(Or(items=(A, B)), And(items=(B, C)))).items[:2] == (A, B)


# -- round trips (Hypothesis) ---------------------------------------------------------------------

BARE = r"[A-Za-z0-9_][A-Za-z0-9_.:/+-]{0,12}"
keys = st.one_of(
    st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_./:-]{0,10}", fullmatch=True),
    st.text(min_size=1, max_size=8),
)
strings = st.one_of(
    st.text(max_size=10),
    st.from_regex(BARE, fullmatch=True),
    st.sampled_from(["and", "OR", "Not", "true", "NULL", "10", "-1.5e3", "2026-11-01", "", " "]),
)
numbers = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)
literals = st.one_of(strings, numbers, st.booleans(), st.none())
ref_texts = st.one_of(
    st.from_regex(r"(dataset|model|code|scene)/[A-Za-z0-9][A-Za-z0-9._-]{0,15}", fullmatch=True),
    st.from_regex(r"dataset/[A-Za-z0-9][A-Za-z0-9._-]{0,8}@v[1-9][0-9]{0,3}", fullmatch=True),
    st.from_regex(r"model/[a-z0-9]{1,8}:[A-Za-z][A-Za-z0-9_-]{0,8}", fullmatch=True),
    st.from_regex(r"(dataset/x@)?sha256:[0-9a-f]{8,16}", fullmatch=True),
    st.from_regex(r"run/[0-9A-HJKMNP-TV-Z]{26}", fullmatch=True),
)


steps = st.one_of(st.none(), st.integers(0, 100), st.integers(-(2**63), 2**63 - 1))


@st.composite
def compares(draw: st.DrawFn) -> Compare:
    scope = draw(st.sampled_from(["metrics", "params", "tags", None]))
    name = draw(st.sampled_from(COLUMNS) if scope is None else keys)
    step = draw(steps) if scope == "metrics" else None
    if scope == "metrics" or name == "duration":
        op = draw(st.sampled_from([op for op in OPERATORS if op != "~"]))
        nullable = scope is None and op in ("=", "!=")
        value: Value = draw(st.one_of(numbers, st.none()) if nullable else numbers)
    else:
        op = draw(st.sampled_from(OPERATORS))
        choices = {"~": strings, "=": literals, "!=": literals}
        value = draw(choices.get(op, st.one_of(strings, numbers)))
    return Compare(field=Field(scope=scope, name=name, step=step), op=op, value=value)


calls = st.builds(
    lambda kind, ref, role: kind(ref=ref, role=role),
    st.sampled_from([Uses, Generated]),
    ref_texts,
    st.one_of(st.none(), st.from_regex(BARE, fullmatch=True), st.text(max_size=6)),
)
trees = st.recursive(
    st.one_of(compares(), calls),
    lambda inner: st.one_of(
        st.builds(lambda xs: And(items=tuple(xs)), st.lists(inner, min_size=2, max_size=3)),
        st.builds(lambda xs: Or(items=tuple(xs)), st.lists(inner, min_size=2, max_size=3)),
        st.builds(lambda x: Not(item=x), inner),
    ),
    max_leaves=8,
)


@given(trees)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_format_then_parse_gives_the_tree_back(expr: Expr) -> None:
    text = format(expr)
    back = parse(text)
    assert back == expr
    assert repr(back) == repr(expr)  # 1 == 1.0 == True in Python; the types must match too
    assert format(back) == text


def _quoted(text: str, quote: str) -> str:
    return quote + text.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def _recase(draw: st.DrawFn, word: str) -> str:
    return draw(st.sampled_from([word, word.upper(), word.title()]))


@st.composite
def spellings(draw: st.DrawFn, expr: Expr, need: int = 1) -> str:
    """Some other valid spelling of ``expr``: any case, quotes, spaces, extra parentheses."""
    space = draw(st.sampled_from([" ", "  ", "\t", "\n "]))
    if isinstance(expr, And | Or):
        word = _recase(draw, "and" if isinstance(expr, And) else "or")
        inner = 3 if isinstance(expr, And) else 2
        text = f"{space}{word}{space}".join(draw(spellings(item, inner)) for item in expr.items)
        level = 2 if isinstance(expr, And) else 1
    elif isinstance(expr, Not):
        text, level = f"{_recase(draw, 'not')}{space}{draw(spellings(expr.item, 3))}", 3
    elif isinstance(expr, Uses | Generated):
        ref = expr.ref if draw(st.booleans()) else _quoted(expr.ref, draw(st.sampled_from("\"'")))
        quote = draw(st.sampled_from("\"'"))
        role = "" if expr.role is None else f",{space}{_quoted(expr.role, quote)}"
        word = "uses" if isinstance(expr, Uses) else "generated"
        text, level = f"{_recase(draw, word)}({space}{ref}{role}{space})", 4
    else:
        text, level = _spell_compare(draw, expr, space), 4
    if level < need or draw(st.integers(0, 5)) == 0:
        return f"({space}{text})"
    return text


def _spell_compare(draw: st.DrawFn, expr: Compare, space: str) -> str:
    field = expr.field
    if field.scope is None:
        shown = _recase(draw, field.name)
    else:
        key = _quoted(field.name, draw(st.sampled_from("\"'")))
        bare = format(Compare(field=field, op="=", value=1)).rsplit(" = ", 1)[0]
        step = "" if field.step is None else f"@{field.step}"
        shown = f"{_recase(draw, field.scope)}.{key}{step}" if draw(st.booleans()) else bare
    value = expr.value
    if isinstance(value, str):
        plain = format(Compare(field=Field(scope="tags", name="t"), op="=", value=value))
        plain = plain.split(" = ", 1)[1]
        spelled = _quoted(value, draw(st.sampled_from("\"'"))) if draw(st.booleans()) else plain
    elif value is None or isinstance(value, bool):
        spelled = _recase(draw, {None: "null", True: "true", False: "false"}[value])
    else:
        spelled = repr(value).upper() if isinstance(value, float) else repr(value)
    return f"{shown}{space}{expr.op}{space}{spelled}"


@given(st.data())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_every_spelling_parses_to_the_tree_and_formats_to_one_text(data: st.DataObject) -> None:
    expr = data.draw(trees)
    text = data.draw(spellings(expr))
    assert parse(text) == expr
    canonical = format(parse(text))
    assert format(parse(canonical)) == canonical


def _outcome(text: str) -> Expr | InvalidInput:
    try:
        return parse(text)
    except InvalidInput as exc:
        return exc


CLAUSES = [
    "status = finished", "metrics.mAP>=0.8", "params.lr = -1e-3", "tags.'x y' != 'a\\'b'",
    "name ~ \"t-*\"", "duration<3600", "started >= 2026-11-01", "params.p = TRUE",
    "uses(dataset/coco-synth@v3)", "generated( model/m , best )", "ended = null",
    "metrics.loss@3 < 0.5", "metrics.'a b'@-2 != 1",
]  # fmt: skip
JUNK = [
    "metrics.mAP", "foo", "=", "!=", "<=", "~", "==", "0.8", "adam", '"sgd"', "'x y'", "true",
    "NULL", ",", '"', "uses(", "metrics.", "\\", "params.x = 99999999999999999999", "@", "@3",
]  # fmt: skip
CONNECTIVES = ["and", "AND", "or", "Or"]


@st.composite
def soups(draw: st.DrawFn) -> str:
    """Clauses joined by connectives, maybe negated and parenthesised, maybe damaged."""
    clause = st.builds(
        lambda neg, c: neg + c, st.sampled_from(["", "not ", "NOT "]), st.sampled_from(CLAUSES)
    )
    tokens = [draw(clause)]
    for _ in range(draw(st.integers(0, 3))):
        tokens += [draw(st.sampled_from(CONNECTIVES)), draw(clause)]
    if draw(st.booleans()):
        start = draw(st.integers(0, len(tokens) - 1))
        end = draw(st.integers(start, len(tokens) - 1))
        tokens[start : end + 1] = ["(", *tokens[start : end + 1], ")"]
    for _ in range(draw(st.integers(0, 2))):
        junk = st.sampled_from([*JUNK, *CONNECTIVES, "not", "(", ")"])
        tokens.insert(draw(st.integers(0, len(tokens))), draw(junk))
    gaps = draw(
        st.lists(st.sampled_from([" ", "  ", "", "\t"]), min_size=len(tokens), max_size=len(tokens))
    )
    return "".join(token + gap for token, gap in zip(tokens, gaps, strict=True))


@given(soups())
def test_token_soup_parses_to_a_fixed_point_or_fails_with_a_column(text: str) -> None:
    expr = _outcome(text)
    if isinstance(expr, InvalidInput):
        found = re.match(r"syntax error at column (\d+) in ", expr.message)
        assert found, expr.message
        assert 1 <= int(found.group(1)) <= len(text) + 1
        return
    canonical = format(expr)
    assert parse(canonical) == expr
    assert format(parse(canonical)) == canonical


@given(st.text(max_size=30))
def test_any_text_parses_or_raises_invalid_input(text: str) -> None:
    expr = _outcome(text)
    if isinstance(expr, InvalidInput):
        assert expr.message.startswith("syntax error at column ")
    else:
        assert parse(format(expr)) == expr


# -- the compiler on real databases ---------------------------------------------------------------

SCHEMA = """
CREATE TABLE runs (id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL,
    started TEXT NOT NULL, ended TEXT, duration {real}, author TEXT NOT NULL);
CREATE TABLE params (run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, num {real},
    seq {int} NOT NULL, PRIMARY KEY (run_id, key));
CREATE TABLE run_metrics (run_id TEXT NOT NULL, key TEXT NOT NULL, value {real}, step {int},
    seq {int} NOT NULL, PRIMARY KEY (run_id, key));
CREATE TABLE tags (target TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    seq {int} NOT NULL, until_seq {int});
CREATE TABLE edges (parent TEXT NOT NULL, child TEXT NOT NULL, kind TEXT NOT NULL,
    role TEXT NOT NULL, seq {int} NOT NULL, PRIMARY KEY (parent, child, kind, role));
"""
T = "T00:00:00.000000Z"
RUNS = [
    ("R1", "train-a", "finished", "2026-11-02T09:00:00.000000Z", "2026-11-02T09:20:00.000000Z",
     1200.0, "alice"),
    ("R2", "train-b", "finished", "2026-10-30" + T, "2026-10-30T01:06:40.000000Z", 4000.0, "bob"),
    ("R3", "TRAIN-c", "failed", "2026-11-05T12:00:00.000000Z", None, None, "alice"),
    ("R4", "eval_x", "running", "2026-11-01" + T, None, None, "carol"),
    ("R5", "train%literal", "finished", "2026-11-10" + T, "2026-11-10T01:00:00.000000Z",
     3600.0, "bob"),
]  # fmt: skip
PARAMS = [  # run, key, canonical JSON, num
    ("R1", "lr", "0.01", 0.01), ("R1", "epochs", "10", 10.0), ("R1", "optimizer", '"adam"', None),
    ("R1", "pretrained", "true", None), ("R1", "model.depth", "50", 50.0),
    ("R1", "note", "null", None),
    ("R2", "lr", "0.1", 0.1), ("R2", "epochs", "10.0", 10.0), ("R2", "optimizer", '"sgd"', None),
    ("R2", "pretrained", "false", None), ("R2", "model.depth", "18", 18.0),
    ("R3", "lr", '"auto"', None), ("R3", "optimizer", '"Adam"', None),
    ("R4", "a b", '"x%y_z"', None),
]  # fmt: skip
METRICS = [  # None is a NaN
    ("R1", "mAP", 0.85), ("R1", "val/loss", 0.2), ("R2", "mAP", 0.7), ("R2", "val/loss", None),
    ("R4", "loss", 0.3),
]  # fmt: skip
TAGS = [  # target, key, value, until_seq (None: current)
    ("run/R1", "stage", "dev", 5), ("run/R1", "stage", "prod", None),
    ("run/R2", "stage", "dev", None), ("run/R4", "odd key", "100%", None),
    ("run/R5", "epochs", "10", None), ("run/R5", "stage", "prod", 9),
]  # fmt: skip
D2, D3, M1, CODE = "sha256:" + "2" * 64, "sha256:" + "3" * 64, "sha256:" + "a" * 64, "sha256:c0de"
EDGES = [  # parent, child, kind, role
    (D3, "run/R1", "used", "train"), (CODE, "run/R1", "used", "code"),
    ("run/R1", M1, "generated", "best"), (D2, "run/R2", "used", "train"),
    (D3, "run/R3", "used", "eval"), (M1, "run/R4", "used", ""),
]  # fmt: skip
RESOLVE = {
    "dataset/coco-synth": [D2, D3, D2],
    "dataset/coco-synth@v3": [D3],
    "dataset/coco-synth@v2": [D2],
    "model/detector": [M1],
}
CRASHED = "CASE WHEN r.status = 'running' AND r.id = 'R4' THEN 'crashed' ELSE r.status END"
ALL = ["R1", "R2", "R3", "R4", "R5"]

CASES = [
    (EXAMPLES[0][0], ["R1"]),
    (EXAMPLES[1][0], ["R1"]),
    (EXAMPLES[2][0], ["R1"]),
    (EXAMPLES[3][0], ["R1", "R2", "R3"]),
    (EXAMPLES[4][0], ["R1"]),
    # metrics; a NaN (NULL) differs from every number and is below or above none
    ("metrics.mAP > 0.75", ["R1"]),
    ("metrics.mAP >= 0.7", ["R1", "R2"]),
    ("metrics.val/loss < 0.25", ["R1"]),
    ("metrics.val/loss != 0.2", ["R2"]),
    ("not metrics.val/loss < 0.25", ["R2", "R3", "R4", "R5"]),
    ("metrics.mAP != 0.85", ["R2"]),
    ("metrics.loss = 0.3", ["R4"]),
    # params: numbers by value whatever their type, strings and literals by canonical JSON
    ("params.lr = 0.01", ["R1"]),
    ("params.epochs = 10", ["R1", "R2"]),
    ("params.epochs = 10.0", ["R1", "R2"]),
    ("params.epochs > 9.5", ["R1", "R2"]),
    ("params.lr < 1", ["R1", "R2"]),
    ("params.lr != 0.01", ["R2", "R3"]),
    ("params.lr = auto", ["R3"]),
    ("params.lr > a", ["R3"]),
    ("params.optimizer = adam", ["R1"]),
    ("params.optimizer != adam", ["R2", "R3"]),
    ("params.optimizer > b", ["R2"]),
    ("params.optimizer ~ 'ADAM'", ["R1", "R3"]),
    ("params.optimizer ~ 'a*'", ["R1", "R3"]),
    ("params.pretrained = true", ["R1"]),
    ("params.pretrained != true", ["R2"]),
    ("params.note = null", ["R1"]),
    ('params.epochs = "10"', []),
    ("params.model.depth >= 50", ["R1"]),
    ("params.'a b' ~ 'x%*'", ["R4"]),
    ("params.'a b' ~ 'x?y?z'", ["R4"]),
    ("params.'a b' ~ 'x_y*'", []),
    # tags: current values only, compared as text
    ("tags.stage = dev", ["R2"]),
    ("tags.stage = prod", ["R1"]),
    ("tags.stage != dev", ["R1"]),
    ("not tags.stage = dev", ["R1", "R3", "R4", "R5"]),
    ("tags.stage = null", ["R3", "R4", "R5"]),
    ("tags.stage != null", ["R1", "R2"]),
    ("tags.epochs = 10", ["R5"]),
    ("tags.'odd key' ~ '*%'", ["R4"]),
    ("tags.'odd key' ~ '*0'", []),
    ("tags.stage ~ 'PR*'", ["R1"]),
    # run columns
    ("name = train-a", ["R1"]),
    ("name ~ 'train-*'", ["R1", "R2", "R3"]),
    ("name ~ 'train%*'", ["R5"]),
    ("name ~ 'train_*'", []),
    ("name ~ '*_?'", ["R4"]),
    ("id = R2 or id = R3", ["R2", "R3"]),
    ("author = alice and status = finished", ["R1"]),
    ("status != failed", ["R1", "R2", "R4", "R5"]),
    ("status = crashed", ["R4"]),
    ("status = running", []),
    ("duration < 3600", ["R1"]),
    ("duration <= 3600", ["R1", "R5"]),
    ("duration != 1200", ["R2", "R5"]),
    ("duration = null", ["R3", "R4"]),
    ("duration != null", ["R1", "R2", "R5"]),
    ("ended = null", ["R3", "R4"]),
    ("started >= 2026-11-01", ["R1", "R3", "R4", "R5"]),
    ("started < 2026-11-01", ["R2"]),
    ("started >= 2026-11-01T00:00:00Z", ["R1", "R3", "R4", "R5"]),
    ("started > 2026-11-01T00:00:00Z", ["R1", "R3", "R5"]),
    ("started = '2026-11-01 01:00:00+01:00'", ["R4"]),
    ("started ~ '2026-11-0*'", ["R1", "R3", "R4"]),
    ("ended < 2026-11-03", ["R1", "R2"]),
    # lineage
    ("uses(dataset/coco-synth@v3)", ["R1", "R3"]),
    ("uses(dataset/coco-synth)", ["R1", "R2", "R3"]),
    ("uses(dataset/coco-synth, train)", ["R1", "R2"]),
    ("uses(dataset/coco-synth@v3, eval)", ["R3"]),
    ("uses(dataset/coco-synth@v2, eval)", []),
    ("uses(model/detector)", ["R4"]),
    ("uses(model/detector, '')", ["R4"]),
    ("generated(model/detector)", ["R1"]),
    ("generated(model/detector, best)", ["R1"]),
    ("generated(model/detector, other)", []),
    ("generated(dataset/coco-synth)", []),
    ("uses(dataset/missing)", []),
    ("not uses(dataset/missing)", ALL),
    ("not uses(dataset/coco-synth) and not generated(model/detector)", ["R4", "R5"]),
    # values never reach the SQL text
    ("name = \"x' OR '1' = '1\" or name = '?'", []),
]


def _resolve(ref: str) -> list[str]:
    return RESOLVE.get(ref, [])


def _compile(text: str) -> tuple[str, list[Any]]:
    return compile_where(parse(text), resolve=_resolve, status_sql=CRASHED)


def _fill(execute: Any, real: str, integer: str) -> None:
    for statement in SCHEMA.format(real=real, int=integer).split(";"):
        if statement.strip():
            execute(statement)
    for row in RUNS:
        execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)", row)
    for i, (run, key, value, num) in enumerate(PARAMS):
        execute("INSERT INTO params VALUES (?, ?, ?, ?, ?)", (run, key, value, num, i))
    for i, (run, key, number) in enumerate(METRICS):
        execute("INSERT INTO run_metrics VALUES (?, ?, ?, ?, ?)", (run, key, number, 1, i))
    for i, (target, key, value, until) in enumerate(TAGS):
        execute("INSERT INTO tags VALUES (?, ?, ?, ?, ?)", (target, key, value, i, until))
    for i, (parent, child, kind, role) in enumerate(EDGES):
        execute("INSERT INTO edges VALUES (?, ?, ?, ?, ?)", (parent, child, kind, role, i))


@pytest.fixture(scope="module")
def sqlite_db() -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(":memory:")
    _fill(db.execute, "REAL", "INTEGER")
    try:
        yield db
    finally:
        db.close()


def _sqlite_ids(db: sqlite3.Connection, text: str) -> list[str]:
    sql, params = _compile(text)
    rows = db.execute(f"SELECT r.id FROM runs r WHERE {sql} ORDER BY r.id", params)
    return [row[0] for row in rows]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_sqlite_finds_the_runs(
    sqlite_db: sqlite3.Connection, text: str, expected: list[str]
) -> None:
    assert _sqlite_ids(sqlite_db, text) == expected


def test_every_value_is_a_parameter() -> None:
    sql, params = _compile(CASES[-1][0])
    assert "'1'" not in sql
    assert "x' OR" not in sql
    assert params == ["x' OR '1' = '1", "?"]
    assert "%" not in _compile("name ~ 'a%*' and tags.x = '100%'")[0]


def test_a_step_compiles_to_a_condition_it_implies() -> None:
    # Points live in the ledger: SQL keeps the runs with a batch of the key spanning the step
    # (lineal.tracking.query applies the comparison exactly); under `not`, every run.
    sql, params = compile_where(parse("metrics.loss@3 < 0.5"), resolve=_resolve)
    assert "metric_batches" in sql
    assert params == ["loss", 3, 3]
    sql, params = compile_where(parse("not metrics.loss@3 < 0.5 and name = a"), resolve=_resolve)
    assert sql == "(NOT (1 = 0) AND r.name = ?)"
    assert params == ["a"]
    assert format_field(Field(scope="metrics", name="a@b", step=-2)) == 'metrics."a@b"@-2'
    assert step_fields(parse("metrics.a@1 > 0 or metrics.a@1 < 1 or metrics.a > 2")) == [
        Field(scope="metrics", name="a", step=1)
    ]


def test_an_empty_resolution_is_false_not_an_error() -> None:
    assert compile_where(parse("uses(dataset/x)"), resolve=lambda _: []) == ("1 = 0", [])


def test_the_default_status_is_the_status_column() -> None:
    sql, params = compile_where(parse("status = finished"), resolve=_resolve)
    assert (sql, params) == ("(r.status) = ?", ["finished"])


@pytest.mark.parametrize(
    ("glob", "like"),
    [
        ("train-*", "train-%"),
        ("a?b", "a_b"),
        ("100%", "100\\%"),
        ("a_b", "a\\_b"),
        ("c:\\d", "c:\\\\d"),
    ],
)
def test_globs_become_like_patterns(glob: str, like: str) -> None:
    assert like_pattern(glob) == like


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("2026-11-01", "2026-11-01"),
        ("2026-11-01T10:00:00Z", "2026-11-01T10:00:00.000000Z"),
        ("2026-11-01T10:00Z", "2026-11-01T10:00:00.000000Z"),
        ("2026-11-01T10:00:00.5", "2026-11-01T10:00:00.500000Z"),
        ("2026-11-01T11:00:00+01:00", "2026-11-01T10:00:00.000000Z"),
        ("finished", "finished"),
    ],
)
def test_times_are_compared_in_the_stored_spelling(text: str, stored: str) -> None:
    assert stored_time(text) == stored


def test_a_bad_time_says_what_a_time_looks_like() -> None:
    with pytest.raises(InvalidInput, match="2026-11-01T10:00:00Z"):
        _compile("started > 2026-11-01T25:00:00Z")


@pytest.fixture(scope="module")
def postgres_db() -> Iterator[Any]:
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise  # CI must run the PostgreSQL suite, never skip it
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN}: {exc}")
    name = f"lineal_filters_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}", autocommit=True) as db:
            _fill(
                lambda sql, args=(): db.execute(sql.replace("?", "%s"), args),
                "DOUBLE PRECISION",
                "BIGINT",
            )
            yield db
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.postgres
@pytest.mark.parametrize(("text", "expected"), CASES)
def test_postgres_finds_the_same_runs(
    postgres_db: Any, sqlite_db: sqlite3.Connection, text: str, expected: list[str]
) -> None:
    sql, params = _compile(text)
    query = f"SELECT r.id FROM runs r WHERE {sql} ORDER BY r.id"
    rows = postgres_db.execute(query.replace("%", "%%").replace("?", "%s"), params).fetchall()
    assert [row[0] for row in rows] == expected == _sqlite_ids(sqlite_db, text)


def _chains(text: str) -> list[tuple[str, str]]:
    """``(text)`` repeated past one group, joined by and, by or, and negated; each beside the
    short filter it must match the same runs as."""
    long_and = " and ".join([f"({text})"] * 9)
    long_or = " or ".join([f"({text})"] * 9)
    return [(long_and, text), (long_or, text), (f"not ({long_and})", f"not ({text})")]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_a_long_chain_finds_what_its_condition_finds(
    sqlite_db: sqlite3.Connection, text: str, expected: list[str]
) -> None:
    # Past GROUP conditions the SQL takes another shape (uncorrelated IN, COALESCE groups).
    assert "COALESCE" in _compile(_chains(text)[0][0])[0]
    for chain, short in _chains(text):
        assert _sqlite_ids(sqlite_db, chain) == _sqlite_ids(sqlite_db, short)


@pytest.mark.postgres
@pytest.mark.parametrize(("text", "expected"), CASES)
def test_postgres_finds_the_same_runs_with_a_long_chain(
    postgres_db: Any, sqlite_db: sqlite3.Connection, text: str, expected: list[str]
) -> None:
    for chain, _ in _chains(text):
        sql, params = _compile(chain)
        query = f"SELECT r.id FROM runs r WHERE {sql} ORDER BY r.id"
        rows = postgres_db.execute(query.replace("%", "%%").replace("?", "%s"), params)
        assert [row[0] for row in rows.fetchall()] == _sqlite_ids(sqlite_db, chain)
