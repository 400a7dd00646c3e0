"""The Store protocol: what every backend (SQLite, PostgreSQL, later HTTP) must do.

A description of behaviour only; never holds state or imports a database driver.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from lineal.ledger.chain import Commit, Record
from lineal.ledger.verify import Problem
from lineal.model.entities import Agent, Artifact, Edge, Run
from lineal.model.ops import Op
from lineal.model.refs import Ref


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What `lineal verify` found: counts, or the first problem."""

    problem: Problem | None
    records: int = 0
    commits: int = 0
    agents: int = 0
    redacted: int = 0
    projection_rows: int = 0
    head: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problem": None
            if self.problem is None
            else {"seq": self.problem.seq, "what": self.problem.what},
            "records": self.records,
            "commits": self.commits,
            "agents": self.agents,
            "redacted": self.redacted,
            "projection_rows": self.projection_rows,
            "head": self.head,
        }


@runtime_checkable
class Store(Protocol):
    """A ledger with its projections, appended to in whole transactions."""

    uri: str

    def atomic(self) -> AbstractContextManager[None]:
        """One transaction (nested calls become savepoints); signed and committed at exit."""

    def append(self, ops: Op | Iterable[Op]) -> list[Record]:
        """Append ops as ledger records and project them, all or nothing."""

    def head(self) -> tuple[int, str]:
        """(last seq, its hash); (0, GENESIS) when empty."""

    def records(
        self,
        *,
        after: int = 0,
        limit: int | None = None,
        op: str | None = None,
        newest_first: bool = False,
    ) -> Iterator[Record]:
        """Stored records in seq order (or newest first)."""

    def commits(self) -> Iterator[Commit]: ...

    def leaf_hashes(self, size: int | None = None) -> list[bytes]:
        """Record hashes (raw bytes) of the first ``size`` records: Merkle leaves."""

    def agents(self) -> list[Agent]: ...

    def resolve(self, ref: Ref) -> Artifact | Run:
        """The artifact or run a reference names, or NotFound."""

    def edges(self, node: str) -> list[Edge]:
        """Edges touching ``node`` (as parent or child)."""

    def run_details(self, run_id: str) -> dict[str, Any]:
        """Params, last metric values and tags of a run."""

    def artifact_details(self, artifact: Artifact) -> dict[str, Any]:
        """Versions, aliases and tags of an artifact."""

    def verify(self) -> VerifyReport:
        """Check chain, payloads, signatures and projections (see lineal.ledger.verify)."""

    def schema_version(self) -> int: ...

    def close(self) -> None: ...
