"""Applying one ledger op to the projection tables: the only code that writes them.

The same code runs at append time and when `verify` replays the ledger into a scratch database,
so a projection can never hold anything the ledger does not imply. Never writes the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from lineal.errors import Conflict, LinealError, NotFound
from lineal.ledger.keys import key_id
from lineal.model.entities import artifact_node
from lineal.model.grants import PolicyApply, RoleGrant, RoleRevoke
from lineal.model.ops import (
    AgentRegister,
    AgentRevoke,
    AgentRotate,
    AliasSet,
    ArtifactRecord,
    EdgeRecord,
    MetricsBatch,
    ModelApprove,
    ModelPromote,
    Op,
    Redact,
    RunFinish,
    RunParams,
    RunStart,
    TagSet,
)
from lineal.store.sql import (
    grants,
    project_agent_keys,
    project_edges,
    project_grants,
    project_registry,
    project_runs,
    project_tags,
)
from lineal.store.sql.project_ahead import UNNAMED_KINDS, VERSIONS_OF, Ahead, read_ahead
from lineal.store.sql.project_runs import json_text


class Sql(Protocol):
    """The little a projection needs from a database connection (``?`` placeholders)."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it changed."""

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None: ...
    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def any_of(
        self, sql: str, values: Sequence[Any], params: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """Rows of ``sql``, whose last condition ``COLUMN IN ({})`` takes ``values`` (of one
        type) after ``params`` have filled the placeholders before it."""

    def any_of_each(
        self, queries: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[list[tuple[Any, ...]]]:
        """``any_of(sql, values)`` of each query, all sent before any answer is read where
        the database allows (PostgreSQL in a write transaction: one round trip, not one a
        query, with the chain head held). A query without ``IN ({})`` takes ``values`` as
        its parameters."""


def apply_all(
    db: Sql,
    items: Sequence[tuple[int, str, Op]],
    *,
    signing_key: str | None = None,
    replay: bool = False,
) -> None:
    """Project ops ``(seq, author, op)`` in seq order, exactly as ``apply`` one by one would.

    Runs of ``artifact.record`` go through set-based statements. The batch's edges go in one
    set-based pass after its other ops (no other projection reads edges), unless an edge
    names a node the batch records only later or a promotion comes with them (its check
    walks the edges); should anything fail, the batch is projected
    again in order, so the error is the one a record-by-record projection raises.
    ``signing_key`` is the writer's key, checked when an op adds a key to an agent (replay
    leaves that to the chain walk, which knows each commit's key).
    """
    edges = [(seq, op) for seq, _, op in items if type(op) is EdgeRecord]
    defer = 2 <= len(edges) < len(items) and _edges_may_wait(items)
    others = [item for item in items if type(item[2]) is not EdgeRecord] if defer else items
    # Artifacts and run starts each read and write only tables of their own: interleaved,
    # they project as two set-based passes (a history's runs and outputs alternate).
    kinds = {type(op) for _, _, op in others}
    grouped = len(kinds) > 1 and kinds <= _INDEPENDENT.keys()
    if not (defer or grouped):
        _apply_in_order(db, items, signing_key, replay)
        return
    db.execute("SAVEPOINT lineal_batch")
    try:
        if grouped:
            for kind, project in _INDEPENDENT.items():
                project(db, [item for item in others if type(item[2]) is kind])
        else:
            _apply_in_order(db, others, signing_key, replay)
        if defer:
            project_edges.edge_records(db, edges)
    except LinealError:
        db.execute("ROLLBACK TO SAVEPOINT lineal_batch")
        db.execute("RELEASE SAVEPOINT lineal_batch")
        _apply_in_order(db, items, signing_key, replay)
        return
    db.execute("RELEASE SAVEPOINT lineal_batch")


def _edges_may_wait(items: Sequence[tuple[int, str, Op]]) -> bool:
    """No edge names a node that a later op of the batch records first, and no promotion
    comes in the batch (its check walks the edges before it: lineal.store.sql.grants)."""
    if any(type(op) is ModelPromote for _, _, op in items):
        return False
    first: dict[str, int] = {}
    for position, (_, _, op) in enumerate(items):
        made = None
        if type(op) is ArtifactRecord:
            made = artifact_node(op.kind, op.name, op.digest)
            first.setdefault(op.digest, position)  # a bare digest may name it too
        elif type(op) is RunStart:
            made = f"run/{op.id}"
        elif type(op) is AgentRegister:
            made = f"agent/{op.name}"
        if made is not None:
            first.setdefault(made, position)
    return all(
        first.get(node, -1) < position
        for position, (_, _, op) in enumerate(items)
        if type(op) is EdgeRecord
        for node in (op.parent, op.child)
    )


def _apply_in_order(
    db: Sql, items: Sequence[tuple[int, str, Op]], signing_key: str | None, replay: bool
) -> None:
    ahead = read_ahead(db, items)
    i = 0
    while i < len(items):
        seq, author, op = items[i]
        if ahead is not None:  # artifacts and runs only: each run of a kind from what was read
            j = i + 1
            while j < len(items) and type(items[j][2]) is type(op):
                j += 1
            _AHEAD[type(op)](db, items[i:j], ahead)
            i = j
            continue
        if type(op) in _SET_BASED:
            j = i + 1
            while j < len(items) and type(items[j][2]) is type(op):
                j += 1
            _SET_BASED[type(op)](db, items[i:j])
            i = j
            continue
        if signing_key is not None:
            check_key_addition(db, op, signing_key)
        apply(db, seq, author, op, replay=replay)
        i += 1


def apply(db: Sql, seq: int, author: str, op: Op, *, replay: bool = False) -> None:
    """Project ``op`` (ledger record ``seq``, written by ``author``) into the tables.

    Raises a LinealError, and writes nothing worth keeping, when the op contradicts what the
    projections already hold or its author lacks the role it needs (lineal.store.sql.grants;
    a replay leaves that to `verify`, which names every such record); the caller rolls the
    transaction back.
    """
    handler = _HANDLERS[type(op)]
    if not replay:
        grants.check(db, seq, author, op)
    handler(db, seq, author, op, replay)


def _agent_register(db: Sql, seq: int, author: str, op: Any, replay: bool) -> None:
    rows = db.all("SELECT public_key FROM agents WHERE name = ?", (op.name,))
    keys = {row[0] for row in rows}
    if op.public_key in keys:
        raise Conflict(f"agent {op.name!r} is already registered with this key")
    if keys and author != op.name:
        raise Conflict(
            f"agent {op.name!r} is already registered with another key",
            hint="only that agent can add a key; pick another name with --agent",
        )
    if not keys:
        project_grants.first_admin(db, seq, op.name)
    db.execute(
        "INSERT INTO agents (name, public_key, key_id, seq) VALUES (?, ?, ?, ?)",
        (op.name, op.public_key, key_id(op.public_key), seq),
    )


def check_key_addition(db: Sql, op: Op, signing_key: str) -> None:
    """A further key for an agent must be signed by one of that agent's registered keys."""
    if not isinstance(op, AgentRegister):
        return
    rows = db.all("SELECT public_key FROM agents WHERE name = ?", (op.name,))
    keys = {row[0] for row in rows}
    if keys and signing_key not in keys:
        raise Conflict(
            f"agent {op.name!r} is already registered with another key",
            hint=f"sign with one of {op.name!r}'s keys to add a key, or use another --agent name",
        )


# Versions are numbered in arrival order; the same content under the same name is the same
# version (the UNIQUE (digest, kind, name) conflict makes it a no-op).
_NEW_VERSION = (
    "INSERT INTO versions (kind, name, version, digest, seq) "
    "SELECT ?, ?, COALESCE((SELECT version FROM versions WHERE kind = ? AND name = ? "
    "ORDER BY version DESC LIMIT 1), 0) + 1, ?, ? WHERE true ON CONFLICT DO NOTHING"
)


def _artifact_record(db: Sql, seq: int, author: str, op: Any, replay: bool) -> None:
    _artifact_records(db, [(seq, op)])


def _artifact_records(db: Sql, items: Sequence[tuple[int, Op]], ahead: Ahead | None = None) -> None:
    """Many artifact.record ops at once, with exactly the effect of applying them in order.

    Each named version is a node of its own (``KIND/NAME@DIGEST``) whatever else holds the same
    bytes; an unnamed artifact is the node ``DIGEST``. The first record of a node wins.
    ``ahead``: what was read before the batch (kept up to date here), instead of reading.
    """
    pairs: list[tuple[int, Any]] = list(items)
    rows = [
        (artifact_node(op.kind, op.name, op.digest), op.digest, op.kind, op.name, op.size, op.uri,
         json_text(op.meta), seq)
        for seq, op in pairs
    ]  # fmt: skip
    db.many(
        "INSERT INTO artifacts (node, digest, kind, name, size, uri, meta, seq) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (node) DO NOTHING",
        rows,
    )
    # An unnamed node is its digest alone: a later unnamed record of another kind is refused.
    if ahead is not None:  # the first record of each node wins, as the insert's conflict says
        stored = ahead.kinds
        for row in rows:
            if row[3] is None:
                stored.setdefault(row[0], row[2])
    else:
        unnamed = list({row[0]: row[2] for row in rows if row[3] is None}.items())
        stored = dict(db.any_of(UNNAMED_KINDS, [node for node, _ in unnamed]))
    for row in rows:
        if row[3] is None and stored[row[0]] != row[2]:
            raise Conflict(
                f"{row[0]} is already recorded as an unnamed {stored[row[0]]}, not a {row[2]}",
                hint=f"give it a name: the same bytes may be a {row[2]} under a name of its own",
            )
    _new_versions(db, [(seq, op) for seq, op in pairs if op.name], ahead)


#: From this many named records on, a batch's versions are numbered from two lookups and
#: inserted at once; fewer go one statement each (no lookup to wait for).
_VERSIONS_AT_ONCE = 8


def _new_versions(db: Sql, named: list[tuple[int, Any]], ahead: Ahead | None = None) -> None:
    """The versions of named records, numbered as _NEW_VERSION numbers them one by one
    (``ahead``: from what was read before the batch, kept up to date here)."""
    if not named:
        return
    if ahead is not None:
        _number_versions(db, named, ahead.versions, ahead.latest)
        return
    if len(named) < _VERSIONS_AT_ONCE:
        one_by_one = [(op.kind, op.name, op.kind, op.name, op.digest, seq) for seq, op in named]
        db.many(_NEW_VERSION, one_by_one)
        return
    digests = list(dict.fromkeys(op.digest for _, op in named))
    known = set(db.any_of(VERSIONS_OF, digests))
    latest: dict[tuple[str, str], int] = {}
    for kind in dict.fromkeys(op.kind for _, op in named):
        names = list(dict.fromkeys(op.name for _, op in named if op.kind == kind))
        latest.update(
            ((kind, name), number)
            for name, number in db.any_of(
                "SELECT name, MAX(version) FROM versions WHERE kind = ? AND name IN ({}) "
                "GROUP BY name",
                names,
                (kind,),
            )
        )
    _number_versions(db, named, known, latest)


def _number_versions(
    db: Sql,
    named: list[tuple[int, Any]],
    known: set[tuple[Any, ...]],
    latest: dict[tuple[str, str], int],
) -> None:
    """Insert the new versions of ``named``, given the versions ``known`` of their digests and
    the ``latest`` number of each name (both updated)."""
    rows = []
    for seq, op in named:
        if (op.digest, op.kind, op.name) in known:
            continue  # the same content under the same name: that version already
        known.add((op.digest, op.kind, op.name))
        number = latest[(op.kind, op.name)] = latest.get((op.kind, op.name), 0) + 1
        rows.append((op.kind, op.name, number, op.digest, seq))
    db.many("INSERT INTO versions (kind, name, version, digest, seq) VALUES (?, ?, ?, ?, ?)", rows)


def _alias_set(db: Sql, seq: int, author: str, op: Any, replay: bool) -> None:
    if op.digest is not None and (
        db.one(
            "SELECT 1 FROM versions WHERE kind = ? AND name = ? AND digest = ?",
            (op.kind, op.name, op.digest),
        )
        is None
    ):
        raise NotFound(
            f"{op.digest} is not a version of {op.kind}/{op.name}",
            hint="record the artifact under that name first",
        )
    db.execute(
        "UPDATE aliases SET until_seq = ? "
        "WHERE kind = ? AND name = ? AND alias = ? AND until_seq IS NULL",
        (seq, op.kind, op.name, op.alias),
    )
    if op.digest is not None:
        db.execute(
            "INSERT INTO aliases (kind, name, alias, digest, seq) VALUES (?, ?, ?, ?, ?)",
            (op.kind, op.name, op.alias, op.digest, seq),
        )


#: Set-based projections of ops ``(seq, author, op)`` that read and write only their own
#: tables: a batch of them may go in any grouping by kind.
_INDEPENDENT: dict[type[Op], Any] = {
    ArtifactRecord: lambda db, items: _artifact_records(db, [(s, o) for s, _, o in items]),
    RunStart: project_runs.run_starts,
}
#: Set-based projections of consecutive ops of one kind.
_SET_BASED: dict[type[Op], Any] = {
    **_INDEPENDENT,
    EdgeRecord: lambda db, items: project_edges.edge_records(db, [(s, o) for s, _, o in items]),
    RunFinish: project_runs.run_finishes,
}

#: The projections of a run of one kind's ops from what was read ahead (project_ahead.Ahead).
_AHEAD: dict[type[Op], Any] = {
    ArtifactRecord: lambda db, items, ahead: _artifact_records(
        db, [(s, o) for s, _, o in items], ahead
    ),
    RunStart: lambda db, items, ahead: project_runs.run_starts(db, items, ahead.runs),
    RunFinish: lambda db, items, ahead: project_runs.run_finishes(db, items, ahead.runs),
}

_HANDLERS: dict[type[Op], Any] = {
    AgentRegister: _agent_register,
    AgentRotate: project_agent_keys.agent_rotate,
    AgentRevoke: project_agent_keys.agent_revoke,
    ArtifactRecord: _artifact_record,
    EdgeRecord: project_edges.edge_record,
    RunStart: project_runs.run_start,
    RunParams: project_runs.run_params,
    RunFinish: project_runs.run_finish,
    MetricsBatch: project_runs.metrics_batch,
    AliasSet: _alias_set,
    TagSet: project_tags.tag_set,
    ModelPromote: project_registry.model_promote,
    ModelApprove: project_registry.model_approve,
    Redact: project_tags.redact,
    RoleGrant: project_grants.role_grant,
    RoleRevoke: project_grants.role_revoke,
    PolicyApply: project_grants.policy_apply,
}
