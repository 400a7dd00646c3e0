"""Reading OpenLineage events from files: JSON Lines (what the client's ``file`` transport
writes), a JSON array, one JSON event, or a folder of such files (``*.json``, ``*.jsonl``,
``*.ndjson``, in name order, at any depth).

Reads lazily, one event at a time; a line that is not JSON is named by file and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lineal.errors import InvalidInput, NotFound

SUFFIXES = (".json", ".jsonl", ".ndjson")


def event_files(path: Path) -> list[Path]:
    """The files of events at ``path`` (a file, or a folder's event files in name order)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise NotFound(
            f"no such file or folder: {path}",
            hint="give a .jsonl or .json file, or a folder of them",
        )
    found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
    if not found:
        raise NotFound(
            f"{path} holds no event files ({', '.join(SUFFIXES)})",
            hint="point at a .jsonl file the OpenLineage file transport wrote, or a folder of them",
        )
    return found


@dataclass(frozen=True, slots=True)
class Sourced:
    """An event and where it was read (``FILE:LINE`` or ``FILE[INDEX]``), for error lines."""

    where: str
    event: object


def read_events(path: Path) -> Iterator[Sourced]:
    """Every event in the files at ``path``, in order."""
    for file in event_files(path):
        yield from _events_of(file)


def _events_of(file: Path) -> Iterator[Sourced]:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {file}: {exc}") from exc
    stripped = text.lstrip()
    if stripped.startswith("[") or (file.suffix == ".json" and stripped.startswith("{")):
        try:
            found = json.loads(text)
        except ValueError as exc:
            if stripped.startswith("["):
                raise InvalidInput(f"{file} is not JSON: {exc}") from exc
        else:
            if not isinstance(found, list):
                yield Sourced(str(file), found)
                return
            for index, one in enumerate(found):
                yield Sourced(f"{file}[{index}]", one)
            return
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield Sourced(f"{file}:{number}", json.loads(line))
        except ValueError as exc:
            raise InvalidInput(
                f"{file}:{number} is not a JSON event: {exc}",
                hint="give one JSON event per line (JSON Lines), or a JSON array of events",
            ) from exc
