"""Reading a batch's checks ahead: what a run of artifact and run records needs to read,
read in one go before any of them is written (see Ahead).

Part of lineal.store.sql.projections, kept apart by concept; like it, never writes the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lineal.model.ops import ArtifactRecord, RunFinish, RunStart
from lineal.store.sql import project_runs

if TYPE_CHECKING:
    from lineal.model.ops import Op
    from lineal.store.sql.projections import Sql


class Ahead:
    """What a batch of artifact and run records reads, read before any of them is written, in
    one go (on PostgreSQL, one round trip with the ledger's lock held instead of one per kind
    of read): then kept up to date by each projection as it writes, so every op sees exactly
    what reading after the ops before it would have found."""

    __slots__ = ("kinds", "latest", "runs", "versions")

    def __init__(
        self,
        kinds: dict[str, str],
        versions: set[tuple[Any, ...]],
        latest: dict[tuple[str, str], int],
        runs: dict[str, tuple[str, str]],
    ) -> None:
        #: an unnamed node's stored kind
        self.kinds = kinds
        #: (digest, kind, name) of every version of the batch's digests
        self.versions = versions
        #: the latest version number of each (kind, name) the batch names
        self.latest = latest
        #: a run's (status, started)
        self.runs = runs


#: The ops whose reads a batch of them alone makes ahead (see Ahead).
_READ_AHEAD = frozenset({ArtifactRecord, RunStart, RunFinish})
UNNAMED_KINDS = "SELECT node, kind FROM artifacts WHERE node IN ({})"
VERSIONS_OF = "SELECT digest, kind, name FROM versions WHERE digest IN ({})"
_LATEST = (
    "SELECT name, MAX(version) FROM versions WHERE kind = '{}' AND name IN ({{}}) GROUP BY name"
)


def read_ahead(db: Sql, items: Sequence[tuple[int, str, Op]]) -> Ahead | None:
    """What ``items`` read, read at once, when they are artifact and run records alone and
    more than one kind of read is to be made; else None (each reads as it goes)."""
    if len(items) < 2 or any(type(op) not in _READ_AHEAD for _, _, op in items):
        return None
    artifacts: list[Any] = [op for _, _, op in items if type(op) is ArtifactRecord]
    runs = [op.id for _, _, op in items if isinstance(op, RunStart | RunFinish)]
    named = [op for op in artifacts if op.name]
    unnamed = list(dict.fromkeys(op.digest for op in artifacts if not op.name))
    queries: list[tuple[str, Sequence[Any]]] = [
        (UNNAMED_KINDS, unnamed),
        (VERSIONS_OF, list(dict.fromkeys(op.digest for op in named))),
        (project_runs.RUNS_OF, list(dict.fromkeys(runs))),
    ]
    kinds = list(dict.fromkeys(op.kind for op in named))
    for kind in kinds:  # one of ARTIFACT_KINDS (the op checked it): safe in the text
        names = list(dict.fromkeys(op.name for op in named if op.kind == kind))
        queries.append((_LATEST.format(kind.replace("'", "''")), names))
    if sum(1 for _, values in queries if values) < 2:
        return None  # one read: as it goes, no slower
    found = db.any_of_each(queries)
    latest: dict[tuple[str, str], int] = {}
    for kind, rows in zip(kinds, found[3:], strict=True):
        latest.update(((kind, name), int(number)) for name, number in rows)
    return Ahead(
        kinds=dict(found[0]),
        versions={tuple(row) for row in found[1]},
        latest=latest,
        runs={row[0]: (str(row[1]), str(row[2])) for row in found[2]},
    )
