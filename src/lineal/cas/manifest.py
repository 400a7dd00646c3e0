"""Manifests: the canonical listing of a dataset version's files, whose digest is its identity.

Pure values (no I/O); never accepts a path, digest or size that another machine could read back
differently, so the same files give the same manifest digest everywhere.

Encoding: ``lineal.model.canonical.encode({"format": "lineal-manifest/1", "entries": [[path,
digest, size], ...]})`` with entries sorted by path (Python ``str`` order, i.e. code points).
Paths are POSIX, relative, and kept exactly as the file system spells them (no Unicode
normalisation, case kept).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lineal.errors import InvalidInput
from lineal.model import canonical
from lineal.model.digests import check_digest, digest_bytes, is_digest

FORMAT = "lineal-manifest/1"
_MAX_SIZE = 2**63 - 1
# An empty, "." or ".." component anywhere (a leading "/" is an empty first component).
_BAD_PART = re.compile(r"(?:\A|/)\.{0,2}(?:/|\Z)")  # \Z: "$" would match before a final "\n"
_PATH_HINT = "entry paths are relative POSIX paths like 'images/0001.png'"


def _check_path(path: object) -> str:
    if (
        type(path) is str
        and path
        and "\x00" not in path
        and _BAD_PART.search(path) is None
        and (path.isascii() or _utf8(path))
    ):
        return path
    if not isinstance(path, str) or not path:
        raise InvalidInput(
            f"bad manifest path {path!r}: expected a non-empty string", hint=_PATH_HINT
        )
    if "\x00" in path or _BAD_PART.search(path):
        raise InvalidInput(
            f"bad manifest path {path!r}: absolute, U+0000, or an empty, '.' or '..' part",
            hint=_PATH_HINT,
        )
    raise InvalidInput(
        f"bad manifest path {path!r}: the file name is not valid UTF-8",
        hint="rename the file to a UTF-8 name",
    )


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One file of a manifest: where it sits, what it holds, how big it is."""

    path: str
    digest: str
    size: int

    def __post_init__(self) -> None:
        _check_path(self.path)
        if not is_digest(self.digest):
            check_digest(self.digest, f"digest of {self.path!r}")
        size = self.size
        if type(size) is not int or not 0 <= size <= _MAX_SIZE:
            raise InvalidInput(
                f"bad size {size!r} for {self.path!r}: expected an integer >= 0",
                hint="sizes are byte counts",
            )


_new = object.__new__
_set = object.__setattr__


def trusted_entry(path: str, digest: str, size: int) -> Entry:
    """An Entry without the checks, for values the caller made and knows to be valid.

    For the snapshot walk (paths from scandir, already checked for UTF-8; digests it just
    computed): on small files the checks cost about as much as the hashing.
    """
    entry: Entry = _new(Entry)
    _set(entry, "path", path)
    _set(entry, "digest", digest)
    _set(entry, "size", size)
    return entry


def _sorted_unique(entries: Iterable[Entry]) -> tuple[Entry, ...]:
    ordered = sorted(entries, key=lambda e: e.path)
    for before, after in itertools.pairwise(ordered):
        if before.path == after.path:
            raise InvalidInput(
                f"duplicate manifest path {after.path!r}",
                hint="each path may appear once in a dataset version",
            )
    return tuple(ordered)


@dataclass(frozen=True, slots=True)
class Manifest:
    """A dataset version: entries sorted by path, and the digest of their canonical bytes.

    Build one with :meth:`from_entries` or :meth:`decode`; both compute ``digest``.
    """

    entries: tuple[Entry, ...]
    digest: str
    #: The canonical bytes, when they were made to compute the digest (kept: a snapshot
    #: stores the manifest right after, and encoding 20,000 entries twice costs ~40 ms).
    encoded: bytes | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_entries(cls, entries: Iterable[Entry]) -> Manifest:
        ordered = _sorted_unique(entries)
        data = _encode(ordered)
        return cls(ordered, digest_bytes(data), data)

    def encode(self) -> bytes:
        return self.encoded if self.encoded is not None else _encode(self.entries)

    @classmethod
    def decode(cls, data: bytes, *, expected: str | None = None) -> Manifest:
        """Read canonical manifest bytes back; anything else raises InvalidInput.

        With ``expected`` (the digest a signed ledger record names) and bytes that hash to it,
        the bytes are the ones lineal wrote from checked entries, so the per-entry checks and
        the re-encoding are skipped: on 20,000 files they cost more than the rest of `status`.
        """
        digest = digest_bytes(data)
        value = canonical.decode(data)
        # Trusted only when they are a manifest at all: the digest of a config's JSON matches
        # its own record just as well.
        if (
            expected is not None
            and digest == expected
            and isinstance(value, dict)
            and value.get("format") == FORMAT
            and isinstance(value.get("entries"), list)
        ):
            return cls(tuple(trusted_entry(p, d, n) for p, d, n in value["entries"]), digest)
        if (
            not isinstance(value, dict)
            or set(value) != {"format", "entries"}
            or value["format"] != FORMAT
            or not isinstance(value["entries"], list)
        ):
            raise InvalidInput(
                f"not a manifest: expected an object with format {FORMAT!r} and entries",
                hint="manifests are written by lineal add",
            )
        entries = []
        for i, row in enumerate(value["entries"]):
            if not isinstance(row, list) or len(row) != 3:
                raise InvalidInput(
                    f"bad manifest entry #{i}: expected [path, digest, size]",
                    hint="manifests are written by lineal add",
                )
            entries.append(Entry(path=row[0], digest=row[1], size=row[2]))
        ordered = _sorted_unique(entries)
        if _encode(ordered) != data:
            raise InvalidInput(
                "manifest bytes are not in canonical form (order, spacing or escapes differ)",
                hint="a manifest must be byte-for-byte what lineal wrote; re-create it",
            )
        return cls(ordered, digest_bytes(data))

    @property
    def size(self) -> int:
        """Total bytes of all files."""
        return sum(e.size for e in self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def by_path(self) -> dict[str, Entry]:
        return {e.path: e for e in self.entries}


def _encode(entries: tuple[Entry, ...]) -> bytes:
    return encode_rows([[e.path, e.digest, e.size] for e in entries])


def encode_rows(rows: list[list[Any]]) -> bytes:
    """The canonical bytes of the manifest whose entries are ``[path, digest, size]`` rows.

    For rows sorted by path, unique, and each valid as an Entry would check it (a UTF-8 path
    without U+0000, a hex digest, an int64 size): the canonical type walk is skipped, as it
    would cost more than the encoding. Callers that only need a digest so make no Entry.
    """
    return canonical.encode_checked({"entries": rows, "format": FORMAT}).encode("utf-8")


def _entry_dict(e: Entry) -> dict[str, Any]:
    return {"path": e.path, "digest": e.digest, "size": e.size}


@dataclass(frozen=True, slots=True)
class ManifestDiff:
    """What changed from one manifest to another, file by file, each part sorted by path."""

    added: tuple[Entry, ...]
    removed: tuple[Entry, ...]
    modified: tuple[tuple[Entry, Entry], ...]  # (old, new)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.modified)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-shaped form for ``--json`` output."""
        added_bytes = sum(e.size for e in self.added)
        removed_bytes = sum(e.size for e in self.removed)
        modified_delta = sum(new.size - old.size for old, new in self.modified)
        return {
            "added": [_entry_dict(e) for e in self.added],
            "removed": [_entry_dict(e) for e in self.removed],
            "modified": [
                {
                    "path": new.path,
                    "old_digest": old.digest,
                    "new_digest": new.digest,
                    "old_size": old.size,
                    "new_size": new.size,
                }
                for old, new in self.modified
            ],
            "summary": {
                "added": len(self.added),
                "removed": len(self.removed),
                "modified": len(self.modified),
                "added_bytes": added_bytes,
                "removed_bytes": removed_bytes,
                "modified_bytes_delta": modified_delta,
                "bytes_delta": added_bytes - removed_bytes + modified_delta,
            },
        }


def diff(old: Manifest, new: Manifest) -> ManifestDiff:
    """Files added, removed and modified (same path, other digest or size) from old to new."""
    before = old.by_path()
    after = new.by_path()
    added = tuple(e for e in new.entries if e.path not in before)
    removed = tuple(e for e in old.entries if e.path not in after)
    modified = tuple(
        (before[e.path], e)
        for e in new.entries
        if e.path in before and (before[e.path].digest != e.digest or before[e.path].size != e.size)
    )
    return ManifestDiff(added, removed, modified)
