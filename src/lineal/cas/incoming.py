"""A remote's ``incoming/`` folder: uploads are written there, then renamed into ``sha256/``
whole; a push killed mid-upload leaves its partial file there, which a later push removes.

Never removes a file lineal did not name as an upload, nor one written to within the grace
period: another machine may be pushing it right now.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from datetime import datetime
from typing import Any

#: An upload writes its file from start to end and renames it the moment it is whole, so a
#: partial upload nothing has written to for this long (seconds) is a killed push's.
GRACE = 3600.0
_UPLOAD = re.compile(r"[0-9a-f]{64}\.[0-9a-f]{32}")


def upload_path(incoming: str, hexdigest: str) -> str:
    """A new name in ``incoming`` for an upload of the object ``hexdigest``."""
    return f"{incoming}/{hexdigest}.{uuid.uuid4().hex}"


def clean(fs: Any, incoming: str, older_than: float) -> int:
    """Remove the partial uploads in ``incoming`` (on the fsspec file system ``fs``) not
    written to since ``older_than`` (a time.time()); how many. One whose time the file system
    cannot tell stays."""
    try:
        fs.invalidate_cache(incoming)
        listing: list[dict[str, Any]] = fs.ls(incoming, detail=True)
    except FileNotFoundError:
        return 0
    removed = 0
    for info in listing:
        path = str(info["name"]).rstrip("/")
        if not _UPLOAD.fullmatch(path.rsplit("/", 1)[-1]) or info.get("type") != "file":
            continue
        written = _modified(fs, path, info)
        if written is None or written >= older_than:
            continue
        with contextlib.suppress(FileNotFoundError):  # another push removed it first
            fs.rm_file(path)
            removed += 1
    return removed


def _modified(fs: Any, path: str, info: dict[str, Any]) -> float | None:
    """When ``path`` was last written (a time.time()), or None if the file system cannot say."""
    mtime = info.get("mtime")
    if isinstance(mtime, datetime):
        return mtime.timestamp()
    if isinstance(mtime, int | float):
        return float(mtime)
    try:
        when = fs.modified(path)
    except (NotImplementedError, FileNotFoundError):
        return None
    return when.timestamp() if isinstance(when, datetime) else None
