"""Properties and rules of lineal.model.canonical: one byte form per value, and only one.

Values are compared by a typed normal form, so 1, 1.0 and True never pass for each other.
"""

from __future__ import annotations

import random
import re
import sys
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from lineal.errors import InvalidInput
from lineal.model import canonical
from lineal.model.canonical import decode, encode, format_time, parse_time

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# Text without lone surrogates (the default alphabet already excludes category Cs) or U+0000
# (refused: PostgreSQL text cannot hold it), with other control characters, quotes,
# backslashes and characters beyond the BMP mixed in often.
_text = st.text(
    st.one_of(
        st.characters(codec="utf-8", exclude_characters="\x00"),
        st.sampled_from(['"', "\\", "\x01", "\x1f", "\x7f", "\n", "\u2028", "é", "😀"]),
    ),
    max_size=12,
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=INT64_MIN, max_value=INT64_MAX),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1.0, 1e16, 5e-324, 1.7976931348623157e308]),
    _text,
)
json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_text, inner, max_size=5),
    max_leaves=25,
)

# A small universe in which different values often look alike (0, 0.0, -0.0, False, "0"...),
# so that pairs drawn from it really probe injectivity.
_lookalikes = st.sampled_from(
    [None, False, True, 0, 1, -1, 0.0, -0.0, 1.0, -1.0, "", "0", "1", "1.0", "true", "null"]
)
lookalike_values = st.recursive(
    _lookalikes,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["", "0", "a", "A"]), inner, max_size=3)
    ),
    max_leaves=6,
)


def typed(value: Any) -> Any:
    """A normal form that tells int from float from bool, and -0.0 from 0.0."""
    if isinstance(value, dict):
        return ("object", tuple(sorted((key, typed(item)) for key, item in value.items())))
    if isinstance(value, list | tuple):
        return ("array", tuple(typed(item) for item in value))
    if isinstance(value, float):
        return ("float", value.hex())
    return (type(value).__name__, value)


def reordered(value: Any, rng: random.Random) -> Any:
    """The same value with every dict rebuilt in a shuffled insertion order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: reordered(item, rng) for key, item in items}
    if isinstance(value, list):
        return [reordered(item, rng) for item in value]
    return value


# --- Properties -------------------------------------------------------------------------------


@given(json_values)
def test_encode_is_deterministic(value: Any) -> None:
    assert encode(value) == encode(value)


@given(json_values, st.randoms(use_true_random=False))
def test_insertion_order_does_not_change_the_bytes(value: Any, rng: random.Random) -> None:
    assert encode(reordered(value, rng)) == encode(value)


@given(json_values)
@example(-0.0)
@example({"a": [1, 1.0, True, None, "1"]})
def test_decode_round_trips_to_the_same_typed_value(value: Any) -> None:
    assert typed(decode(encode(value))) == typed(value)


@given(json_values)
def test_encoding_is_utf8_without_whitespace_outside_strings(value: Any) -> None:
    text = encode(value).decode("utf-8")
    outside = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    assert not re.search(r"\s", outside), text


@given(lookalike_values, lookalike_values)
@example(1, 1.0)
@example(0.0, -0.0)
@example(True, 1)
@example(False, 0)
@example("1", 1)
@example([1], [1.0])
@example({"a": 0}, {"a": False})
def test_equal_bytes_means_equal_typed_values(a: Any, b: Any) -> None:
    assert (encode(a) == encode(b)) == (typed(a) == typed(b))


@given(json_values, json_values)
def test_different_typed_values_give_different_bytes(a: Any, b: Any) -> None:
    if typed(a) != typed(b):
        assert encode(a) != encode(b)
    else:
        assert encode(a) == encode(b)


def test_known_answer() -> None:
    # Written out by hand from the module rules, not produced by the encoder.
    value = {"z": [1, 1.0, -0.0, 1e16, True, None], "a": {"é": '\n"\\', "B": ""}}
    expected = '{"a":{"B":"","é":"\\n\\"\\\\"},"z":[1,1.0,-0.0,1e+16,true,null]}'
    assert encode(value) == expected.encode("utf-8")


# --- One test per docstring rule --------------------------------------------------------------


def test_keys_are_sorted_by_code_point_at_every_depth() -> None:
    assert encode({"b": 1, "a": 2, "B": 3}) == b'{"B":3,"a":2,"b":1}'
    assert encode([{"y": {"d": 0, "c": 0}, "x": 0}]) == b'[{"x":0,"y":{"c":0,"d":0}}]'
    # Code point order, not UTF-16 order: U+FFFF sorts before U+10000 (whose UTF-16 form
    # starts with the surrogate D800, which would sort first).
    assert encode({"\U00010000": 1, "\uffff": 2}) == '{"\uffff":2,"\U00010000":1}'.encode()
    assert encode({"é": 1, "z": 2}) == '{"z":2,"é":1}'.encode()


def test_no_whitespace_outside_strings() -> None:
    assert encode({"a": [1, 2], "b": {"c": None}}) == b'{"a":[1,2],"b":{"c":null}}'
    assert encode(" a\tb ") == b'" a\\tb "'


def test_strings_are_utf8_and_only_quote_backslash_and_controls_are_escaped() -> None:
    assert encode("é☃😀") == '"é☃😀"'.encode()
    assert encode('"\\') == b'"\\"\\\\"'
    assert encode("\x01\x1f") == b'"\\u0001\\u001f"'
    # DEL, U+2028 and U+2029 are not control characters in the U+0000-U+001F sense.
    assert encode("\x7f\u2028\u2029") == '"\x7f\u2028\u2029"'.encode()
    assert encode("/") == b'"/"'


def test_tuples_and_lists_are_both_arrays() -> None:
    assert encode((1, "a")) == encode([1, "a"]) == b'[1,"a"]'


def test_int_and_float_differ() -> None:
    assert encode(1) == b"1"
    assert encode(1.0) == b"1.0"
    assert encode(1e16) == b"1e+16"
    assert encode(0.1) == b"0.1"
    assert encode(-0.0) == b"-0.0"
    assert encode(0.0) == b"0.0"
    assert type(decode(encode(1))) is int
    assert type(decode(encode(1.0))) is float
    assert encode(True) == b"true"
    assert encode(1) != encode(True)


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), float("-inf"), [1, float("nan")], {"a": {"b": float("inf")}}],
    ids=["nan", "inf", "-inf", "nested-list", "nested-dict"],
)
def test_nan_and_infinity_are_refused(value: Any) -> None:
    with pytest.raises(InvalidInput, match="NaN/Infinity"):
        encode(value)


def test_refusal_names_the_path() -> None:
    with pytest.raises(InvalidInput, match=r"\$\.a\.b\[1\]"):
        encode({"a": {"b": [0, float("nan")]}})


@pytest.mark.parametrize("value", [INT64_MIN, INT64_MAX, 0, -1])
def test_ints_within_64_bits_are_accepted(value: int) -> None:
    assert decode(encode(value)) == value


@pytest.mark.parametrize("value", [INT64_MAX + 1, INT64_MIN - 1, 10**30, [2**64], {"n": -(2**100)}])
def test_ints_outside_64_bits_are_refused(value: Any) -> None:
    with pytest.raises(InvalidInput, match="64 bits"):
        encode(value)


@pytest.mark.parametrize(
    "value", [{1: "a"}, {None: 1}, {True: 1}, {1.5: 1}, {(1, 2): 1}, {"ok": {2: 1}}]
)
def test_non_string_keys_are_refused(value: Any) -> None:
    with pytest.raises(InvalidInput, match="not a string"):
        encode(value)


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 1, 1, tzinfo=UTC),
        date(2026, 1, 1),
        b"bytes",
        bytearray(b"x"),
        {1, 2},
        frozenset(),
        Decimal("1.5"),
        object(),
        [{"nested": b"x"}],
    ],
    ids=lambda v: type(v).__name__,
)
def test_other_types_are_refused(value: Any) -> None:
    with pytest.raises(InvalidInput, match="cannot be encoded canonically") as caught:
        encode(value)
    assert caught.value.hint is not None


@pytest.mark.parametrize("value", ["\ud800", "a\udfffb", ["\udc00"], {"\ud83d": 1}])
def test_lone_surrogates_are_refused(value: Any) -> None:
    with pytest.raises(InvalidInput, match="surrogate"):
        encode(value)


@pytest.mark.parametrize("value", ["a\x00b", ["\x00"], {"k\x00": 1}, {"k": {"x": "\x00"}}])
def test_nul_is_refused(value: Any) -> None:
    with pytest.raises(InvalidInput, match="U\\+0000"):
        encode(value)


def test_nfc_and_nfd_stay_different() -> None:
    nfc = unicodedata.normalize("NFC", "Café")
    nfd = unicodedata.normalize("NFD", "Café")
    assert nfc != nfd
    assert encode(nfc) != encode(nfd)
    assert encode({nfc: 1}) != encode({nfd: 1})
    assert decode(encode(nfc)) == nfc
    assert decode(encode(nfd)) == nfd
    assert encode({nfc: 1, nfd: 2}) == encode({nfd: 2, nfc: 1})


@pytest.mark.parametrize("data", [b"{", b"\xff", b"", b"[1,]"])
def test_decode_refuses_what_is_not_json(data: bytes) -> None:
    with pytest.raises(InvalidInput, match="not a canonical payload"):
        decode(data)


# --- Times ------------------------------------------------------------------------------------

_offsets = st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
)
aware_datetimes = st.datetimes(
    min_value=datetime(2, 1, 1),
    max_value=datetime(9998, 12, 31),
    timezones=st.one_of(st.just(UTC), _offsets),
)


@given(aware_datetimes)
@example(datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))
@example(datetime(2026, 11, 25, 11, 37, 31, tzinfo=timezone(timedelta(hours=-5))))
def test_format_time_round_trips(moment: datetime) -> None:
    text = format_time(moment)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", text), text
    back = parse_time(text)
    assert back == moment
    assert back.utcoffset() == timedelta(0)
    assert format_time(back) == text


def test_format_time_spells_utc_with_microseconds() -> None:
    moment = datetime(2026, 11, 25, 12, 37, 31, tzinfo=timezone(timedelta(hours=1)))
    assert format_time(moment) == "2026-11-25T11:37:31.000000Z"


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(InvalidInput, match="naive"):
        format_time(datetime(2026, 1, 1))  # naive on purpose


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-31T12:00:00Z",
        "2026-01-31T12:00:00.000000+00:00",
        "2026-01-31 12:00:00.000000Z",
        "2026-01-31T12:00:00.000000z",
        "2026-1-31T12:00:00.000000Z",
        "2026-01-31T12:00:00.5Z",
        "2026-01-31T12:00:00.000000Z\n",
        "yesterday",
        "",
    ],
)
def test_parse_time_refuses_other_spellings(text: str) -> None:
    with pytest.raises(InvalidInput, match="expected RFC 3339"):
        parse_time(text)


def test_parse_time_refuses_non_strings() -> None:
    with pytest.raises(InvalidInput):
        parse_time(20260131)  # type: ignore[arg-type]


def test_deep_nesting_is_refused_clearly() -> None:
    with pytest.raises(InvalidInput, match="nested too deeply"):
        decode(b"[" * 100_000 + b"]" * 100_000)
    deep: Any = []
    for _ in range(100_000):
        deep = {"a": deep}
    with pytest.raises(InvalidInput, match="nests lists or objects too deeply"):
        encode(deep)


def test_without_orjson_the_walk_gives_the_same_bytes_and_refusals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import orjson  # the fast check is used where the process has imported orjson

    assert orjson.dumps([]) == b"[]"
    values = [{"a": [1, 2.5, "x", None, True], "b": {"c": "ü"}}, [], "text", 2**53 - 1]
    fast = [canonical.encode(v) for v in values]
    bad = [{1: "a"}, float("nan"), "a\x00b", 2**70]
    monkeypatch.setitem(sys.modules, "orjson", None)
    assert [canonical.encode(v) for v in values] == fast
    for value in bad:
        with pytest.raises(InvalidInput):
            canonical.encode(value)
