"""What an artifact states about itself for the registry's policies: its licence and source.

Reads the artifact's recorded meta and its current tags; never writes and never prints.
"""

from __future__ import annotations

from lineal.client import Lineal
from lineal.model.entities import Artifact

#: Facts an artifact may be given after it was recorded, as a tag of that name (`lineal tag
#: REF license=SPDX`): a licence corrected, or stated for data lineal itself generated. The
#: tag, while set, wins over the value recorded with the artifact.
STATED_BY_TAG = ("license", "source")


def meta_value(artifact: Artifact, key: str) -> str | None:
    """``key`` as `lineal add --license/--source` or `--meta KEY=VALUE` recorded it."""
    value = artifact.meta.get(key)
    if value is None and isinstance(artifact.meta.get("extra"), dict):
        value = artifact.meta["extra"].get(key)
    return str(value) if value not in (None, "") else None


def stated(repo: Lineal, artifact: Artifact, key: str) -> str | None:
    """``key`` (license, source, …) as the artifact's tag now says it, else as recorded."""
    if key in STATED_BY_TAG:
        tagged = repo.store.tags(repo.node(artifact)).get(key)
        if tagged:
            return tagged
    return meta_value(artifact, key)
