"""Aliases on any named artifact: set, remove and list ``KIND/NAME:ALIAS``.

Writes ``alias.set`` records through lineal.client; a protected model alias (see
lineal.settings) moves only through `lineal model promote`. Never prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lineal.client import Lineal
from lineal.errors import InvalidInput, NotFound, PermissionDenied
from lineal.model.entities import Artifact
from lineal.model.ops import check_alias
from lineal.model.refs import ARTIFACT_KINDS, Ref, parse


@dataclass(frozen=True, slots=True)
class AliasEntry:
    """One alias held now: ``KIND/NAME:ALIAS`` names ``KIND/NAME@vVERSION``."""

    kind: str
    name: str
    alias: str
    version: int
    seq: int  # the record that set it

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}:{self.alias}"

    @property
    def target(self) -> str:
        return f"{self.kind}/{self.name}@v{self.version}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "kind": self.kind,
            "name": self.name,
            "alias": self.alias,
            "version": self.version,
            "target": self.target,
            "seq": self.seq,
        }


@dataclass(frozen=True, slots=True)
class AliasChange:
    """What `alias set`/`alias unset` did: ``version`` None means the alias was removed."""

    kind: str
    name: str
    alias: str
    version: int | None
    previous: int | None  # the version that held it before, if any
    changed: bool  # False: it already pointed there, nothing was recorded

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}:{self.alias}"

    def as_dict(self) -> dict[str, Any]:
        def at(version: int | None) -> str | None:
            return None if version is None else f"{self.kind}/{self.name}@v{version}"

        return {
            "ref": self.ref,
            "alias": self.alias,
            "target": at(self.version),
            "previous": at(self.previous),
            "changed": self.changed,
        }


def _refuse_protected(repo: Lineal, kind: str, name: str, alias: str, doing: str) -> None:
    """A protected model alias (or one with a policy) moves only through a promotion."""
    from lineal.registry.grants import in_force

    if kind == "model" and in_force(repo).is_protected(alias):
        raise PermissionDenied(
            f"model/{name}:{alias} is protected: it moves only through a promotion",
            hint=f"{doing}lineal model promote {name}@vN --to {alias} --reason TEXT",
        )


def _held(repo: Lineal, kind: str, name: str, alias: str) -> int | None:
    """The version ``kind/name:alias`` names now, or None."""
    for _, _, held, version, _ in repo.store.held_aliases(kind, name):
        if held == alias:
            return version
    return None


def set_alias(repo: Lineal, ref: str, alias: str) -> AliasChange:
    """Point ``KIND/NAME:ALIAS`` at the version ``ref`` names (its latest for a bare name)."""
    check_alias(alias)
    artifact = repo.resolve(ref)
    if not isinstance(artifact, Artifact) or artifact.name is None or artifact.version is None:
        raise InvalidInput(
            f"{ref} is not a named artifact version: aliases need a name",
            hint="name a version, e.g. dataset/holdout@v2",
        )
    kind, name, version = artifact.kind, artifact.name, artifact.version
    _refuse_protected(repo, kind, name, alias, "")
    previous = _held(repo, kind, name, alias)
    if previous == version:
        return AliasChange(kind, name, alias, version, previous, changed=False)
    repo.set_alias(f"{kind}/{name}@v{version}", alias)
    return AliasChange(kind, name, alias, version, previous, changed=True)


def _named(repo: Lineal, ref: Ref) -> tuple[str, str]:
    """``(kind, name)`` of a recorded ``KIND/NAME``, or one clear error."""
    kind, name = ref.kind, ref.name
    if kind in (None, "run") or name is None or ref.version is not None or ref.digest is not None:
        raise InvalidInput(f"bad target {str(ref)!r}: expected KIND/NAME", hint="e.g. dataset/x")
    if not repo.store.versions(kind, name):
        raise NotFound(f"no {kind} named {name!r}", hint="`lineal ls` lists the names")
    return kind, name


def unset_alias(repo: Lineal, target: str, alias: str | None = None) -> AliasChange:
    """Remove ``KIND/NAME:ALIAS`` (``target`` spells it whole, or ``alias`` is given apart)."""
    from lineal.model.ops import AliasSet

    ref = parse(target)
    if alias is None:
        if ref.alias is None:
            raise InvalidInput(
                f"which alias of {target}? expected KIND/NAME:ALIAS or KIND/NAME ALIAS",
                hint=f"lineal alias list {target} shows its aliases",
            )
        alias, ref = ref.alias, Ref(kind=ref.kind, name=ref.name)
    elif ref.alias is not None:
        raise InvalidInput(f"{target} already names an alias: pass KIND/NAME ALIAS")
    check_alias(alias)
    kind, name = _named(repo, ref)
    _refuse_protected(repo, kind, name, alias, "promote another version instead: ")
    previous = _held(repo, kind, name, alias)
    if previous is None:
        raise NotFound(
            f"{kind}/{name} has no alias {alias!r}", hint=f"lineal alias list {kind}/{name}"
        )
    repo.store.append(AliasSet(kind=kind, name=name, alias=alias, digest=None))
    return AliasChange(kind, name, alias, None, previous, changed=True)


def list_aliases(repo: Lineal, target: str | None = None) -> list[AliasEntry]:
    """Every alias held now, of one ``KIND/NAME``, of one ``KIND``, or of every name."""
    kind = name = None
    if target in ARTIFACT_KINDS:
        kind = target
    elif target is not None:
        kind, name = _named(repo, parse(target))
    return [
        AliasEntry(kind=k, name=n, alias=a, version=v, seq=s)
        for k, n, a, v, s in repo.store.held_aliases(kind, name)
    ]
