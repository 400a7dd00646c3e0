"""Erasing payloads: `lineal redact SEQ|REF --reason TEXT` and the redactions retention writes.

A service over the Store protocol: it finds which records a target names, says what it would
erase, and erases it with ``redact`` records in one transaction (the chain still verifies:
records are hashed over their payload's digest, which stays). Never prints.

What may be erased is what nothing later depends on: ``metrics.batch`` payloads (a run's
logged points) and ``tag.set`` payloads (a tag's value). Everything else (artifact records,
edges, runs with their params and captured environment, aliases, promotions) is what later
records and the lineage stand on, and its payload is digested whole, so it stays.

Who may erase: the admin role (:func:`require_admin`, the one place the check is made).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lineal import settings
from lineal.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from lineal.model import canonical
from lineal.model.entities import check_agent_name
from lineal.model.erasure import redaction_subject
from lineal.model.ops import OPS, Redact

if TYPE_CHECKING:
    from lineal.client import Lineal

#: What ``--only`` may keep a REF's erasure to, and the op each names.
KINDS = {"metrics": "metrics.batch", "tags": "tag.set"}


@dataclass(frozen=True, slots=True)
class Erasure:
    """One record whose payload is (or would be) erased."""

    seq: int
    op: str
    subject: str
    #: the ``redact`` record that erased it (None: not yet, a dry run)
    by_seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "op": self.op, "subject": self.subject, "by_seq": self.by_seq}


@dataclass(frozen=True, slots=True)
class RedactionPlan:
    """What one target names to erase, and (once applied) the records that erased it."""

    target: str
    reason: str
    erase: tuple[Erasure, ...]
    applied: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "reason": self.reason,
            "applied": self.applied,
            "erase": [one.as_dict() for one in self.erase],
        }


def require_admin(repo: Lineal) -> str:
    """The writing agent's name if it holds the admin role, else PermissionDenied.

    The CLI and retention both go through :func:`apply`, so they refuse before listing or
    asking; the store refuses a ``redact`` by anyone else at append all the same
    (lineal.store.sql.grants). Roles are the ledger's (lineal.registry.grants).
    """
    from lineal.registry.grants import in_force

    signer = repo.store.signer
    if signer is None:
        raise PermissionDenied(
            f"no signing key to write to {repo.store.uri}", hint="run `lineal init` first"
        )
    if not in_force(repo).holds_role(signer.name, settings.ADMIN):
        raise PermissionDenied(
            f"agent {signer.name!r} may not redact: only the admin role may",
            hint="ask an admin (`lineal role list` shows them) to redact, or to run "
            f"`lineal role grant {signer.name} admin`",
        )
    return signer.name


def _check_reason(reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("a redaction needs a reason", hint="pass --reason TEXT")
    return reason


def _by_seq(repo: Lineal, seq: int) -> Erasure:
    record = next(repo.store.records(after=seq - 1, limit=1), None)
    if record is None or record.seq != seq:
        head = repo.store.head()[0]
        raise NotFound(f"no record {seq}: the ledger holds 1 to {head}", hint="see `lineal log`")
    if record.payload is None:
        done = [r for r in repo.store.redactions() if r["seq"] == seq]
        why = f" by {done[0]['author']} at {done[0]['time']}: {done[0]['reason']}" if done else ""
        raise Conflict(f"record {seq} is already redacted{why}")
    kind = OPS.get(record.op)
    if kind is None or not kind.REDACTABLE:
        raise InvalidInput(
            f"record {seq} ({record.op}) is one later records depend on: it stays",
            hint="only tag values (tag.set) and logged metrics (metrics.batch) can be redacted",
        )
    subject = redaction_subject(kind.from_payload(canonical.decode(record.payload)))
    assert subject is not None  # noqa: S101 - every redactable op has one
    return Erasure(seq=seq, op=record.op, subject=subject)


def plan(repo: Lineal, target: str, reason: str, *, only: str | None = None) -> RedactionPlan:
    """What erasing ``target`` means: a SEQ names that one record; a reference (``run/ID``,
    ``dataset/x@v2``, …) names every payload about it still held (a run's metrics batches,
    the node's tag values), or only the ``metrics`` or ``tags`` ones."""
    _check_reason(reason)
    if only is not None and only not in KINDS:
        raise InvalidInput(f"bad --only {only!r}", hint=f"use one of {', '.join(KINDS)}")
    text = target.strip()
    if text.isdigit():
        if only is not None:
            raise InvalidInput("--only is for a reference, not a SEQ", hint="leave it out")
        one = _by_seq(repo, int(text))
        return RedactionPlan(target=f"record {text}", reason=reason, erase=(one,))
    if text.startswith("agent/"):  # an agent's tags (NotFound if no such agent)
        node = label = repo.store.agent_at(check_agent_name(text.removeprefix("agent/")))
    else:
        found = repo.resolve(text)
        node, label = repo.node(found), found.ref
    wanted = None if only is None else KINDS[only]
    erase = tuple(
        Erasure(seq=seq, op=op, subject=subject)
        for seq, op, subject in repo.store.erasable([node])
        if wanted is None or op == wanted
    )
    return RedactionPlan(target=label, reason=reason, erase=erase)


def apply(repo: Lineal, plans: list[RedactionPlan]) -> list[RedactionPlan]:
    """Erase every planned record with one ``redact`` record each, all in one transaction
    (admin only). The store then scrubs the erased bytes from its files (see docs)."""
    require_admin(repo)
    if not any(one.erase for one in plans):
        return [RedactionPlan(p.target, p.reason, p.erase, applied=True) for p in plans]
    ops = [
        Redact(seq=one.seq, reason=p.reason, subject=one.subject) for p in plans for one in p.erase
    ]
    written = iter(repo.store.append(ops))
    return [
        RedactionPlan(
            target=p.target,
            reason=p.reason,
            erase=tuple(
                Erasure(one.seq, one.op, one.subject, next(written).seq) for one in p.erase
            ),
            applied=True,
        )
        for p in plans
    ]
