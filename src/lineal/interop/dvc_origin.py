"""When and by whom a DVC file was written, which DVC itself does not record: the last git
commit of the file when it is committed unchanged, else its mtime and the importing agent.

Also the DVC repository's identity in run ids: its git ``origin`` (credentials removed), else
its folder's name, so two clones of one project give the same runs.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lineal.model.masking import mask_url


@dataclass(frozen=True, slots=True)
class Origin:
    """When the file was written (aware, UTC) and who wrote it; the commit, if committed."""

    time: datetime
    author: str
    commit: str | None = None


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603 - a fixed git command line, no shell
            ["git", *args],  # noqa: S607 - git from PATH, as the user runs it
            cwd=root,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def origin_of(root: Path, rel: str, agent: str) -> Origin:
    """``rel``'s origin: its last commit's author time and email when git holds it unchanged,
    else its modification time and ``agent`` (who runs the import)."""
    changed = _git(root, "status", "--porcelain", "--", rel)
    if changed is not None and not changed.strip():
        found = _git(root, "log", "-1", "--format=%aI%x00%ae%x00%H", "--", rel)
        parts = (found or "").strip().split("\x00")
        if len(parts) == 3 and parts[0]:
            try:
                when = datetime.fromisoformat(parts[0]).astimezone(UTC)
            except ValueError:
                pass
            else:
                return Origin(when, parts[1] or agent, parts[2])
    mtime = (root / rel).stat().st_mtime
    return Origin(datetime.fromtimestamp(mtime, UTC), agent)


def repository_id(root: Path) -> str:
    """The project's identity: its git origin URL (no credentials), else the folder's name."""
    url = (_git(root, "config", "--get", "remote.origin.url") or "").strip()
    return mask_url(url) if url else root.name
