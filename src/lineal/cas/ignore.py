"""Ignore rules for snapshots: ``.linealignore`` (gitignore syntax) plus folders never recorded.

Never ignores anything the user did not ask for, except lineal's, git's and DVC's own folders.

Always ignored: folders named ``.lineal``, ``.git`` or ``.dvc`` at any depth, and the top-level
``.linealignore`` file itself. As in git, a file inside an ignored folder cannot be re-included
by a later ``!pattern`` (the walk never enters the folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lineal.errors import InvalidInput

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

IGNORE_FILE = ".linealignore"
ALWAYS_IGNORED_FOLDERS = frozenset({".lineal", ".git", ".dvc"})


class IgnoreRules:
    """Which paths (relative to the folder being snapshotted, POSIX) to leave out."""

    __slots__ = ("_spec",)

    def __init__(self, lines: list[str] | None = None) -> None:
        spec: GitIgnoreSpec | None = None
        if lines:  # pathspec loads only for a folder that has rules (it costs ~20 ms)
            from pathspec import GitIgnoreSpec

            spec = GitIgnoreSpec.from_lines(lines)
        self._spec = spec if spec is not None and len(spec) else None

    @property
    def builtin_only(self) -> bool:
        """True if only the built-in rules apply (the walk then checks them inline)."""
        return self._spec is None

    @classmethod
    def load(cls, root: Path) -> IgnoreRules:
        """Rules from ``root/.linealignore`` if present (else only the built-in ones)."""
        path = Path(root) / IGNORE_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return cls()
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"{path} is not UTF-8 text", hint="save it as UTF-8 (gitignore syntax)"
            ) from exc
        try:
            return cls(text.splitlines())
        except (ValueError, TypeError) as exc:  # pathspec's GitWildMatchPatternError
            raise InvalidInput(
                f"bad pattern in {path}: {exc}", hint="use gitignore syntax, one pattern a line"
            ) from exc

    def ignored(self, relpath: str, *, is_dir: bool) -> bool:
        name = relpath.rsplit("/", 1)[-1]
        if is_dir and name in ALWAYS_IGNORED_FOLDERS:
            return True
        if relpath == IGNORE_FILE and not is_dir:
            return True
        if self._spec is None:
            return False
        return self._spec.match_file(relpath + "/" if is_dir else relpath)
