"""Which key each agent holds at each point of the ledger: the rules `agent.register`,
`agent.rotate` and `agent.revoke` follow, and the walk `verify` keeps of them.

Pure rules over ops, keys and seqs; never reads a store (the store's projection applies the
same rules at append time: lineal.store.sql.project_agent_keys).

A key is held from the record that gives it (a registration or a rotation) up to and including
the record that ends it (a rotation away from it or a revocation): that record is the last one
it may sign. A signature is judged as of the end of what it covers (a commit's or a batch's
last seq), which is when it was made.
"""

from __future__ import annotations

from collections.abc import Container

from lineal.errors import LinealError
from lineal.ledger.keys import key_id, verify_signature
from lineal.model import canonical
from lineal.model.agent_ops import AgentRegister, AgentRevoke, AgentRotate, rotation_message
from lineal.model.grants import ADMIN, SERVER_AGENT, RoleGrant, RoleRevoke

#: The ops the chain walk follows record by record: those that give or end keys, and those
#: that give or take the admin role (an admin may revoke any agent's key).
KEY_OPS = frozenset({AgentRegister.OP, AgentRotate.OP, AgentRevoke.OP, RoleGrant.OP, RoleRevoke.OP})


def may_revoke(author: str, name: str, admins: Container[str] = ()) -> bool:
    """Whether ``author`` may revoke a key of agent ``name``: the agent itself (a key it
    fears is lost), or one of ``admins`` (a key whose owner cannot sign any more: a stolen
    laptop, someone who left)."""
    return author == name or author in admins


def certified(op: AgentRotate) -> bool:
    """Whether the old key of a rotation signed its certificate for the new one."""
    message = rotation_message(op.name, op.previous, op.public_key)
    return verify_signature(op.previous, message, op.certificate)


class KeySpan:
    """Where one key of an agent is held: from ``seq`` up to ``until`` (inclusive; None: still
    held), and how it ended.

    A plain class, not a dataclass: this module is first imported by a store's first write,
    which may happen at interpreter exit (a run's last metrics flush after Ctrl-C), and a
    dataclass built then runs ``exec``, which makes Python forget that a KeyboardInterrupt
    ended the program (it exits 1 instead of being killed by SIGINT)."""

    __slots__ = ("ended", "seq", "until")

    def __init__(self, seq: int, until: int | None = None, ended: str | None = None) -> None:
        self.seq, self.until, self.ended = seq, until, ended

    def holds_at(self, seq: int) -> bool:
        return self.seq <= seq and (self.until is None or seq <= self.until)


class KeyHistory:
    """The keys each agent held, as the walk reaches each record.

    A name's first key is held once registered (by itself or by another agent). A further
    registered key for a name that has had keys is held only once a commit signed with one of
    that name's keys carries it: otherwise anyone could sign as someone else. A rotation's new
    key is held from the rotation on, vouched for by the old key's certificate.
    """

    __slots__ = ("admins", "held", "pending")

    def __init__(self) -> None:
        self.held: dict[str, dict[str, KeySpan]] = {}
        self.pending: list[tuple[int, str, str]] = []
        #: Who holds the admin role now, as lineal.store.sql.project_grants projects it: the
        #: first agent (other than a server's own), then grants and revocations by admins.
        #: A grant by anyone else counts for nothing here (verify's replay names it).
        self.admins: set[str] = set()

    def apply(self, seq: int, author: str, op: str, data: bytes) -> str | None:
        """Follow one key op's record; return what is wrong with it, if anything."""
        try:
            body = canonical.decode(data)
            if op == AgentRotate.OP:
                return self._rotate(seq, author, AgentRotate.from_payload(body))
            if op == AgentRevoke.OP:
                return self._revoke(seq, author, AgentRevoke.from_payload(body))
            if op in (RoleGrant.OP, RoleRevoke.OP):
                change = (RoleGrant if op == RoleGrant.OP else RoleRevoke).from_payload(body)
                if change.role == ADMIN and author in self.admins:
                    changed = self.admins.add if op == RoleGrant.OP else self.admins.discard
                    changed(change.agent)
                return None
            registered = AgentRegister.from_payload(body)
        except (LinealError, ValueError, TypeError):
            return f"{op} payload is malformed"
        if self.held.get(registered.name):
            self.pending.append((seq, registered.name, registered.public_key))
        else:
            if registered.name != SERVER_AGENT and not any(
                name != SERVER_AGENT for name in self.held
            ):
                self.admins.add(registered.name)  # a store's first agent is its admin
            self.held[registered.name] = {registered.public_key: KeySpan(seq)}
        return None

    def _current(self, name: str, key: str) -> KeySpan | str:
        span = self.held.get(name, {}).get(key)
        if span is None:
            return f"agent {name!r} does not hold key {key_id(key)}"
        if span.until is not None:
            return f"key {key_id(key)} of agent {name!r} was {span.ended} at seq {span.until}"
        return span

    def _rotate(self, seq: int, author: str, op: AgentRotate) -> str | None:
        if author != op.name:
            return f"{author!r} rotated a key of agent {op.name!r}: only an agent rotates its own"
        span = self._current(op.name, op.previous)
        if isinstance(span, str):
            return f"rotation from a key not held: {span}"
        if not certified(op):
            return (
                f"rotation certificate does not verify: key {key_id(op.previous)} of agent "
                f"{op.name!r} did not certify key {key_id(op.public_key)}"
            )
        if op.public_key in self.held[op.name]:
            return f"rotation to key {key_id(op.public_key)}, which agent {op.name!r} held before"
        span.until, span.ended = seq, "rotated"
        self.held[op.name][op.public_key] = KeySpan(seq)
        return None

    def _revoke(self, seq: int, author: str, op: AgentRevoke) -> str | None:
        if not may_revoke(author, op.name, self.admins):
            return (
                f"{author!r} revoked a key of agent {op.name!r}: only {op.name!r} or an admin may"
            )
        span = self._current(op.name, op.public_key)
        if isinstance(span, str):
            return f"revocation of a key not held: {span}"
        span.until, span.ended = seq, "revoked"
        return None

    def signing_keys(
        self, name: str, kid: str, first: int, last: int
    ) -> list[str] | tuple[int, str]:
        """The keys of ``name`` with id ``kid`` that may sign records ``first``..``last``
        (judged at ``last``); or, when ``name`` held such a key but not then, the first
        record it did not own and why."""
        spans = [(k, s) for k, s in self.held.get(name, {}).items() if key_id(k) == kid]
        held = [k for k, s in spans if s.holds_at(last)]
        if held or not spans:
            return held
        _, span = spans[0]
        until = span.until or 0
        return max(first, until + 1), (
            f"signed with key {kid}, which agent {name!r} no longer held: {span.ended} at "
            f"seq {until}"
        )

    def close_commit(self, author: str) -> tuple[int, str] | None:
        """A commit by ``author`` ends: the further keys registered in it become held, if
        ``author`` is the agent they are for; otherwise ``(seq, what is wrong)``."""
        for seq, name, key in self.pending:
            if name != author:
                return seq, f"adds a key to agent {name!r} without {name!r}'s signature"
            self.held[name][key] = KeySpan(seq)
        self.pending.clear()
        return None
