"""The Store protocol: what every backend (SQLite, PostgreSQL, HTTP) must do.

The only door to the database: every read a service makes is a method here, named by the
question it answers and returning plain data (entities, tuples, dicts), so a store over HTTP
answers it as well as one over SQL. A description of behaviour only; never holds state or
imports a database driver.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from lineal.ledger.chain import Commit, Record
from lineal.ledger.verify import Problem
from lineal.model.audit import AuditEvent, AuditHead, AuditReport, AuditRow
from lineal.model.entities import Agent, Artifact, Edge, Run
from lineal.model.ops import Op
from lineal.model.refs import Ref
from lineal.model.tokens import NewToken, TokenInfo
from lineal.store.answers import Answer, Columns, NodeRow

__all__ = [  # with the lineage answers' shapes, which live in lineal.store.answers
    "Answer", "Closure", "Columns", "NodeRow", "Receipt", "RunMatches", "Store",
    "VerifyReport",
]  # fmt: skip

if TYPE_CHECKING:
    from lineal.ledger.keys import Signer
    from lineal.model.filters import Expr, Field
    from lineal.model.series import Series


#: A lineage query's roots, its answer and the crashed runs among the answer's running ones
Closure = tuple[list[str], Columns, list[str]]
#: Runs a filter matched, newest first, and for each ``metrics.K@N`` field the value at that
#: step of every candidate run that has one
RunMatches = tuple[list[Run], "dict[Field, dict[str, float]]"]


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


@dataclass(frozen=True, slots=True)
class Receipt:
    """Where a batch a client signed landed: its id and seqs (``duplicate``: appended before,
    so not again)."""

    batch: str
    first_seq: int
    last_seq: int
    duplicate: bool = False
    #: the references the batch's records name (at most lineal.model.audit.MAX_REFS)
    refs: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "duplicate": self.duplicate,
            "refs": list(self.refs),
        }


@runtime_checkable
class Store(Protocol):
    """A ledger with its projections, appended to in whole transactions."""

    uri: str
    #: the key this store signs with (None: opened for reading)
    signer: Signer | None
    #: ``(message, hint)`` a write without a signing key raises, set by whoever knows why
    unsigned: tuple[str, str] | None

    def atomic(self) -> AbstractContextManager[None]:
        """One transaction (nested calls become savepoints); signed and committed at exit."""

    def append(self, ops: Op | Iterable[Op]) -> list[Record]:
        """Append ops as ledger records and project them, all or nothing."""

    def submit(self, body: bytes) -> Receipt:
        """Append a batch a client signed (lineal.store.batches) as a server: all or nothing,
        its records the client's, the commit carrying the client's signature and this store's
        own; a batch appended before (same id) is not appended again."""

    def trial(self, body: bytes, read: tuple[str, dict[str, Any]] | None = None) -> dict[str, Any]:
        """Apply a batch its agent signed (lineal.store.batches) as ``submit`` would, then run
        ``read`` (a read's name and its wire arguments, lineal.store.wire) in the same
        transaction, and roll all of it back: ``records`` (``[seq, time, hash]`` each record
        got) and ``result`` (the read's wire answer). A refusal is raised as ``submit``'s."""

    def sync(self, timeout: float | None = None) -> dict[str, Any]:
        """Send what this store holds for another (an HTTP store's spool) for up to
        ``timeout`` seconds (0: send nothing, only say). Answers ``uri``, ``pending_batches``,
        ``pending_bytes``, ``rejected`` (batches the server refused, with why) and ``error``
        (why some are still pending)."""

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

    # -- artifacts and references -------------------------------------------------------
    def get_run(self, run_id: str) -> Run:
        """The run with this id, or NotFound."""

    def unnamed(self, digest: str) -> Artifact | None:
        """The unnamed artifact holding the bytes ``digest``, if one was recorded."""

    def holders(self, digest: str) -> list[Artifact]:
        """Every node holding the bytes ``digest``, in recording order."""

    def version_of(self, kind: str, name: str, digest: str) -> int | None:
        """The version number ``kind/name`` gave the bytes ``digest`` (None: not recorded,
        or not yet: numbers are assigned by the store that accepts the record)."""

    def tags(self, node: str) -> dict[str, str]:
        """The tags ``node`` holds now."""

    def labels(self, nodes: Iterable[str]) -> dict[str, tuple[str, str]]:
        """``node -> (reference, kind)``: ``KIND/NAME@vN``, a digest, ``run/ID``, ``agent/N``."""

    def presence(
        self, nodes: Iterable[str], edges_of: Iterable[str] = ()
    ) -> tuple[dict[str, str], list[Edge]]:
        """In one read: which of ``nodes`` the store holds, each with its state (an
        artifact's kind, a run's status, ``agent``), and every edge with an end among
        ``edges_of``, in recording order (a writer's check of what a batch would add)."""

    def names(self, kind: str) -> list[str]:
        """Names that have versions of ``kind``."""

    def versions(self, kind: str, name: str) -> list[tuple[int, str, int]]:
        """``(version, digest, seq)`` of ``kind/name``'s versions, oldest first."""

    def artifacts(self, kind: str | None = None) -> list[Artifact]:
        """Every recorded artifact (of ``kind``), in recording order."""

    def latest_versions(self, kind: str | None = None) -> list[tuple[str, str, int, str, int]]:
        """``(kind, name, latest version, its digest, number of versions)`` of every name."""

    # -- aliases and the registry -------------------------------------------------------
    def held_aliases(
        self, kind: str | None = None, name: str | None = None
    ) -> list[tuple[str, str, str, int, int]]:
        """``(kind, name, alias, version, seq)`` of every alias held now."""

    def alias_holders(
        self, kind: str, name: str | None, as_of: int | None = None
    ) -> list[tuple[str, str, str, int]]:
        """``(name, alias, digest, seq)`` of each alias of ``kind`` held at ``as_of``."""

    def promotions(self, name: str, as_of: int | None = None) -> list[dict[str, Any]]:
        """Every promotion of ``model/NAME`` recorded by ``as_of``, oldest first."""

    def approvals(self, name: str, digest: str, alias: str) -> list[tuple[str, str, int]]:
        """``(agent, reason, seq)`` of each approval of this version for ``alias``."""

    def role_holders(self, as_of: int | None = None) -> list[tuple[str, str, str | None, int]]:
        """``(agent, role, granted_by, seq)`` of each role held at ``as_of`` (None: now);
        ``granted_by`` None: the store's first agent, its admin from registration."""

    def policy_record(self, as_of: int | None = None) -> dict[str, Any] | None:
        """The ``policy.apply`` in force at ``as_of`` (``seq``, ``author``, ``protected``,
        ``policies``), or None."""

    # -- lineage ------------------------------------------------------------------------
    def seq_at_time(self, when: str) -> int:
        """The last seq written at or before ``when`` (canonical UTC text); 0 if none."""

    def resolve_at(
        self, ref: Ref, as_of: int | None = None, *, every_version: bool = False
    ) -> list[str]:
        """The node ids ``ref`` named as of seq ``as_of``, or NotFound saying why."""

    def agent_at(self, name: str, as_of: int | None = None) -> str:
        """``agent/NAME`` if that agent was registered by ``as_of``, else NotFound."""

    def subgraph(
        self,
        roots: Sequence[str],
        *,
        upstream: bool,
        depth: int | None = None,
        as_of: int | None = None,
    ) -> Answer:
        """What is reachable from ``roots`` up (to parents) or down as of seq ``as_of``."""

    def path_subgraph(
        self, sources: Sequence[str], target: str, as_of: int | None = None
    ) -> Columns:
        """The nodes on any path from ``sources`` down to ``target``, depths counted from the
        sources that are on such a path."""

    def closure(
        self, root: str, *, upstream: bool, depth: int | None = None, as_of: int | None = None
    ) -> Closure:
        """One lineage query's whole read: the roots reference text ``root`` names as of
        ``as_of`` (``agent/NAME``: that agent; upstream: one node; downstream: a bare
        KIND/NAME's every version), ``subgraph`` from them, and which runs in it that say
        ``running`` have crashed (none for a past moment). One request through a server."""

    # -- runs ---------------------------------------------------------------------------
    def search_runs(
        self, expr: Expr | None, *, limit: int | None = None, with_meta: bool = True
    ) -> RunMatches:
        """The runs a parsed filter matches (None: all), newest first, crashed shown so."""

    def runs_page(
        self,
        expr: Expr | None,
        *,
        sort: str | None = None,
        offset: int = 0,
        limit: int | None = None,
        with_meta: bool = True,
    ) -> tuple[list[Run], int]:
        """``limit`` runs from ``offset`` of those a parsed filter matches (None: all), in the
        order ``sort`` names (lineal.model.run_order; None: newest first), crashed shown so;
        and how many the filter matches in all."""

    def timeline_events(self, events: Sequence[str], limit: int) -> list[dict[str, Any]]:
        """At most ``limit`` moments of the kinds ``events`` names (``versions``, ``aliases``,
        ``promotions``, ``approvals``, ``runs``), newest first: ``event``, ``seq``, ``time``,
        ``author`` and the kind's fields (lineal.store.sql.timeline)."""

    def run_keys(self) -> dict[str, list[str]]:
        """The ``params``, ``metrics`` and (current) ``tags`` keys some run has, sorted."""

    def metric_series(
        self,
        run_id: str,
        key: str | None = None,
        *,
        max_points: int | None = None,
        from_step: int | None = None,
        to_step: int | None = None,
    ) -> dict[str, Series]:
        """Every logged point of a run's metrics (or of one key), joined across batches; only
        those from step ``from_step`` to ``to_step`` (each kept; None: no bound), a key with
        none left out; with ``max_points``, at most that many per key, extremes kept
        (model.series.downsample)."""

    def crashed_runs(self) -> list[str]:
        """Ids of runs recorded as running whose process has died (see store.liveness)."""

    def finished_runs_tagged(self, key: str, value: str, *, without: str) -> list[str]:
        """Finished runs tagged ``key=value`` and not ``without``, newest first (at most 20)."""

    def tag_values_beside(self, key: str, *, where_key: str, where_value: str) -> list[str]:
        """Current values of tag ``key`` on nodes whose ``where_key`` tag is ``where_value``."""

    def tagged(self, key: str, as_of: int | None = None) -> list[tuple[str, str, int]]:
        """``(node, value, seq)`` of every node holding tag ``key`` at seq ``as_of`` (None:
        now), in the order the values were set."""

    # -- redaction ----------------------------------------------------------------------
    def redactions(self, subject: str | None = None) -> list[dict[str, Any]]:
        """Every redaction (or those about ``subject``: ``run/ID``, a tagged node), oldest
        first: ``seq`` and ``op`` of the erased record, ``subject``, and the redact record's
        ``by_seq``, ``time``, ``author`` and ``reason``."""

    def erasable(self, subjects: Sequence[str]) -> list[tuple[int, str, str]]:
        """``(seq, op, subject)`` of each record about ``subjects`` whose payload may still be
        erased (a run's metrics batches, a node's tag values), in seq order."""

    def beat(self, run_id: str, host: str, pid: int, process_start: str | None) -> None:
        """Note that ``run_id``'s process is alive now (outside the ledger)."""

    def forget_beat(self, run_id: str) -> None:
        """Drop ``run_id``'s heartbeat (its run finished)."""

    # -- API tokens of a server's project (outside the ledger) ---------------------------------
    def issue_token(
        self, agent: str, role: str, expires: str | None = None, *, by: str | None = None
    ) -> NewToken:
        """Make a token acting as ``agent`` with ``role`` (viewer, contributor, approver,
        admin) until ``expires`` (30d, 12h, …; None: never); only its salted hash is kept.
        The answer holds the token's text, which no later call can show again."""

    def tokens(self) -> list[TokenInfo]:
        """Every token of the project (revoked and expired ones too), without secrets."""

    def revoke_token(self, token_id: str) -> TokenInfo:
        """End token ``token_id`` now (NotFound if the project has none of that id)."""

    def has_tokens(self) -> bool:
        """Whether the project has ever had a token (until then its server lets anyone in)."""

    def authenticate(self, token: str) -> TokenInfo:
        """The token ``token`` as stored, if it is this project's, active and unexpired;
        else Unauthenticated (saying why, never echoing the secret)."""

    def verify(self) -> VerifyReport:
        """Check chain, payloads, signatures and projections (see lineal.ledger.verify)."""

    # -- the audit log (apart from the ledger) ----------------------------------------------
    def append_audit(self, events: Sequence[AuditEvent]) -> list[AuditRow]:
        """Chain ``events`` onto the audit log as one block and sign its head with this
        store's key, in one transaction (a server records its requests so; a store over HTTP
        refuses: its server records them)."""

    def audit_rows(
        self,
        *,
        agent: str | None = None,
        ref: str | None = None,
        since: str | None = None,
        until: str | None = None,
        after: int = 0,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[AuditRow]:
        """Audit rows after seq ``after`` by ``agent``, naming ``ref`` (a reference, or
        KIND/NAME: any version or alias of it), written from ``since`` to ``until``
        (canonical UTC, both included), in seq order (or newest first)."""

    def audit_heads(self, *, after: int = 0, limit: int | None = None) -> list[AuditHead]:
        """The audit chain's signed heads after row ``after``, in seq order."""

    def verify_audit(self) -> AuditReport:
        """Check the audit chain, its signed heads and its reference index; name the first
        bad row."""

    def schema_version(self) -> int: ...

    def close(self) -> None: ...
