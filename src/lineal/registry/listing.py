"""`lineal ls`: every named artifact with its latest version, version count, aliases and licence.

Reads the catalogue of names and each latest version; never writes and never prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lineal.client import Lineal
from lineal.model.entities import Artifact, check_kind
from lineal.model.refs import Ref
from lineal.registry.stated import stated


@dataclass(frozen=True, slots=True)
class NamedArtifact:
    """One name: ``KIND/NAME``, its latest version, how many there are and what it holds."""

    kind: str
    name: str
    latest: int
    digest: str  # the latest version's content digest
    versions: int
    aliases: Mapping[str, int] = field(default_factory=dict)  # alias -> version it names
    license: str | None = None  # the latest version's (its `license` tag, else as recorded)

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "kind": self.kind,
            "name": self.name,
            "latest": f"{self.ref}@v{self.latest}",
            "version": self.latest,
            "digest": self.digest,
            "versions": self.versions,
            "aliases": {alias: f"{self.ref}@v{v}" for alias, v in sorted(self.aliases.items())},
            "license": self.license,
        }


def named_artifacts(repo: Lineal, kind: str | None = None) -> list[NamedArtifact]:
    """Every name (of ``kind``), by kind and name."""
    if kind is not None:
        check_kind(kind)
    held: dict[tuple[str, str], dict[str, int]] = {}
    for k, n, alias, version, _ in repo.store.held_aliases(kind):
        held.setdefault((k, n), {})[alias] = version
    found = []
    for k, n, latest, digest, count in repo.store.latest_versions(kind):
        artifact = repo.resolve(Ref(kind=k, name=n, version=latest))
        assert isinstance(artifact, Artifact)  # noqa: S101 - a version names an artifact
        found.append(
            NamedArtifact(
                kind=k,
                name=n,
                latest=latest,
                digest=digest,
                versions=count,
                aliases=held.get((k, n), {}),
                license=stated(repo, artifact, "license"),
            )
        )
    return found
