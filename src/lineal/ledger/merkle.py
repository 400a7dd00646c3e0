"""RFC 6962 Merkle tree heads, inclusion and consistency proofs over a ledger's record hashes.

Pure functions over lists of leaf bytes; never touches a store, a file or the clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "TreeBuilder",
    "block_roots",
    "consistency_proof",
    "first_divergent_block",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

_sha256 = hashlib.sha256
_HASH_LEN = 32
# Leaves are hashed and folded in perfect subtrees of 2**_CHUNK_HEIGHT at a time: list
# comprehensions are several times faster than one Python call per node, and memory stays
# bounded by the chunk size rather than by the tree size.
_CHUNK_HEIGHT = 10

EMPTY_ROOT = _sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 || data)."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: SHA-256(0x01 || left || right)."""
    return _sha256(b"\x01" + left + right).digest()


class TreeBuilder:
    """Append-only Merkle tree head, O(log n) memory, for streaming leaves from a cursor."""

    __slots__ = ("_frontier", "_size")

    def __init__(self) -> None:
        # Roots of the perfect subtrees that make up the tree, heights strictly decreasing:
        # exactly one per set bit of the size, as in a compact range.
        self._frontier: list[tuple[int, bytes]] = []
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    def append(self, data: bytes) -> None:
        """Add one leaf (its data; the leaf hash is applied here)."""
        self._push(0, leaf_hash(data))

    def extend(self, items: Iterable[bytes]) -> None:
        for data in items:
            self._push(0, leaf_hash(data))

    def root(self) -> bytes:
        """MTH of every leaf appended so far."""
        if not self._frontier:
            return EMPTY_ROOT
        acc = self._frontier[-1][1]
        for _, left in reversed(self._frontier[:-1]):
            acc = node_hash(left, acc)
        return acc

    def _push(self, height: int, digest: bytes) -> None:
        # Callers guarantee size is a multiple of 2**height, so this is binary addition.
        self._size += 1 << height
        while self._frontier and self._frontier[-1][0] == height:
            digest = node_hash(self._frontier.pop()[1], digest)
            height += 1
        self._frontier.append((height, digest))


def _perfect_root(hashes: list[bytes]) -> bytes:
    while len(hashes) > 1:
        hashes = [
            _sha256(b"\x01" + left + right).digest()
            for left, right in zip(hashes[::2], hashes[1::2], strict=True)
        ]
    return hashes[0]


def _range_root(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    """MTH(leaves[lo:hi])."""
    builder = TreeBuilder()
    pos = lo
    while pos < hi:
        # Full chunks first, then the remainder by descending powers of two, keeps every
        # push aligned for the frontier.
        height = min(_CHUNK_HEIGHT, (hi - pos).bit_length() - 1)
        end = pos + (1 << height)
        chunk = [_sha256(b"\x00" + data).digest() for data in leaves[pos:end]]
        builder._push(height, _perfect_root(chunk))
        pos = end
    return builder.root()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2): RFC 6962's k."""
    return 1 << ((n - 1).bit_length() - 1)


def _checked_size(leaves: Sequence[bytes], size: int | None) -> int:
    if size is None:
        return len(leaves)
    if size < 0:
        raise ValueError(f"tree size must be non-negative, got {size}")
    if size > len(leaves):
        raise ValueError(f"tree size {size} exceeds the {len(leaves)} leaves given")
    return size


def root(leaves: Sequence[bytes], size: int | None = None) -> bytes:
    """MTH of the first `size` leaves (default: all of them)."""
    return _range_root(leaves, 0, _checked_size(leaves, size))


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int | None = None) -> list[bytes]:
    """RFC 6962 PATH(index, D[size]): sibling hashes from the leaf up to the root."""
    n = _checked_size(leaves, size)
    if not 0 <= index < n:
        raise ValueError(f"leaf index {index} is out of range for tree size {n}")
    path: list[bytes] = []
    lo, hi = 0, n
    # Walks the RFC recursion top-down, so siblings come out root-first.
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            path.append(_range_root(leaves, mid, hi))
            hi = mid
        else:
            path.append(_range_root(leaves, lo, mid))
            lo = mid
    path.reverse()
    return path


def consistency_proof(
    leaves: Sequence[bytes], old_size: int, new_size: int | None = None
) -> list[bytes]:
    """RFC 6962 PROOF(old_size, D[new_size]); empty when old_size is 0 or equals new_size."""
    n = _checked_size(leaves, new_size)
    if old_size < 0:
        raise ValueError(f"old tree size must be non-negative, got {old_size}")
    if old_size > n:
        raise ValueError(f"old tree size {old_size} exceeds new tree size {n}")
    if old_size in (0, n):
        return []
    proof: list[bytes] = []
    lo, hi, whole_old_tree = 0, n, True
    # SUBPROOF(m, D[lo:hi], b) unrolled top-down; reversed at the end like PATH.
    while hi != old_size:
        mid = lo + _split(hi - lo)
        if old_size <= mid:
            proof.append(_range_root(leaves, mid, hi))
            hi = mid
        else:
            proof.append(_range_root(leaves, lo, mid))
            lo, whole_old_tree = mid, False
    if not whole_old_tree:
        proof.append(_range_root(leaves, lo, hi))
    proof.reverse()
    return proof


def _well_formed(proof: Sequence[bytes]) -> bool:
    return all(isinstance(p, bytes) and len(p) == _HASH_LEN for p in proof)


def verify_inclusion(
    leaf_data: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does `proof` place `leaf_data` at `index` in the tree `root`?

    The proof does not pin `size` (a left-subtree path fits several sizes); take the size
    from the same signed checkpoint as `root`.
    """
    if not 0 <= index < size or not _well_formed(proof):
        return False
    fn, sn, acc = index, size - 1, leaf_hash(leaf_data)
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            acc = node_hash(sibling, acc)
            # Skip the levels where this node is a lone right edge carried up unhashed.
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            acc = node_hash(acc, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and acc == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree `new_root` an append-only extension of `old_root`?"""
    if not 0 <= old_size <= new_size or not _well_formed(proof):
        return False
    if old_size == 0:
        # Everything extends the empty tree, but a checkpoint claiming size 0 must say so.
        return not proof and old_root == EMPTY_ROOT
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # A perfect old tree is itself a node of the new one, so the proof omits it.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    old_acc = new_acc = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            old_acc = node_hash(node, old_acc)
            new_acc = node_hash(node, new_acc)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            new_acc = node_hash(new_acc, node)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and old_acc == old_root and new_acc == new_root


def block_roots(
    leaves: Sequence[bytes], size: int, max_blocks: int = 1024
) -> tuple[int, list[bytes]]:
    """Split the first `size` leaves into at most `max_blocks` power-of-two blocks.

    Returns (block, roots) with roots[i] = MTH(leaves[i*block:(i+1)*block]), the last block
    possibly partial. Stored beside a checkpoint, they let a later audit that finds the
    checkpoint broken narrow the first rewritten record down to one block.
    """
    n = _checked_size(leaves, size)
    if max_blocks < 1:
        raise ValueError(f"max_blocks must be at least 1, got {max_blocks}")
    block = 1
    while -(-n // block) > max_blocks:
        block <<= 1
    return block, [_range_root(leaves, lo, min(lo + block, n)) for lo in range(0, n, block)]


def first_divergent_block(
    block: int, old_roots: Sequence[bytes], leaves: Sequence[bytes], size: int
) -> int | None:
    """Index of the first block of `leaves` whose root differs from `old_roots`, else None.

    `block` and `size` are the values `old_roots` were computed with by `block_roots`;
    `leaves` may have grown since, only the first `size` are read.
    """
    n = _checked_size(leaves, size)
    if block < 1:
        raise ValueError(f"block size must be at least 1, got {block}")
    expected = -(-n // block)
    if len(old_roots) != expected:
        raise ValueError(
            f"{len(old_roots)} block roots given; size {n} in blocks of {block} needs {expected}"
        )
    for i, old in enumerate(old_roots):
        lo = i * block
        if _range_root(leaves, lo, min(lo + block, n)) != old:
            return i
    return None
