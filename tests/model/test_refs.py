"""lineal.model.refs: every valid reference round-trips exactly; every bad one says what it wanted.

Valid references are generated from the grammar, not from the parser's own regular expressions
where that could hide a mistake (the patterns are restated here).
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from lineal.errors import InvalidInput
from lineal.model.refs import ARTIFACT_KINDS, KINDS, Ref, parse

kinds = st.sampled_from(ARTIFACT_KINDS)
names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", fullmatch=True)
versions = st.integers(min_value=1, max_value=10**18 - 1)
digests = st.from_regex(r"sha256:[0-9a-f]{8,64}", fullmatch=True)
aliases = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,63}", fullmatch=True)
ulids = st.from_regex(r"[0-9A-HJKMNP-TV-Z]{26}", fullmatch=True)

plain_refs = st.builds(lambda k, n: f"{k}/{n}", kinds, names)
versioned_refs = st.builds(lambda k, n, v: f"{k}/{n}@v{v}", kinds, names, versions)
digest_refs = st.builds(lambda k, n, d: f"{k}/{n}@{d}", kinds, names, digests)
alias_refs = st.builds(lambda k, n, a: f"{k}/{n}:{a}", kinds, names, aliases)
run_refs = st.builds(lambda u: f"run/{u}", ulids)
valid_refs = st.one_of(plain_refs, versioned_refs, digest_refs, alias_refs, run_refs, digests)

ULID = "01JD3XQ4M5N6P7Q8R9S0T1V2W3"


@given(valid_refs)
@example("dataset/coco-synth")
@example("dataset/coco-synth@v3")
@example("dataset/coco-synth@sha256:9f2c1a0b")
@example("model/detector:production")
@example(f"run/{ULID}")
@example("sha256:9f2c1a0b")
@example("sha256:" + "0" * 64)
@example("dataset/" + "a" * 128)
@example("dataset/x@v" + "9" * 18)
def test_str_of_parse_is_the_text(text: str) -> None:
    ref = parse(text)
    assert str(ref) == text
    assert parse(str(ref)) == ref


@given(kinds, names)
def test_plain_fields(kind: str, name: str) -> None:
    ref = parse(f"{kind}/{name}")
    assert (ref.kind, ref.name, ref.version, ref.digest, ref.alias) == (
        kind,
        name,
        None,
        None,
        None,
    )
    assert not ref.is_run


@given(kinds, names, versions)
def test_version_fields(kind: str, name: str, version: int) -> None:
    ref = parse(f"{kind}/{name}@v{version}")
    assert (ref.kind, ref.name, ref.version, ref.digest, ref.alias) == (
        kind,
        name,
        version,
        None,
        None,
    )
    assert type(ref.version) is int


@given(kinds, names, digests)
def test_digest_fields(kind: str, name: str, digest: str) -> None:
    ref = parse(f"{kind}/{name}@{digest}")
    assert (ref.kind, ref.name, ref.version, ref.digest, ref.alias) == (
        kind,
        name,
        None,
        digest,
        None,
    )


@given(kinds, names, aliases)
def test_alias_fields(kind: str, name: str, alias: str) -> None:
    ref = parse(f"{kind}/{name}:{alias}")
    assert (ref.kind, ref.name, ref.version, ref.digest, ref.alias) == (
        kind,
        name,
        None,
        None,
        alias,
    )


@given(ulids)
def test_run_fields(ulid: str) -> None:
    ref = parse(f"run/{ulid}")
    assert (ref.kind, ref.name, ref.version, ref.digest, ref.alias) == (
        "run",
        ulid,
        None,
        None,
        None,
    )
    assert ref.is_run


@given(digests)
def test_bare_digest_fields(digest: str) -> None:
    ref = parse(digest)
    assert (ref.kind, ref.name, ref.version, ref.digest, ref.alias) == (
        None,
        None,
        None,
        digest,
        None,
    )


fields_of_refs = st.one_of(
    st.builds(lambda k, n: {"kind": k, "name": n}, kinds, names),
    st.builds(lambda k, n, v: {"kind": k, "name": n, "version": v}, kinds, names, versions),
    st.builds(lambda k, n, d: {"kind": k, "name": n, "digest": d}, kinds, names, digests),
    st.builds(lambda k, n, a: {"kind": k, "name": n, "alias": a}, kinds, names, aliases),
    st.builds(lambda u: {"kind": "run", "name": u}, ulids),
    st.builds(lambda d: {"kind": None, "digest": d}, digests),
)


@given(fields_of_refs)
def test_ref_built_from_fields_round_trips(fields: dict[str, object]) -> None:
    ref = Ref(**fields)  # type: ignore[arg-type]
    assert parse(str(ref)) == ref
    assert {f.name: getattr(ref, f.name) for f in dataclasses.fields(Ref) if f.name in fields} == (
        fields
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "dataset", "name": "x", "version": 1, "alias": "prod"},
        {"kind": "dataset", "name": "x", "version": 1, "digest": "sha256:01234567"},
        {"kind": "dataset", "name": None},
        {"kind": "dataset", "name": "x", "version": 0},
        {"kind": "dataset", "name": "x", "version": "1"},
        {"kind": "dataset", "name": "x", "version": True},
        {"kind": None, "name": "x", "digest": "sha256:01234567"},
        {"kind": None},
        {"kind": "run", "name": ULID, "version": 1},
        {"kind": "datset", "name": "x"},
    ],
)
def test_inconsistent_fields_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        Ref(**fields)  # type: ignore[arg-type]


def test_ref_is_frozen() -> None:
    ref = parse("dataset/x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.name = "y"  # type: ignore[misc]


BAD_REFS = [
    "datset/x",
    "dataset",
    "dataset/",
    "dataset/x@v0",
    "dataset/x@v01",
    "dataset/x@v",
    "dataset/x@v1" + "0" * 18,
    "dataset/x@sha256:abc",
    "dataset/x@SHA256:0123abcd",
    "dataset/x@sha256:0123ABCD",
    "dataset/x@sha256:" + "0" * 65,
    "dataset/x@latest",
    "dataset/x@",
    "dataset/x@v1@v2",
    "run/lowercaseulid",
    "run/01jd3xq4m5n6p7q8r9s0t1v2w3",
    "run/01JD3XQ4M5N6P7Q8R9S0T1V2WI",
    "run/01JD3XQ4M5N6P7Q8R9S0T1V2W",
    f"run/{ULID}@v1",
    "run/",
    "dataset/x:",
    "dataset/x:1prod",
    "dataset/x:a:b",
    "dataset/-x",
    "dataset/.x",
    "dataset/x/y",
    "dataset/" + "a" * 129,
    "Dataset/x",
    "",
    " dataset/x",
    "dataset/x ",
    "dataset/x\n",
    "dataset/x@v1:prod",
    "sha256:",
    "sha256:0123456",
    "sha256:0123ABCD",
    "sha256:" + "0" * 65,
    "/x",
]


@pytest.mark.parametrize("text", BAD_REFS)
def test_bad_refs_raise_one_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(text)
    exc = caught.value
    assert type(exc) is InvalidInput
    assert exc.__cause__ is None
    assert exc.__context__ is None
    message = str(exc)
    assert repr(text) in message
    assert "expected" in message
    assert "\n" not in message.replace(repr(text), "")
    assert exc.hint is not None
    assert all(kind in exc.hint for kind in KINDS)


def test_non_string_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not a string"):
        parse(None)  # type: ignore[arg-type]


def test_did_you_mean() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse("datset/x")
    assert "did you mean 'dataset'?" in str(caught.value)
    with pytest.raises(InvalidInput) as caught:
        parse("modle/detector:production")
    assert "did you mean 'model'?" in str(caught.value)


def test_no_did_you_mean_when_nothing_is_close() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse("zzzzzz/x")
    assert "did you mean" not in str(caught.value)
    assert "unknown kind 'zzzzzz'" in str(caught.value)
