"""What a DVC out holds, as lineal identifies it: the sha256 of its bytes, found in the
workspace or the DVC cache, or a placeholder identity when they are in neither.

- **A file**: the workspace copy when its md5 is DVC's, else the cache object
  (``.dvc/cache/files/md5/XX/REST``, or ``.dvc/cache/XX/REST`` as DVC 2 kept it). Its digest
  is the sha256 of those bytes. A DVC 3 entry (``hash: md5``) is checked against its md5
  wherever it is read. A DVC 2 entry (no ``hash``) hashed text with CRLF made LF: a workspace
  file matches by either md5, and a DVC 2 cache object is trusted.
- **A folder** (md5 ``HEX.dir``): the listing ``[{md5, relpath}]`` from the cache (its own md5
  checked), or, when the cache lacks it, the workspace folder whose listing DVC would hash to
  that md5; each file's bytes as for a file. Its digest is lineal's own manifest digest over
  those files (lineal.cas.manifest, as `lineal add` records a folder).
- **Absent** (not pulled, only a URL, outside the repository): sha256 over the canonical JSON
  of ``{path, md5}`` (or the etag/checksum DVC has), marked ``content: absent``, so a later
  import that finds the bytes records the real version beside it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lineal.cas.manifest import Entry, Manifest
from lineal.errors import InvalidInput
from lineal.interop.dvc_files import Output
from lineal.model import canonical
from lineal.model.digests import digest_bytes

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Content:
    """An out's identity: its digest and size, the manifest of a folder, where it was read."""

    digest: str
    size: int | None
    manifest: Manifest | None = None
    where: str | None = None  # "workspace", "cache", "ledger" (hashed before); None: absent

    @property
    def present(self) -> bool:
        return self.where is not None


class Locator:
    """Finds and hashes the bytes of outs; each distinct md5 is read once per import."""

    def __init__(self, root: Path, caches: Sequence[Path]) -> None:
        self.root = root
        self.caches = tuple(caches)
        self._known: dict[str, Content] = {}  # md5 -> the content first found under it
        self._found: dict[tuple[str, str, str], Content] = {}

    def content(self, out: Output) -> Content:
        identity = out.identity
        key = (out.path, *(identity or ("", "")))
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = self._content(out)
        return found

    def _content(self, out: Output) -> Content:
        if out.inside and out.md5 is not None:
            checked = out.hash == "md5"
            found = (
                self._folder(out.path, out.md5, checked)
                if out.is_dir
                else self._file(self.root / out.path, out.md5, checked)
            )
            if found is not None:
                return found
        return placeholder(out)

    def _file(self, path: Path, md5: str, checked: bool) -> Content | None:
        if md5 in self._known:
            return self._known[md5]
        hashed = _hash(path, legacy=not checked)
        if hashed is not None and md5 in (hashed[0], hashed[3]):
            found = self._known[md5] = Content(hashed[1], hashed[2], where="workspace")
            return found
        for obj in self._objects(md5):
            hashed = _hash(obj)
            if hashed is not None and (hashed[0] == md5 or not checked):
                found = self._known[md5] = Content(hashed[1], hashed[2], where="cache")
                return found
        return None

    def _objects(self, md5: str) -> list[Path]:
        if len(md5) < 3:
            return []
        return [
            place
            for cache in self.caches
            for place in (cache / "files" / "md5" / md5[:2] / md5[2:], cache / md5[:2] / md5[2:])
        ]

    def _folder(self, path: str, md5: str, checked: bool) -> Content | None:
        listing = self._listing(md5, checked) or self._listing_of(self.root / path, md5)
        if listing is None:
            return None
        entries, wheres = [], set()
        for relpath, file_md5 in listing:
            found = self._file(self.root / path / relpath, file_md5, checked)
            if found is None or found.size is None:
                return None
            wheres.add(found.where)
            try:
                entries.append(Entry(path=relpath, digest=found.digest, size=found.size))
            except InvalidInput as exc:
                raise InvalidInput(
                    f"{path}: DVC's listing {md5} names a file lineal cannot record: {exc}",
                    hint="rename the file in DVC (`dvc add` again), then import again",
                ) from None
        manifest = Manifest.from_entries(entries)
        where = "workspace" if wheres == {"workspace"} else "cache"
        return Content(manifest.digest, manifest.size, manifest=manifest, where=where)

    def _listing(self, md5: str, checked: bool) -> list[tuple[str, str]] | None:
        for obj in self._objects(md5):
            try:
                data = obj.read_bytes()
            except OSError:
                continue
            own = hashlib.md5(data, usedforsecurity=False).hexdigest() + ".dir"
            if checked and own != md5:
                continue
            listing = _parse_listing(data)
            if listing is not None:
                return listing
        return None

    def _listing_of(self, folder: Path, md5: str) -> list[tuple[str, str]] | None:
        """The workspace folder's listing, when DVC would hash it to ``md5`` (else None)."""
        if not folder.is_dir():
            return None
        rows = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            hashed = _hash(path)
            if hashed is None:
                return None
            self._known.setdefault(hashed[0], Content(hashed[1], hashed[2], where="workspace"))
            rows.append({"md5": hashed[0], "relpath": path.relative_to(folder).as_posix()})
        rows.sort(key=lambda row: tuple(row["relpath"].split("/")))
        text = json.dumps(rows, sort_keys=True).encode()
        if hashlib.md5(text, usedforsecurity=False).hexdigest() + ".dir" != md5:
            return None
        return [(row["relpath"], row["md5"]) for row in rows]


def placeholder(out: Output) -> Content:
    """The identity of an out whose bytes are not here: sha256 of ``{path, md5}``'s JSON."""
    field, value = out.identity or ("md5", None)
    return Content(digest_bytes(canonical.encode({"path": out.path, field: value})), out.size)


def _hash(path: Path, *, legacy: bool = False) -> tuple[str, str, int, str | None] | None:
    """(md5 hex, sha256 digest, size, DVC 2's md5 or None) of a regular file's bytes; None
    when there is none. With ``legacy``, also the md5 DVC 2 gave a text file: of each 1 MiB
    chunk with CRLF made LF (DVC 2's own chunking), so its entries match the workspace."""
    md5 = hashlib.md5(usedforsecurity=False)
    sha = hashlib.sha256()
    old = hashlib.md5(usedforsecurity=False) if legacy else None
    size = 0
    try:
        if not path.is_file():
            return None
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                if old is not None and size == 0 and not _is_text(chunk[:512]):
                    old = None
                md5.update(chunk)
                sha.update(chunk)
                if old is not None:
                    old.update(chunk.replace(b"\r\n", b"\n"))
                size += len(chunk)
    except OSError:
        return None
    legacy_md5 = old.hexdigest() if old is not None else None
    return md5.hexdigest(), "sha256:" + sha.hexdigest(), size, legacy_md5


_TEXT = bytes(range(32, 127)) + b"\n\r\t\f\b"


def _is_text(block: bytes) -> bool:
    """DVC 2's test for a text file: no NUL, at most 30% other bytes in its first 512."""
    if b"\x00" in block:
        return False
    return not block or len(block.translate(None, _TEXT)) / len(block) <= 0.30


def _parse_listing(data: bytes) -> list[tuple[str, str]] | None:
    try:
        items = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(items, list):
        return None
    found = []
    for item in items:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("relpath"), str)
            and isinstance(item.get("md5"), str)
        ):
            return None
        found.append((item["relpath"].replace("\\", "/"), item["md5"]))
    return found
