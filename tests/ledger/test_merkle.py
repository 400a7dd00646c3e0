"""Known-answer vectors and properties for lineal.ledger.merkle (RFC 6962 / RFC 9162 trees).

The vectors are published data, never values computed by the code under test.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lineal.ledger.merkle import (
    EMPTY_ROOT,
    TreeBuilder,
    block_roots,
    consistency_proof,
    first_divergent_block,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# --- Reference vectors ------------------------------------------------------------------------
# From github.com/transparency-dev/merkle (the Merkle code split out of Google's Trillian and
# used by certificate-transparency-go): testonly/constants.go (LeafInputs, NodeHashes,
# RootHashes, EmptyRootHash) and proof/verify_test.go (inclusionProofs, consistencyProofs;
# that file numbers leaves from 1, converted to 0-based indices below).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_EMPTY_ROOT = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
# RootHashes()[1:], i.e. the tree heads for sizes 1..8.
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# NodeHashes()[level][i]: the perfect subtrees of the 8-leaf tree, level 0 being the leaves.
CT_NODES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]
# (index, size, proof)
CT_INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
# (old_size, new_size, proof)
CT_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]


def _hexes(hashes: list[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


# --- An independent oracle: the RFC 6962 §2.1 recursive definitions, transcribed literally ----


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


# --- Known answers ----------------------------------------------------------------------------


def test_empty_tree_hash_is_sha256_of_nothing() -> None:
    assert root([]).hex() == CT_EMPTY_ROOT
    assert EMPTY_ROOT.hex() == CT_EMPTY_ROOT
    assert TreeBuilder().root().hex() == CT_EMPTY_ROOT
    assert root(CT_LEAVES, 0).hex() == CT_EMPTY_ROOT


def test_one_leaf_tree_is_its_leaf_hash() -> None:
    record_hash = hashlib.sha256(b"a ledger record").digest()
    assert root([record_hash]) == leaf_hash(record_hash)
    assert root([record_hash]) == hashlib.sha256(b"\x00" + record_hash).digest()
    assert root([b""]).hex() == CT_ROOTS[0]


def test_node_hash_prefixes_0x01() -> None:
    left, right = bytes.fromhex(CT_NODES[0][0]), bytes.fromhex(CT_NODES[0][1])
    assert node_hash(left, right).hex() == CT_NODES[1][0]


def test_leaf_hashes_match_reference() -> None:
    assert [leaf_hash(d).hex() for d in CT_LEAVES] == CT_NODES[0]


@pytest.mark.parametrize("size", range(1, 9))
def test_reference_roots(size: int) -> None:
    assert root(CT_LEAVES, size).hex() == CT_ROOTS[size - 1]
    assert root(CT_LEAVES[:size]).hex() == CT_ROOTS[size - 1]


def test_tree_builder_reference_roots() -> None:
    builder = TreeBuilder()
    for size, data in enumerate(CT_LEAVES, start=1):
        builder.append(data)
        assert builder.size == size
        assert builder.root().hex() == CT_ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "proof"), CT_INCLUSION)
def test_reference_inclusion_proofs(index: int, size: int, proof: list[str]) -> None:
    assert _hexes(inclusion_proof(CT_LEAVES, index, size)) == proof
    tree_root = bytes.fromhex(CT_ROOTS[size - 1])
    as_bytes = [bytes.fromhex(h) for h in proof]
    assert verify_inclusion(CT_LEAVES[index], index, size, as_bytes, tree_root)


@pytest.mark.parametrize(("old_size", "new_size", "proof"), CT_CONSISTENCY)
def test_reference_consistency_proofs(old_size: int, new_size: int, proof: list[str]) -> None:
    assert _hexes(consistency_proof(CT_LEAVES, old_size, new_size)) == proof
    old_root = bytes.fromhex(CT_ROOTS[old_size - 1])
    new_root = bytes.fromhex(CT_ROOTS[new_size - 1])
    as_bytes = [bytes.fromhex(h) for h in proof]
    assert verify_consistency(old_size, new_size, old_root, new_root, as_bytes)


@pytest.mark.parametrize(
    ("size", "max_blocks", "block", "roots"),
    [
        (8, 1024, 1, CT_NODES[0]),
        (8, 4, 2, CT_NODES[1]),
        (8, 3, 4, CT_NODES[2]),
        (8, 1, 8, CT_NODES[3]),
        (7, 4, 2, [*CT_NODES[1][:3], CT_NODES[0][6]]),
        (6, 1, 8, [CT_ROOTS[5]]),
        (0, 4, 1, []),
    ],
)
def test_block_roots_are_the_reference_subtrees(
    size: int, max_blocks: int, block: int, roots: list[str]
) -> None:
    got_block, got_roots = block_roots(CT_LEAVES, size, max_blocks)
    assert got_block == block
    assert _hexes(got_roots) == roots


# --- Larger trees: the chunked fast path against the literal recursion --------------------


@pytest.mark.parametrize("size", [1023, 1024, 1025, 2048 + 1024 + 3, 4097])
def test_chunked_paths_match_the_recursive_definition(size: int) -> None:
    leaves = [i.to_bytes(4, "big") for i in range(size)]
    expected = ref_mth(leaves)
    assert root(leaves) == expected
    builder = TreeBuilder()
    builder.extend(leaves)
    assert builder.root() == expected
    for index in (0, 1000, size // 2, size - 1):
        assert inclusion_proof(leaves, index) == ref_path(index, leaves)
    for old in (1, min(1024, size - 1), size // 3, size - 1):
        assert consistency_proof(leaves, old) == ref_subproof(old, leaves, True)


@pytest.mark.slow
def test_a_million_leaves_stream_and_batch_agree() -> None:
    leaves = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(1_000_003)]
    builder = TreeBuilder()
    builder.extend(leaves)
    tree_root = root(leaves)
    assert builder.root() == tree_root
    index = 777_777
    proof = inclusion_proof(leaves, index)
    assert len(proof) == 20
    assert verify_inclusion(leaves[index], index, len(leaves), proof, tree_root)


# --- Bad arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: root(CT_LEAVES, 9), "exceeds"),
        (lambda: root(CT_LEAVES, -1), "non-negative"),
        (lambda: inclusion_proof(CT_LEAVES, 8), "out of range"),
        (lambda: inclusion_proof(CT_LEAVES, -1), "out of range"),
        (lambda: inclusion_proof(CT_LEAVES, 3, 3), "out of range"),
        (lambda: inclusion_proof([], 0), "out of range"),
        (lambda: consistency_proof(CT_LEAVES, 5, 4), "exceeds new tree size"),
        (lambda: consistency_proof(CT_LEAVES, -1), "non-negative"),
        (lambda: consistency_proof(CT_LEAVES, 1, 9), "exceeds the 8 leaves"),
        (lambda: block_roots(CT_LEAVES, 9), "exceeds"),
        (lambda: block_roots(CT_LEAVES, 8, 0), "max_blocks"),
        (lambda: first_divergent_block(0, [], CT_LEAVES, 0), "block size"),
        (lambda: first_divergent_block(2, [EMPTY_ROOT], CT_LEAVES, 8), "needs 4"),
    ],
)
def test_bad_arguments_raise_value_error(call: Callable[[], object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_trivial_consistency_proofs_are_empty() -> None:
    assert consistency_proof(CT_LEAVES, 0) == []
    assert consistency_proof(CT_LEAVES, 8) == []
    assert verify_consistency(0, 8, EMPTY_ROOT, bytes.fromhex(CT_ROOTS[7]), [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])


def test_malformed_proofs_are_rejected_not_raised() -> None:
    r8, r1 = bytes.fromhex(CT_ROOTS[7]), bytes.fromhex(CT_ROOTS[0])
    good = inclusion_proof(CT_LEAVES, 5)
    assert verify_inclusion(CT_LEAVES[5], 5, 8, good, r8)
    for index, size, proof in [
        (5, 8, good[:-1]),
        (5, 8, [*good, good[0]]),
        (5, 8, [b"short", *good[1:]]),
        (5, 8, [b"x" * 64, *good[1:]]),
        (5, 8, []),
        (8, 8, good),
        (-1, 8, good),
        (0, 0, []),
        (5, 16, good),
        (5, 4, good),
        (5, -8, good),
    ]:
        assert not verify_inclusion(CT_LEAVES[5], index, size, proof, r8)
    assert not verify_inclusion(b"WrongLeaf", 0, 1, [], r1)
    assert not verify_inclusion(CT_LEAVES[0], 0, 1, [r1], r1)

    cons = consistency_proof(CT_LEAVES, 6)
    r6 = bytes.fromhex(CT_ROOTS[5])
    assert verify_consistency(6, 8, r6, r8, cons)
    for old, new, old_root, new_root, proof in [
        (6, 8, r6, r8, cons[:-1]),
        (6, 8, r6, r8, [*cons, r8]),
        (6, 8, r6, r8, [r6, *cons]),
        (6, 8, r6, r8, []),
        (6, 8, r6, r8, [b"", *cons[1:]]),
        (5, 8, r6, r8, cons),
        (7, 8, r6, r8, cons),
        (6, 16, r6, r8, cons),
        (6, 4, r6, r8, cons),
        (-6, 8, r6, r8, cons),
        (6, 8, r8, r6, cons),
        (0, 8, r6, r8, []),
        (0, 8, EMPTY_ROOT, r8, cons),
        (8, 8, r8, r8, cons),
        (8, 8, r6, r8, []),
        (1, 2, r1, r1, []),
    ]:
        assert not verify_consistency(old, new, old_root, new_root, proof)


def test_first_divergent_block_reads_only_the_checkpointed_prefix() -> None:
    block, roots = block_roots(CT_LEAVES, 6, max_blocks=2)
    assert block == 4
    grown = [*CT_LEAVES, b"appended later"]
    assert first_divergent_block(block, roots, grown, 6) is None
    rewritten = list(grown)
    rewritten[5] = b"rewritten"
    assert first_divergent_block(block, roots, rewritten, 6) == 1


# --- Properties -------------------------------------------------------------------------------


def _record_hashes(count: int, salt: bytes) -> list[bytes]:
    return [hashlib.sha256(salt + i.to_bytes(2, "big")).digest() for i in range(count)]


# Hypothesis keeps plain lists short, so half the cases are ledger-like record hashes with
# a tree size drawn uniformly up to 200; the other half exercise empty and repeated leaves.
leaf_lists = st.lists(st.binary(max_size=40), min_size=1, max_size=200) | st.builds(
    _record_hashes, st.integers(1, 200), st.binary(max_size=8)
)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[list[bytes], int, int]:
    leaves = draw(leaf_lists)
    size = draw(st.integers(1, len(leaves)))
    return leaves, draw(st.integers(0, size - 1)), size


@st.composite
def tree_and_sizes(draw: st.DrawFn) -> tuple[list[bytes], int, int]:
    leaves = draw(leaf_lists)
    new_size = draw(st.integers(1, len(leaves)))
    return leaves, draw(st.integers(1, new_size)), new_size


def _flip(proof: list[bytes], item: int, pos: int, mask: int) -> list[bytes]:
    damaged = bytearray(proof[item])
    damaged[pos] ^= mask
    return [*proof[:item], bytes(damaged), *proof[item + 1 :]]


@settings(deadline=None)
@given(tree_and_index(), st.data())
def test_inclusion_proofs_verify_and_resist_tampering(
    case: tuple[list[bytes], int, int], data: st.DataObject
) -> None:
    leaves, index, size = case
    tree_root = root(leaves, size)
    proof = inclusion_proof(leaves, index, size)
    assert proof == ref_path(index, leaves[:size])
    assert verify_inclusion(leaves[index], index, size, proof, tree_root)

    other_root = data.draw(st.binary(min_size=32, max_size=32))
    assume(other_root != tree_root)
    assert not verify_inclusion(leaves[index], index, size, proof, other_root)
    if proof:
        item = data.draw(st.integers(0, len(proof) - 1))
        pos = data.draw(st.integers(0, 31))
        mask = data.draw(st.integers(1, 255))
        damaged = _flip(proof, item, pos, mask)
        assert not verify_inclusion(leaves[index], index, size, damaged, tree_root)
    if size > 1:
        wrong_index = data.draw(st.integers(0, size - 1).filter(lambda i: i != index))
        if leaves[wrong_index] != leaves[index]:
            assert not verify_inclusion(leaves[index], wrong_index, size, proof, tree_root)


@settings(deadline=None)
@given(tree_and_sizes(), st.data())
def test_consistency_proofs_verify_and_resist_tampering(
    case: tuple[list[bytes], int, int], data: st.DataObject
) -> None:
    leaves, old_size, new_size = case
    old_root, new_root = root(leaves, old_size), root(leaves, new_size)
    proof = consistency_proof(leaves, old_size, new_size)
    if old_size < new_size:
        assert proof == ref_subproof(old_size, leaves[:new_size], True)
    assert verify_consistency(old_size, new_size, old_root, new_root, proof)

    other = data.draw(st.binary(min_size=32, max_size=32))
    assume(other not in (old_root, new_root))
    assert not verify_consistency(old_size, new_size, other, new_root, proof)
    assert not verify_consistency(old_size, new_size, old_root, other, proof)
    if proof:
        item = data.draw(st.integers(0, len(proof) - 1))
        pos = data.draw(st.integers(0, 31))
        mask = data.draw(st.integers(1, 255))
        damaged = _flip(proof, item, pos, mask)
        assert not verify_consistency(old_size, new_size, old_root, new_root, damaged)


@settings(deadline=None)
@given(leaf_lists)
def test_tree_builder_agrees_with_root_at_every_prefix(leaves: list[bytes]) -> None:
    builder = TreeBuilder()
    for size, data in enumerate(leaves, start=1):
        builder.append(data)
        assert builder.size == size
        assert builder.root() == root(leaves, size) == ref_mth(leaves[:size])


@settings(deadline=None)
@given(leaf_lists, st.data())
def test_block_roots_locate_the_first_rewritten_leaf(
    leaves: list[bytes], data: st.DataObject
) -> None:
    size = data.draw(st.integers(1, len(leaves)))
    max_blocks = data.draw(st.integers(1, 16) | st.just(1024))
    block, roots = block_roots(leaves, size, max_blocks)

    blocks = -(-size // block)
    assert block & (block - 1) == 0
    assert blocks <= max_blocks
    assert block == 1 or -(-size // (block // 2)) > max_blocks
    assert len(roots) == blocks
    assert first_divergent_block(block, roots, leaves, size) is None

    first = data.draw(st.integers(0, size - 1))
    rewritten = list(leaves)
    for i in data.draw(st.sets(st.integers(first, size - 1), max_size=5)) | {first}:
        rewritten[i] = leaves[i] + b"\xff"
    assert first_divergent_block(block, roots, rewritten, size) == first // block
