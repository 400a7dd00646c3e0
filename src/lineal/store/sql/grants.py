"""Who may write what: the role each op needs, checked as of the record's seq against the
``roles`` and ``policies`` projections, and the reads the registry asks of them.

One rule set for the append (a store's own writes and a server's client batches) and for
`verify`'s replay; reads and raises, never writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lineal.errors import PermissionDenied
from lineal.model import canonical
from lineal.model.agent_ops import AgentRevoke
from lineal.model.entities import artifact_node
from lineal.model.grants import (
    ADMIN,
    APPROVER,
    CONTRIBUTOR,
    PolicyApply,
    RoleGrant,
    RoleRevoke,
    expected_checks,
    is_protected,
)
from lineal.model.ops import AliasSet, ModelApprove, ModelPromote, Op, Redact
from lineal.store.sql.queries import labels
from lineal.store.sql.tag_reads import classified_upstream

if TYPE_CHECKING:
    from lineal.store.sql.projections import Sql


def role_holders(db: Sql, as_of: int | None = None) -> list[tuple[str, str, str | None, int]]:
    """``(agent, role, granted_by, seq)`` of every role held at ``as_of`` (None: now);
    ``granted_by`` None: the store's first agent, admin from its registration."""
    args: tuple[int, ...] = ()
    where = "until_seq IS NULL"
    if as_of is not None:
        where, args = "seq <= ? AND (until_seq IS NULL OR until_seq > ?)", (as_of, as_of)
    rows = db.all(
        f"SELECT agent, role, author, seq FROM roles WHERE {where} ORDER BY seq, agent, role",
        args,
    )
    return [(row[0], row[1], row[2], int(row[3])) for row in rows]


def policy_record(db: Sql, as_of: int | None = None) -> dict[str, Any] | None:
    """The ``policy.apply`` in force at ``as_of`` (None: now): its seq, author, protected
    aliases and policies; None before the first."""
    args: tuple[Any, ...] = () if as_of is None else (as_of,)
    row = db.one(
        "SELECT seq, author, protected, policies FROM policies"
        + (" WHERE seq <= ?" if as_of is not None else "")
        + " ORDER BY seq DESC LIMIT 1",
        args,
    )
    if row is None:
        return None
    return {
        "seq": int(row[0]),
        "author": row[1],
        "protected": canonical.decode(str(row[2]).encode()),
        "policies": canonical.decode(str(row[3]).encode()),
    }


def _in_force(db: Sql) -> PolicyApply | None:
    found = policy_record(db)
    if found is None:
        return None
    return PolicyApply(protected=tuple(found["protected"]), policies=found["policies"])


def _holds(db: Sql, agent: str, role: str) -> bool:
    """``agent`` holds ``role`` now (an admin holds every role)."""
    return (
        db.one(
            "SELECT 1 FROM roles WHERE agent = ? AND role IN (?, ?) AND until_seq IS NULL",
            (agent, role, ADMIN),
        )
        is not None
    )


def _refuse(seq: int, author: str, doing: str, role: str) -> PermissionDenied:
    return PermissionDenied(
        f"record {seq} by {author} refused: {doing} needs role {role}, which {author} does "
        "not hold in the ledger",
        hint=f"an admin runs: lineal role grant {author} {role}",
    )


def _need(db: Sql, seq: int, author: str, doing: str, *roles: str) -> None:
    if not any(_holds(db, author, role) for role in roles):
        raise _refuse(seq, author, doing, " or ".join(roles))


def _promotion(db: Sql, seq: int, author: str, op: ModelPromote) -> None:
    target = f"model/{op.name}:{op.alias}"
    if op.override:
        _need(db, seq, author, f"overriding the policy of {target}", ADMIN)
    else:
        _need(db, seq, author, f"promoting to {target}", CONTRIBUTOR)
    policy = _in_force(db)
    body = policy.policies.get(op.alias) if policy is not None else None
    expected = op.alias if body is not None else None
    recorded = {one["check"]: one["passed"] for one in op.checks}

    def refused(why: str) -> PermissionDenied:
        return PermissionDenied(
            f"record {seq} by {author} refused: a promotion to {target} {why}",
            hint="promote with `lineal model promote`, which runs the policy in force "
            "(lineal policy show)",
        )

    if op.policy != expected:
        raise refused(f"records policy {op.policy!r}; the policy in force is {expected!r}")
    wanted = expected_checks(body) if body is not None else []
    if sorted(recorded) != sorted(wanted) or len(recorded) != len(op.checks):
        raise refused(f"records checks {sorted(recorded)}; the policy asks for {sorted(wanted)}")
    for role, count in sorted((body or {}).get("approvers", {}).items()):
        approvers = {
            agent
            for (agent,) in db.all(
                "SELECT DISTINCT author FROM approvals WHERE name = ? AND digest = ? AND alias = ?",
                (op.name, op.digest, op.alias),
            )
            if _holds(db, agent, role)
        }
        said = recorded[f"approvers {role}"]
        if said != (len(approvers) >= count):
            raise refused(
                f"records approvers {role} as {'passed' if said else 'failed'}; "
                f"{len(approvers)} of {count} approvals come from holders of {role}"
            )
    if recorded.get("classifications"):
        node = artifact_node("model", op.name, op.digest)
        denied = classified_upstream(db, node, (body or {}).get("deny_classifications", ()))
        if denied:
            source = labels(db, [denied[0][0]]).get(denied[0][0], (denied[0][0], ""))[0]
            raise refused(
                f"records classifications as passed; {source} upstream is classified "
                f"{denied[0][1]}, which the policy denies"
            )
    if not op.override and not all(recorded.values()):
        raise refused("records failing checks without an override")


def check(db: Sql, seq: int, author: str, op: Op) -> None:
    """Refuse (PermissionDenied) ``op`` at ``seq`` if ``author`` lacks the role it needs, as
    the projections stand just before ``seq``; or a promotion whose recorded policy and
    checks disagree with the policy then in force."""
    kind = type(op)
    if kind is ModelPromote:
        _promotion(db, seq, author, op)  # type: ignore[arg-type]
    elif kind is ModelApprove:
        policy = _in_force(db)  # approver, or a role some policy in force counts
        bodies = policy.policies.values() if policy is not None else ()
        counted = sorted({role for body in bodies for role in body.get("approvers", {})})
        doing = f"approving model/{op.name} for {op.alias}"  # type: ignore[attr-defined]
        _need(db, seq, author, doing, APPROVER, *counted)
    elif kind is AliasSet:
        if op.kind == "model" and is_protected(_in_force(db), op.alias):  # type: ignore[attr-defined]
            doing = f"moving protected alias model/{op.name}:{op.alias} without a promotion"  # type: ignore[attr-defined]
            _need(db, seq, author, doing, ADMIN)
    elif kind in (RoleGrant, RoleRevoke):
        verb = "granting" if kind is RoleGrant else "revoking"
        _need(db, seq, author, f"{verb} role {op.role}", ADMIN)  # type: ignore[attr-defined]
    elif kind is PolicyApply:
        _need(db, seq, author, "applying policies", ADMIN)
    elif kind is Redact:
        _need(db, seq, author, f"redacting record {op.seq}", ADMIN)  # type: ignore[attr-defined]
    elif kind is AgentRevoke and author != op.name:  # type: ignore[attr-defined]
        # An agent revokes its own keys; only an admin revokes another's (may_revoke).
        _need(db, seq, author, f"revoking a key of agent {op.name}", ADMIN)  # type: ignore[attr-defined]
