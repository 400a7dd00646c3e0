"""Manifests: canonical bytes, a digest that is the same on every machine, and file diffs.

Pure values only; no file is read.
"""

from __future__ import annotations

import hashlib
import json
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineal.cas.manifest import Entry, Manifest, diff
from lineal.errors import InvalidInput
from lineal.model.digests import digest_bytes


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


A = Entry(path="a.txt", digest=_digest("a"), size=1)
B = Entry(path="img/b.png", digest=_digest("b"), size=20)
C = Entry(path="img/c.png", digest=_digest("c"), size=300)


def test_a_fixed_manifest_has_a_fixed_digest() -> None:
    manifest = Manifest.from_entries([C, A, B])
    assert manifest.encode() == (
        b'{"entries":[["a.txt","' + A.digest.encode() + b'",1],'
        b'["img/b.png","' + B.digest.encode() + b'",20],'
        b'["img/c.png","' + C.digest.encode() + b'",300]],"format":"lineal-manifest/1"}'
    )
    assert manifest.digest == (
        "sha256:7cd27129a0b41e36ba03713166d35ce7fb34fe155b927623af27f1c3c9bf19ae"
    )


def test_round_trip_and_accessors() -> None:
    manifest = Manifest.from_entries([B, A])
    again = Manifest.decode(manifest.encode())
    assert again == manifest
    assert again.entries == (A, B)
    assert len(again) == 2
    assert again.size == 21
    assert again.by_path() == {"a.txt": A, "img/b.png": B}
    assert Manifest.from_entries([]).encode() == b'{"entries":[],"format":"lineal-manifest/1"}'


def test_duplicate_paths_are_refused() -> None:
    with pytest.raises(InvalidInput, match=r"duplicate manifest path 'a\.txt'"):
        Manifest.from_entries([A, Entry(path="a.txt", digest=B.digest, size=2)])


@pytest.mark.parametrize(
    "path",
    ["", "/abs", "a/", "a//b", ".", "..", "./a", "a/./b", "a/../b", "a/..", "nul\x00", "\udcff"],
)
def test_bad_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidInput, match="bad manifest path") as caught:
        Entry(path=path, digest=A.digest, size=0)
    assert caught.value.hint


@pytest.mark.parametrize("path", ["\n", "a\n", "...", ".a/b.", "a b", "\u00fc/\u0308", "a\\b"])
def test_odd_but_valid_paths_are_kept_as_they_are(path: str) -> None:
    assert (
        Manifest.decode(Manifest.from_entries([Entry(path=path, digest=A.digest, size=0)]).encode())
        .entries[0]
        .path
        == path
    )


@pytest.mark.parametrize(
    "digest", ["", "sha256:", "sha256:" + "A" * 64, "md5:" + "a" * 32, "sha256:" + "a" * 63]
)
def test_bad_digests_are_refused(digest: str) -> None:
    with pytest.raises(InvalidInput, match="bad digest of 'x'"):
        Entry(path="x", digest=digest, size=0)


@pytest.mark.parametrize("size", [-1, 2**63, 1.0, True, "1"])
def test_bad_sizes_are_refused(size: object) -> None:
    with pytest.raises(InvalidInput, match="bad size"):
        Entry(path="x", digest=A.digest, size=size)  # type: ignore[arg-type]


def _rows(*rows: list[object]) -> bytes:
    return json.dumps(
        {"entries": list(rows), "format": "lineal-manifest/1"},
        separators=(",", ":"),
        sort_keys=True,
    ).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "not a canonical payload"),
        (b"[]", "not a manifest"),
        (b'{"entries":[],"format":"lineal-manifest/2"}', "not a manifest"),
        (b'{"entries":[],"extra":1,"format":"lineal-manifest/1"}', "not a manifest"),
        (_rows(["a", A.digest]), "bad manifest entry #0"),
        (_rows(["/a", A.digest, 1]), "bad manifest path"),
        (_rows(["a", "sha256:xyz", 1]), "bad digest"),
        (_rows(["a", A.digest, -1]), "bad size"),
        (_rows(["b", A.digest, 1], ["a", A.digest, 1]), "not in canonical form"),
        (_rows(["a", A.digest, 1], ["a", A.digest, 1]), "duplicate manifest path"),
        (_rows(["a", A.digest, 1]).replace(b",", b", "), "not in canonical form"),
    ],
)
def test_decode_refuses_what_lineal_did_not_write(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Manifest.decode(data)


def test_diff_reports_added_removed_modified_sorted() -> None:
    b2 = Entry(path=B.path, digest=_digest("b2"), size=25)
    d = Entry(path="d.txt", digest=_digest("d"), size=4)
    old = Manifest.from_entries([A, B, C])
    new = Manifest.from_entries([d, b2, C])
    changes = diff(old, new)
    assert changes
    assert changes.added == (d,)
    assert changes.removed == (A,)
    assert changes.modified == ((B, b2),)
    assert changes.as_dict() == {
        "added": [{"path": "d.txt", "digest": d.digest, "size": 4}],
        "removed": [{"path": "a.txt", "digest": A.digest, "size": 1}],
        "modified": [
            {
                "path": "img/b.png",
                "old_digest": B.digest,
                "new_digest": b2.digest,
                "old_size": 20,
                "new_size": 25,
            }
        ],
        "summary": {
            "added": 1,
            "removed": 1,
            "modified": 1,
            "added_bytes": 4,
            "removed_bytes": 1,
            "modified_bytes_delta": 5,
            "bytes_delta": 8,
        },
    }
    assert not diff(new, Manifest.from_entries(reversed(new.entries)))


_component = st.text(
    st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=8
).filter(lambda part: part not in (".", ".."))
_path = st.lists(_component, min_size=1, max_size=4).map("/".join)
_entry = st.builds(
    Entry,
    path=_path,
    digest=st.binary(min_size=32, max_size=32).map(lambda b: "sha256:" + b.hex()),
    size=st.integers(0, 2**63 - 1),
)


@given(st.lists(_entry, unique_by=lambda e: e.path, max_size=20), st.randoms())
def test_any_valid_manifest_decodes_to_itself_in_any_order(
    entries: list[Entry], rng: random.Random
) -> None:
    manifest = Manifest.from_entries(entries)
    assert Manifest.decode(manifest.encode()) == manifest
    shuffled = list(entries)
    rng.shuffle(shuffled)
    assert Manifest.from_entries(shuffled).digest == manifest.digest
    assert [e.path for e in manifest.entries] == sorted(e.path for e in entries)


def test_decode_with_the_recorded_digest_takes_the_trusted_path() -> None:
    from lineal.cas.manifest import Entry, Manifest

    manifest = Manifest.from_entries(
        [
            Entry(path="b.png", digest="sha256:" + "b" * 64, size=2),
            Entry(path="a", digest="sha256:" + "a" * 64, size=1),
        ]
    )
    data = manifest.encode()
    assert Manifest.decode(data, expected=manifest.digest) == manifest
    # A digest that does not match the bytes falls back to the full checks.
    assert Manifest.decode(data, expected="sha256:" + "0" * 64) == manifest


def test_bytes_of_another_kind_are_not_a_manifest_even_when_their_digest_matches() -> None:
    body = b'{"seed":1}'
    with pytest.raises(InvalidInput, match="not a manifest"):
        Manifest.decode(body, expected=digest_bytes(body))
