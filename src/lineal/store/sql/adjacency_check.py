"""Checks of the lineage index (lineal.store.sql.adjacency): the shape of a file's arrays
before a process trusts them, and verify's comparison with an index built afresh.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lineal.store.sql.adjacency import ARRAYS, Adjacency, pointers

if TYPE_CHECKING:
    from lineal.store.sql.adjacency import Ints
    from lineal.store.sql.projections import Sql


def check(db: Sql, index: Adjacency) -> tuple[int, str] | None:
    """verify's check of a store's lineage index: ``(seq, what is wrong)`` or None. The index
    in use (brought to the head first) and, on SQLite, the file as a new process would load
    it, each compared with an index built afresh from the edges table up to its seq."""
    index.refresh(db)
    found = index.disagreement(db)
    if found is not None:
        return index.seq, f"the lineage index in memory disagrees with the edges table: {found}"
    if index.file is not None and index.file.exists():
        stored = Adjacency(index.file)
        stored._load(db)
        found = stored.disagreement(db) if stored.last == "loaded" else None
        if found is not None:
            return stored.seq, (
                f"the lineage index file {index.file} disagrees with the edges table: {found} "
                "(delete the file: the next lineage query builds it again)"
            )
    return None


def consistent(np: Any, arrays: dict[str, Ints], kinds: int, roles: int) -> bool:  # noqa: PLR0911
    """Whether the file's arrays have the shape of an index: equal columns, codes within the
    tables, seqs ascending, each order a permutation grouping its column, pointers to match."""
    m = arrays["parent"].shape[0]
    if any(arrays[name].shape != (m,) for name in ARRAYS[:7] if name != "up_ptr"):
        return False
    if arrays["down_order"].shape != (m,):
        return False
    if m == 0:
        return bool(arrays["up_ptr"].shape[0] >= 1 and arrays["down_ptr"].shape[0] >= 1)
    ends = np.concatenate((arrays["parent"], arrays["child"]))
    if ends.min() < 1 or arrays["kind"].min() < 0 or arrays["kind"].max() >= kinds:
        return False
    if arrays["role"].min() < 0 or arrays["role"].max() >= roles:
        return False
    if np.any(np.diff(arrays["seq"]) < 0):
        return False
    top = int(ends.max())
    for order, ptr, keys in (
        (arrays["up_order"], arrays["up_ptr"], arrays["child"]),
        (arrays["down_order"], arrays["down_ptr"], arrays["parent"]),
    ):
        if not np.array_equal(np.sort(order), np.arange(m)):
            return False
        if not np.array_equal(ptr, pointers(np, keys, top)):
            return False
        grouped = keys[order]
        if np.any(np.diff(grouped) < 0):
            return False
    return True
