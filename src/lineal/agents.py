"""The agents who sign writes in one workspace: add one (a key, its registration, a role),
list them with their keys and roles, show an agent's keys, rotate the key this workspace
signs with, revoke a key.

Private keys are written only into the workspace's `.lineal/keys/`; never prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal.client import Lineal
from lineal.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from lineal.ledger import keys as keystore
from lineal.lookalikes import refuse_confusable_agent
from lineal.model.entities import check_agent_name

if TYPE_CHECKING:
    from lineal.model.ops import Op


@dataclass(frozen=True, slots=True)
class AgentKey:
    """One public key the ledger holds for an agent, from the record that registered it."""

    public_key: str
    seq: int | None  # the record that gave it
    until_seq: int | None = None  # the record that ended it, the last it signs (None: held)
    ended: str | None = None  # 'rotated' or 'revoked'
    reason: str | None = None

    @property
    def key_id(self) -> str:
        return keystore.key_id(self.public_key)

    @property
    def current(self) -> bool:
        return self.ended is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "public_key": self.public_key,
            "key_id": self.key_id,
            "seq": self.seq,
            "until_seq": self.until_seq,
            "ended": self.ended,
            "reason": self.reason,
            "current": self.current,
        }


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """An agent: its registered keys, whether this workspace holds its private key, its roles."""

    name: str
    keys: tuple[AgentKey, ...]  # registered, oldest first (none: a local key never registered)
    local_key: str | None  # the public half of the private key in .lineal/keys/, if any
    roles: tuple[str, ...]
    current: bool  # the agent this workspace writes as now (LINEAL_AGENT or config)

    @property
    def registered(self) -> bool:
        return bool(self.keys)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "keys": [key.as_dict() for key in self.keys],
            "local_key": None if self.local_key is None else keystore.key_id(self.local_key),
            "registered": self.registered,
            "roles": list(self.roles),
            "current": self.current,
        }


@dataclass(frozen=True, slots=True)
class AddedAgent:
    """What `lineal agent add` did."""

    name: str
    public_key: str
    key_path: Path
    by: str  # the agent who signed the registration
    seq: int
    role: str | None  # granted in the ledger with the registration (role.grant)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "public_key": self.public_key,
            "key_id": keystore.key_id(self.public_key),
            "key_path": str(self.key_path),
            "registered_by": self.by,
            "seq": self.seq,
            "role": self.role,
            "env": {"LINEAL_AGENT": self.name},
        }


def _key_dir(repo: Lineal) -> Path:
    return repo.require_workspace().require_root() / "keys"


def add_agent(repo: Lineal, name: str, *, role: str | None = None) -> AddedAgent:
    """Make an ed25519 key for ``name`` in `.lineal/keys/`, register it with an
    ``agent.register`` record signed by the current agent, and grant it ``role`` in the same
    transaction (the current agent must be admin for that). Nothing is left behind when any
    step is refused."""
    from lineal.ledger.keys import Signer, save_signer
    from lineal.model.grants import RoleGrant, check_role
    from lineal.model.ops import AgentRegister

    repo.require_workspace()
    directory = _key_dir(repo)
    try:
        check_agent_name(name)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, hint="e.g. lineal agent add bob@example.org") from None
    if role is not None:
        check_role(role)
    registered = {agent.name for agent in repo.store.agents()}
    if name in registered:
        raise Conflict(
            f"agent {name!r} is already registered",
            hint=f"write as it with LINEAL_AGENT={name} where its key is; to give it a role: "
            f"lineal role grant {name} ROLE",
        )
    refuse_confusable_agent(name, registered)
    path = keystore.key_path(directory, name)
    if path.exists():
        raise Conflict(
            f"a key for {name!r} already exists at {path}, but no agent {name!r} is registered",
            hint="move that key away, or pick another name",
        )
    signer = Signer.generate(name)
    written: Path | None = None
    try:
        with repo.atomic():
            ops: list[Op] = [AgentRegister(name=name, public_key=signer.public_key)]
            if role is not None:
                ops.append(RoleGrant(agent=name, role=role))
            record = repo.store.append(ops)[0]
            written = save_signer(directory, signer)  # inside: a failed save rolls back
    except BaseException:
        if written is not None:  # the commit failed after the key was saved
            written.unlink(missing_ok=True)
            written.with_suffix(".pub").unlink(missing_ok=True)
        raise
    return AddedAgent(
        name=name,
        public_key=signer.public_key,
        key_path=written,
        by=record.author,
        seq=record.seq,
        role=role,
    )


def list_agents(repo: Lineal) -> list[AgentInfo]:
    """Every registered agent in registration order, then agents with only a local key."""
    registered: dict[str, list[AgentKey]] = {}
    for agent in repo.store.agents():
        registered.setdefault(agent.name, []).append(
            AgentKey(agent.public_key, agent.seq, agent.until_seq, agent.ended, agent.reason)
        )
    directory = None
    if repo.workspace is not None and repo.workspace.root is not None:
        directory = repo.workspace.root / "keys"
    local = keystore.stored_names(directory) if directory is not None else []
    roles: dict[str, list[str]] = {}
    for holder, role, _, _ in repo.store.role_holders():
        roles.setdefault(holder, []).append(role)
    current = repo.workspace.agent if repo.workspace is not None else None
    return [
        AgentInfo(
            name=name,
            keys=tuple(registered.get(name, ())),
            local_key=(
                keystore.stored_public_key(directory, name) if directory is not None else None
            ),
            roles=tuple(sorted(roles.get(name, ()))),
            current=name == current,
        )
        for name in [*registered, *(n for n in local if n not in registered)]
    ]


def agent_info(repo: Lineal, name: str | None = None) -> AgentInfo:
    """One agent (default: the one this workspace writes as), or NotFound."""
    if name is None:
        name = repo.workspace.agent if repo.workspace is not None else None
        if name is None:
            raise InvalidInput("no current agent here", hint="name one: lineal agent key NAME")
    check_agent_name(name)
    for agent in list_agents(repo):
        if agent.name == name:
            return agent
    raise NotFound(
        f"no agent {name!r} in this store",
        hint=f"`lineal agent list` shows the agents; `lineal agent add {name}` adds one",
    )


@dataclass(frozen=True, slots=True)
class RotatedKey:
    """What `lineal agent rotate` did."""

    name: str
    previous: str  # the public key rotated away
    public_key: str  # the new one
    seq: int
    key_path: Path  # where the new private key is
    retired_path: Path  # where the old one is kept

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "previous_key_id": keystore.key_id(self.previous),
            "public_key": self.public_key,
            "key_id": keystore.key_id(self.public_key),
            "seq": self.seq,
            "key_path": str(self.key_path),
            "retired_key_path": str(self.retired_path),
        }


def rotate_key(repo: Lineal) -> RotatedKey:
    """Replace the key this workspace signs with by a new one: an ``agent.rotate`` record,
    signed by the old key and carrying its certificate of the new one; the new private key
    takes the old one's place in `.lineal/keys/`, the old one moves to `keys/retired/`. From
    that record on the old key signs nothing. Nothing changes when any step is refused."""
    from lineal.ledger.keys import Signer, replace_signer
    from lineal.model.agent_ops import AgentRotate, rotation_message

    directory = _key_dir(repo)
    old = repo.store.signer
    if old is None:
        raise PermissionDenied(
            "no signing key here to rotate",
            hint="run as an agent whose key is in .lineal/keys/ (LINEAL_AGENT=NAME)",
        )
    new = Signer.generate(old.name)
    certificate = old.sign(rotation_message(old.name, old.public_key, new.public_key))
    op = AgentRotate(
        name=old.name, previous=old.public_key, public_key=new.public_key, certificate=certificate
    )
    undo = None
    try:
        with repo.atomic():
            record = repo.store.append(op)[0]
            retired, undo = replace_signer(directory, old, new)  # inside: a failure rolls back
    except BaseException:
        if undo is not None:  # the commit failed after the files were swapped
            undo()
        raise
    repo.store.signer = new  # this process's later writes sign with the new key
    return RotatedKey(
        name=old.name,
        previous=old.public_key,
        public_key=new.public_key,
        seq=record.seq,
        key_path=keystore.key_path(directory, old.name),
        retired_path=retired,
    )


@dataclass(frozen=True, slots=True)
class RevokedKey:
    """What `lineal agent revoke` did."""

    name: str
    public_key: str
    by: str
    seq: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "public_key": self.public_key,
            "key_id": keystore.key_id(self.public_key),
            "revoked_by": self.by,
            "seq": self.seq,
            "reason": self.reason,
        }


def _key_to_revoke(repo: Lineal, target: str) -> tuple[str, str]:
    """``(agent, public key)`` for NAME (its one current key) or a KEY_ID."""
    held = [a for a in repo.store.agents() if a.ended is None]
    by_id = [a for a in held if keystore.key_id(a.public_key) == target]
    by_name = [a for a in held if a.name == target]
    if by_id and by_name:
        raise InvalidInput(
            f"{target!r} is both an agent and a key id",
            hint="`lineal agent show` lists the key ids; pass the other one",
        )
    if len(by_id) == 1:
        return by_id[0].name, by_id[0].public_key
    if len(by_name) == 1:
        return by_name[0].name, by_name[0].public_key
    if by_name:
        ids = ", ".join(keystore.key_id(a.public_key) for a in by_name)
        raise InvalidInput(
            f"agent {target!r} holds {len(by_name)} keys ({ids})", hint="name the key by its id"
        )
    raise NotFound(
        f"no agent or current key {target!r} in this store",
        hint="`lineal agent list` shows the agents; `lineal agent show NAME` their key ids",
    )


def revoke_key(repo: Lineal, target: str, reason: str) -> RevokedKey:
    """Revoke a key (NAME: that agent's one current key, or a KEY_ID) with an ``agent.revoke``
    record: nothing signed with it after that record is accepted; what it signed before
    still verifies. An agent revokes its own keys, an admin anyone's (see
    lineal.ledger.agent_keys.may_revoke)."""
    from lineal.model.agent_ops import AgentRevoke

    name, public_key = _key_to_revoke(repo, target)
    with repo.atomic():  # through a server: a refusal is raised here, before anything is sent
        record = repo.store.append(AgentRevoke(name=name, public_key=public_key, reason=reason))
    return RevokedKey(
        name=name, public_key=public_key, by=record[0].author, seq=record[0].seq, reason=reason
    )
