"""The lineage index: the edges projection as CSR arrays of node numbers, both ways.

Every edge of the edges table, in recording (seq) order, as five columns: parent and child
node numbers (node_ids), seq, kind and role (codes into small tables). Two orders over them
group the edges by child (walking up) and by parent (walking down), each with a pointer
array ``ptr`` such that the edges at node ``n`` are ``order[ptr[n]:ptr[n + 1]]``. Edges added
since the orders were built sit in a tail, grouped the same way by sorted keys, until the tail
grows to an eighth of the whole and the orders are built again. A walk is a breadth-first
pass over these arrays, a level at a time (numpy), keeping an edge only if its seq is at or
before the moment asked about: edges are never removed or changed once projected (the table
only gains rows, ``ON CONFLICT DO NOTHING`` keeping the first), so an as-of walk is the
present graph cut at that seq, exactly as the recursive SQL reads it.

The index stands for one ledger prefix: its ``seq`` and the hash of the record at that seq.
Before each walk the store's head is read; a longer ledger whose record at ``seq`` still has
that hash means the edges with a later seq are added (incrementally), anything else (a
shorter ledger, another hash: a rolled-back transaction, another file) means it is built
again from the table. On SQLite it is also kept in a file beside the database
(``DB.lineage-index``), loaded and checked by the next process: its prefix as above and the
number of edges the table holds up to that seq, besides the arrays' own shape; a file that
fails any check is ignored and replaced. On PostgreSQL each server process keeps its own in
memory and catches up the same way, so several workers each answer from the ledger's head.

numpy loads here, with the first lineage walk (and verify), never on a command's path that
walks no lineage.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from lineal.store.sql.projections import Sql

    Ints = npt.NDArray[np.int64]

#: Bumped when the file's layout changes; a file of another format is rebuilt.
FORMAT = 1
#: The file beside a SQLite database.
SUFFIX = ".lineage-index"
#: The ledger's head row, (seq, hash); no row on an empty ledger.
HEAD = "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1"
_HASH_AT = "SELECT hash FROM ledger WHERE seq = ?"
_EDGES = "SELECT parent_id, child_id, seq, kind, role FROM edges"
#: Save again once this many edges were added since the file was written.
_SAVE_AFTER = 1024


def _np() -> Any:
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy is a core dependency
        from lineal.errors import InvalidInput

        raise InvalidInput("lineage walks need numpy", hint="pip install 'numpy>=1.26'") from None
    return numpy


class Adjacency:
    """The index of one store's edges (see the module's doc). Not thread-safe on its own: the
    store holds its lock around every use."""

    def __init__(self, file: Path | None = None) -> None:
        np = _np()
        self.file = file
        self.seq = -1  # no ledger prefix yet: the first use builds
        self.hash = ""
        self.kinds: list[str] = []
        self.roles: list[str] = []
        self._kind_code: dict[str, int] = {}
        self._role_code: dict[str, int] = {}
        empty = np.zeros(0, np.int64)
        self.parent: Ints = empty
        self.child: Ints = empty
        self.seqs: Ints = empty
        self.kind: Ints = empty
        self.role: Ints = empty
        self.base = 0  # edges [0, base) are in the CSR orders; the rest is the tail
        self.top = 0  # the highest node number an edge names
        #: the five columns' storage, room to grow: the columns are views of its first rows
        self._room: Ints = np.zeros((5, 0), np.int64)
        self.up_ptr: Ints = np.zeros(1, np.int64)
        self.up_order: Ints = empty
        self.down_ptr: Ints = np.zeros(1, np.int64)
        self.down_order: Ints = empty
        self._tail: tuple[Ints, Ints, Ints, Ints] = (empty, empty, empty, empty)
        self.saved_edges = -1
        #: how the last refresh brought the index up to date: loaded, built, caught-up, current
        self.last = ""

    @property
    def edges(self) -> int:
        return int(self.parent.shape[0])

    @property
    def nodes(self) -> int:
        """One more than the highest node number an edge names (numbers start at 1)."""
        return self.top + 1

    def _top(self) -> int:
        if not self.edges:
            return 0
        return int(max(self.parent.max(), self.child.max()))

    # -- keeping up with the edges table ----------------------------------------------------
    def refresh(self, db: Sql, head: Sequence[Any] | None = None) -> None:
        """Bring the index to the ledger's head (``head``: its row, when already read with
        another query): load the file (first use), then add the edges recorded since its seq,
        or build it again when its prefix is not the ledger's."""
        if head is None:
            head = db.one(HEAD) or ()
        seq, digest = (int(head[0]), str(head[1])) if head else (0, "")
        if self.seq < 0 and self.file is not None:
            self._load(db)
        if (seq, digest) == (self.seq, self.hash):
            self.last = "current"
            return
        if self.seq < 0 or seq < self.seq or not self._holds_prefix(db):
            self._build(db, seq, digest)
            self.last = "built"
        else:
            self._catch_up(db, seq, digest)
            self.last = "caught-up"
        if self.file is not None and (
            self.saved_edges < 0 or self.edges - self.saved_edges >= _SAVE_AFTER
        ):
            self._save()

    def _holds_prefix(self, db: Sql) -> bool:
        if self.seq == 0:
            return True
        row = db.one(_HASH_AT, (self.seq,))
        return row is not None and str(row[0]) == self.hash

    def _rows(self, db: Sql, after: int, upto: int) -> tuple[Ints, ...]:
        np = _np()
        rows = db.all(f"{_EDGES} WHERE seq > ? AND seq <= ? ORDER BY seq", (after, upto))
        if not rows:
            empty = np.zeros(0, np.int64)
            return empty, empty, empty, empty, empty
        parent, child, seq, kinds, roles = zip(*rows, strict=True)
        return (
            np.fromiter(parent, np.int64, len(rows)),
            np.fromiter(child, np.int64, len(rows)),
            np.fromiter(seq, np.int64, len(rows)),
            np.fromiter((self._code(self._kind_code, self.kinds, k) for k in kinds), np.int64),
            np.fromiter((self._code(self._role_code, self.roles, r) for r in roles), np.int64),
        )

    @staticmethod
    def _code(codes: dict[str, int], table: list[str], text: str) -> int:
        code = codes.get(text)
        if code is None:
            code = codes[text] = len(table)
            table.append(text)
        return code

    def _build(self, db: Sql, seq: int, digest: str) -> None:
        np = _np()
        self.kinds, self.roles, self._kind_code, self._role_code = [], [], {}, {}
        parent, child, seqs, kind, role = self._rows(db, -1, seq)
        self.parent, self.child, self.seqs, self.kind, self.role = parent, child, seqs, kind, role
        self._room = np.zeros((5, 0), np.int64)
        self.top = self._top()
        self.seq, self.hash = seq, digest
        self._order()

    def _catch_up(self, db: Sql, seq: int, digest: str) -> None:
        np = _np()
        added = self._rows(db, self.seq, seq)
        count = int(added[0].shape[0])
        if count:
            m = self.edges
            if self._room.shape[1] < m + count:  # grow by half at least: amortized copies
                room = np.zeros((5, max(m + count, m + m // 2)), np.int64)
                room[:, :m] = (self.parent, self.child, self.seqs, self.kind, self.role)
                self._room = room
            self._room[:, m : m + count] = added
            self.parent, self.child, self.seqs, self.kind, self.role = self._room[:, : m + count]
            self.top = max(self.top, int(added[0].max()), int(added[1].max()))
        self.seq, self.hash = seq, digest
        if (self.edges - self.base) * 8 > self.edges:
            self._order()
        else:
            self._tail_order()

    def _order(self) -> None:
        """Group every edge by child and by parent (stable: seq order within a node)."""
        np = _np()
        top = self.top
        self.up_order = np.argsort(self.child, kind="stable")
        self.down_order = np.argsort(self.parent, kind="stable")
        self.up_ptr = pointers(np, self.child, top)
        self.down_ptr = pointers(np, self.parent, top)
        self.base = self.edges
        self._tail_order()

    def _tail_order(self) -> None:
        np = _np()
        base = self.base
        child, parent = self.child[base:], self.parent[base:]
        up = np.argsort(child, kind="stable")
        down = np.argsort(parent, kind="stable")
        self._tail = (child[up], up + base, parent[down], down + base)

    # -- walking ------------------------------------------------------------------------------
    def _leaving(self, frontier: Ints, upstream: bool) -> Ints:
        """The positions of the edges at the frontier's nodes, going up or down."""
        np = _np()
        ptr, order = (self.up_ptr, self.up_order) if upstream else (self.down_ptr, self.down_order)
        parts = []
        inside = frontier[frontier < ptr.shape[0] - 1]
        if inside.shape[0]:
            parts.append(_gather(np, ptr[inside], ptr[inside + 1], order))
        if self.base < self.edges:
            keys, positions = self._tail[:2] if upstream else self._tail[2:]
            lo = np.searchsorted(keys, frontier, "left")
            hi = np.searchsorted(keys, frontier, "right")
            parts.append(_gather(np, lo, hi, positions))
        if not parts:
            return cast("Ints", np.zeros(0, np.int64))
        return parts[0] if len(parts) == 1 else cast("Ints", np.concatenate(parts))

    def walk(
        self, seeds: Sequence[int], *, upstream: bool, depth: int | None, as_of: int | None
    ) -> tuple[Ints, Ints, Ints]:
        """(node numbers, their least steps from the seeds, edge positions in seq order): every
        node reachable from ``seeds`` within ``depth`` steps (None: all) by edges recorded by
        ``as_of``, and the edges among them."""
        np = _np()
        start = np.unique(np.asarray(seeds, np.int64))
        size = max(self.nodes, int(start.max()) + 1 if start.shape[0] else 0)
        seen = np.zeros(size + 1, np.bool_)
        seen[start] = True
        far_end = self.parent if upstream else self.child
        levels, kept = [start], []
        frontier, steps = start, 0
        while frontier.shape[0] and (depth is None or steps < depth):
            edges = self._leaving(frontier, upstream)
            if as_of is not None:
                edges = edges[self.seqs[edges] <= as_of]
            kept.append(edges)
            far = far_end[edges]
            frontier = np.unique(far[~seen[far]])
            seen[frontier] = True
            levels.append(frontier)
            steps += 1
        if frontier.shape[0] and depth is not None:  # the last level: edges within the answer
            edges = self._leaving(frontier, upstream)
            if as_of is not None:
                edges = edges[self.seqs[edges] <= as_of]
            kept.append(edges[seen[far_end[edges]]])
        nodes = np.concatenate(levels)
        depths = np.repeat(np.arange(len(levels), dtype=np.int64), [a.shape[0] for a in levels])
        found = np.sort(np.concatenate(kept)) if kept else np.zeros(0, np.int64)
        return nodes, depths, found

    # -- the file beside a SQLite store ----------------------------------------------------
    def _load(self, db: Sql) -> None:
        """Take the file's index if it passes every check; otherwise leave the index empty (the
        refresh that called this builds it)."""
        np = _np()
        assert self.file is not None  # noqa: S101 - only called with a file
        try:
            with self.file.open("rb") as raw, np.load(raw, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                arrays = {name: np.asarray(data[name], np.int64) for name in ARRAYS}
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
            return  # missing or unreadable: built again
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            return
        try:
            seq, digest = int(meta["seq"]), str(meta["hash"])
            kinds, roles = [str(k) for k in meta["kinds"]], [str(r) for r in meta["roles"]]
        except (KeyError, TypeError, ValueError):
            return
        from lineal.store.sql.adjacency_check import consistent

        if not consistent(np, arrays, len(kinds), len(roles)):
            return
        if seq > 0:
            row = db.one(_HASH_AT, (seq,))
            if row is None or str(row[0]) != digest:
                return
        count = db.one("SELECT COUNT(*) FROM edges WHERE seq <= ?", (seq,))
        if count is None or int(count[0]) != arrays["parent"].shape[0]:
            return
        self.parent, self.child, self.seqs = arrays["parent"], arrays["child"], arrays["seq"]
        self.kind, self.role = arrays["kind"], arrays["role"]
        self.up_order, self.up_ptr = arrays["up_order"], arrays["up_ptr"]
        self.down_order, self.down_ptr = arrays["down_order"], arrays["down_ptr"]
        self.kinds, self.roles = kinds, roles
        self._kind_code = {k: i for i, k in enumerate(kinds)}
        self._role_code = {r: i for i, r in enumerate(roles)}
        self.base = self.edges
        self._room = np.zeros((5, 0), np.int64)
        self.top = self._top()
        self._tail_order()
        self.seq, self.hash = seq, digest
        self.saved_edges = self.edges
        self.last = "loaded"

    def _save(self) -> None:
        """Write the file whole, then put it in place (a reader sees the old file or the new)."""
        np = _np()
        assert self.file is not None  # noqa: S101 - only called with a file
        if self.base < self.edges:
            self._order()
        meta = {
            "format": FORMAT, "seq": self.seq, "hash": self.hash,
            "kinds": self.kinds, "roles": self.roles,
        }  # fmt: skip
        try:
            fd, temp = tempfile.mkstemp(prefix=self.file.name, dir=self.file.parent)
        except OSError:
            return  # a read-only folder: the index lives in memory only
        try:
            with os.fdopen(fd, "wb") as out:
                np.savez(out, meta=np.array(json.dumps(meta)), **self._arrays())
            Path(temp).replace(self.file)
        except OSError:
            with contextlib.suppress(OSError):
                Path(temp).unlink()
            return
        self.saved_edges = self.edges

    def _arrays(self) -> dict[str, Ints]:
        return {
            "parent": self.parent, "child": self.child, "seq": self.seqs, "kind": self.kind,
            "role": self.role, "up_order": self.up_order, "up_ptr": self.up_ptr,
            "down_order": self.down_order, "down_ptr": self.down_ptr,
        }  # fmt: skip

    # -- verify -------------------------------------------------------------------------------
    def disagreement(self, db: Sql) -> str | None:
        """What differs between this index and one built afresh from the edges table up to its
        seq (None: nothing). verify's check: it trusts neither the file nor the memory."""
        np = _np()
        fresh = Adjacency()
        fresh._build(db, self.seq, self.hash)
        if self.base < self.edges:
            self._order()
        if fresh.edges != self.edges:
            return (
                f"it holds {self.edges} edges up to seq {self.seq}, the edges table {fresh.edges}"
            )
        mine, theirs = self._arrays(), fresh._arrays()
        for name in ("parent", "child", "seq"):
            if not np.array_equal(mine[name], theirs[name]):
                return f"its {name} column differs from the edges table"
        if [self.kinds[k] for k in self.kind.tolist()] != [
            fresh.kinds[k] for k in fresh.kind.tolist()
        ]:
            return "its edge kinds differ from the edges table"
        if [self.roles[r] for r in self.role.tolist()] != [
            fresh.roles[r] for r in fresh.role.tolist()
        ]:
            return "its edge roles differ from the edges table"
        for name in ("up_order", "up_ptr", "down_order", "down_ptr"):
            if not np.array_equal(mine[name], theirs[name]):
                return f"its {name.replace('_', ' ')} differs from the edges table's"
        return None


ARRAYS = ("parent", "child", "seq", "kind", "role", "up_order", "up_ptr", "down_order", "down_ptr")


def pointers(np: Any, keys: Ints, top: int) -> Ints:
    """``ptr`` with ``ptr[n]:ptr[n + 1]`` the span of node ``n`` in the keys' stable order."""
    counts = np.bincount(keys, minlength=top + 1) if keys.shape[0] else np.zeros(top + 1, np.int64)
    ptr = np.zeros(top + 2, np.int64)
    np.cumsum(counts, out=ptr[1:])
    return cast("Ints", ptr)


def _gather(np: Any, starts: Ints, stops: Ints, order: Ints) -> Ints:
    """``order[starts[i]:stops[i]]`` for every i, concatenated."""
    lengths = stops - starts
    total = int(lengths.sum())
    if not total:
        return cast("Ints", np.zeros(0, np.int64))
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return cast("Ints", order[np.arange(total, dtype=np.int64) + offsets])
