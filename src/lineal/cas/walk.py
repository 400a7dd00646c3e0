"""Which files a snapshot takes, and under which names: the walk every snapshot and every
stat-only status check shares, so both see exactly the same files.

What a snapshot records:

- **Naming.** One folder: its files, relative to it. One file: its basename. Several paths:
  each under its own basename (two with the same basename are refused).
- **Hidden files** (dot files) are included, like any other file.
- **Empty folders** are not recorded: a manifest lists files.
- **Symlinks to files** are followed: the target's bytes are recorded under the link's path.
  **Symlinks to folders** are not followed and **broken symlinks** are not recorded; both are
  listed in ``SnapshotResult.skipped`` with the reason. A path given on the command line is
  followed even if it is a symlink (it is what the user named).
- **Special files** (sockets, fifos, devices) are skipped and listed in ``skipped``.
- **Ignore rules** come from ``.linealignore`` (gitignore syntax) at the top of each folder
  given; ``.lineal/``, ``.git/`` and ``.dvc/`` folders are never recorded (see ``ignore``).

Never follows a symlink to a folder (no cycles, no surprise trees).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from lineal.cas.ignore import ALWAYS_IGNORED_FOLDERS, IGNORE_FILE, IgnoreRules
from lineal.errors import InvalidInput, NotFound, PermissionDenied

if TYPE_CHECKING:
    from collections.abc import Sequence

# Hot paths use os calls on str paths: a Path object per call costs more than the call.
# ruff: noqa: PTH100, PTH115, PTH116


def _walk_folder(
    top: str, ignore: IgnoreRules, files: list[tuple[str, str]], skipped: list[str]
) -> None:
    stack = [(top, "")]
    plain = ignore.builtin_only  # the common case, checked inline: no call per file
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as it:
                found = list(it)
        except PermissionError as exc:
            raise PermissionDenied(
                f"cannot read folder {folder}: permission denied",
                hint="make it readable, or list it in .linealignore",
            ) from exc
        except OSError as exc:  # e.g. removed while we walk
            raise InvalidInput(
                f"cannot read folder {folder}: {exc.strerror}",
                hint="snapshot again when nothing is moving files",
            ) from exc
        for entry in found:
            name = entry.name
            rel = prefix + name
            if entry.is_dir(follow_symlinks=False):
                if not (
                    name in ALWAYS_IGNORED_FOLDERS if plain else ignore.ignored(rel, is_dir=True)
                ):
                    stack.append((entry.path, rel + "/"))
            elif entry.is_file(follow_symlinks=False):
                if not (rel == IGNORE_FILE if plain else ignore.ignored(rel, is_dir=False)):
                    files.append((rel, entry.path))
            elif entry.is_symlink():
                _walk_link(entry.path, rel, ignore, files, skipped)
            elif not ignore.ignored(rel, is_dir=False):
                skipped.append(f"{rel} (special file: socket, fifo or device)")


def _walk_link(
    path: str, rel: str, ignore: IgnoreRules, files: list[tuple[str, str]], skipped: list[str]
) -> None:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    try:
        mode = os.stat(path).st_mode
    except OSError:
        if not ignore.ignored(rel, is_dir=False):
            skipped.append(f"{rel} -> {target} (broken symlink)")
        return
    is_dir = stat.S_ISDIR(mode)
    if ignore.ignored(rel, is_dir=is_dir):
        return
    if is_dir:
        skipped.append(f"{rel} -> {target} (symlink to a folder)")
    elif stat.S_ISREG(mode):
        files.append((rel, path))
    else:
        skipped.append(f"{rel} -> {target} (symlink to a special file)")


def walk(root: Path, ignore: IgnoreRules | None = None) -> list[tuple[str, Path]]:
    """Sorted ``(relpath, abspath)`` of the files a snapshot of ``root`` would record."""
    root = Path(root)
    if not _check_target(root):
        return [(root.name, root)]
    files: list[tuple[str, str]] = []
    _walk_folder(str(root), ignore or IgnoreRules.load(root), files, [])
    files.sort()
    return [(rel, Path(path)) for rel, path in files]


def _check_target(path: Path) -> bool:
    """Raise NotFound/PermissionDenied/InvalidInput for a path that cannot be snapshotted."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError as exc:
        raise NotFound(f"no such file or folder: {path}", hint="check the path") from exc
    except PermissionError as exc:
        raise PermissionDenied(
            f"cannot reach {path}: permission denied", hint="make it readable"
        ) from exc
    except OSError as exc:
        raise NotFound(f"cannot reach {path}: {exc.strerror}", hint="check the path") from exc
    is_dir = stat.S_ISDIR(mode)
    if not is_dir and not stat.S_ISREG(mode):
        raise InvalidInput(f"{path} is not a file or folder", hint="give files or folders")
    if not os.access(path, os.R_OK | (os.X_OK if is_dir else 0)):
        raise PermissionDenied(f"cannot read {path}: permission denied", hint="make it readable")
    return is_dir


def collect(paths: Sequence[Path]) -> tuple[list[tuple[str, str]], list[str]]:
    if not paths:
        raise InvalidInput("nothing to snapshot", hint="give at least one file or folder")
    targets = []
    names: dict[str, Path] = {}
    for given in paths:
        path = Path(os.path.abspath(given))
        is_dir = _check_target(path)
        name = path.name
        if not name:
            raise InvalidInput(f"cannot snapshot {given} under a name", hint="give a subfolder")
        if name in names:
            raise InvalidInput(
                f"two paths share the name {name!r}: {names[name]} and {given}",
                hint="snapshot them separately, or rename one",
            )
        names[name] = Path(given)
        targets.append((name, path, is_dir))
    files: list[tuple[str, str]] = []
    skipped: list[str] = []
    single_folder = len(targets) == 1 and targets[0][2]
    for name, path, is_dir in targets:
        if not is_dir:
            files.append((name, str(path)))
            continue
        found: list[tuple[str, str]] = []
        notes: list[str] = []
        _walk_folder(str(path), IgnoreRules.load(path), found, notes)
        prefix = "" if single_folder else name + "/"
        files.extend(found if not prefix else [(prefix + rel, full) for rel, full in found])
        skipped.extend(prefix + note for note in notes)
    files.sort()
    skipped.sort()
    _check_names(files)
    return files, skipped


def _check_names(files: list[tuple[str, str]]) -> None:
    # Before anything is read or written: a name that is not UTF-8 cannot go in a manifest.
    try:
        "\n".join([rel for rel, _ in files]).encode("utf-8")
    except UnicodeEncodeError:
        for rel, path in files:
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InvalidInput(
                    f"file name is not valid UTF-8: {path!r}",
                    hint="rename it to a UTF-8 name, or list it in .linealignore",
                ) from exc
