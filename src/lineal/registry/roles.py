"""Adding an agent to a role in the project's `lineal.toml`, keeping the file's comments and
layout (tomlkit edits the document in place).

Edits only the ``[roles]`` table of that one file, and writes it atomically; never reads the
store and never prints.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lineal.errors import InvalidInput
from lineal.settings import parse

if TYPE_CHECKING:
    from lineal.workspace import Workspace

_ROLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_role(role: object) -> str:
    if not isinstance(role, str) or not _ROLE.fullmatch(role):
        raise InvalidInput(
            f"bad role {role!r}: use letters, digits and . _ - (max 64)",
            hint="e.g. --role approver",
        )
    return role


@dataclass(frozen=True, slots=True)
class RoleEdit:
    """The new text of `lineal.toml`, checked but not yet written."""

    path: Path
    role: str
    text: str
    changed: bool  # False: the agent already held the role

    def write(self) -> None:
        if not self.changed:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(self.text, encoding="utf-8")
        tmp.replace(self.path)


def add_to_role(found: Workspace, agent: str, role: str) -> RoleEdit:
    """`lineal.toml` with ``agent`` among ``[roles] ROLE`` (the table and the file made if
    missing); every other byte of the file is kept."""
    import tomlkit

    check_role(role)
    path, _ = found.project_config()  # refuses a file that is not valid TOML
    if path is None:
        raise InvalidInput("roles live in lineal.toml beside .lineal/: no workspace here")
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    document = tomlkit.parse(text)
    roles = document.get("roles")
    if roles is None:
        roles = tomlkit.table()
        document["roles"] = roles
    if not isinstance(roles, MutableMapping):
        raise InvalidInput(f"{path}: roles is not a table", hint="make it [roles]")
    members = roles.get(role)
    if members is None:
        roles[role] = [agent]
    elif not isinstance(members, list):
        raise InvalidInput(f"{path}: [roles] {role} is not a list", hint='e.g. admin = ["alice"]')
    elif agent in members:
        return RoleEdit(path, role, text, changed=False)
    else:
        members.append(agent)
    edited = tomlkit.dumps(document)
    parse(tomllib.loads(edited), path)  # still the registry settings it was, plus the member
    return RoleEdit(path, role, edited, changed=True)
