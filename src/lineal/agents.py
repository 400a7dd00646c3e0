"""The agents who sign writes in one workspace: add one (a key, its registration, a role),
list them with their keys and roles, and show an agent's public key.

Private keys are written only into the workspace's `.lineal/keys/`; never prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal.client import Lineal
from lineal.errors import Conflict, InvalidInput, NotFound
from lineal.ledger import keys as keystore
from lineal.lookalikes import refuse_confusable_agent
from lineal.model.entities import check_agent_name

if TYPE_CHECKING:
    from lineal.model.ops import Op


@dataclass(frozen=True, slots=True)
class AgentKey:
    """One public key the ledger holds for an agent, from the record that registered it."""

    public_key: str
    seq: int | None

    @property
    def key_id(self) -> str:
        return keystore.key_id(self.public_key)

    def as_dict(self) -> dict[str, Any]:
        return {"public_key": self.public_key, "key_id": self.key_id, "seq": self.seq}


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
        registered.setdefault(agent.name, []).append(AgentKey(agent.public_key, agent.seq))
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
