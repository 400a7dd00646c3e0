"""The folder a label set is read from: every file an importer reads must resolve inside it.

A label file may name another file (darknet's obj.data names its names file) and a dataset
folder may hold symlinks; neither may lead an importer out of the folder, or into a FIFO or a
device that never ends. Every importer reads through here; nothing here records anything.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from lineal.labels.schema import LabelFileError, Problem

_OUTSIDE_HINT = "copy the file into the dataset folder: lineal reads no label file outside it"


def _problem(where: Path, message: str, line: int | None = None) -> Problem:
    return Problem(file=str(where), line=line, message=message)


def _real(path: Path, where: Path, line: int | None = None) -> Path:
    """``path`` with every symlink followed (a loop is left for stat() to report)."""
    try:
        return Path(os.path.realpath(path))
    except ValueError as exc:  # an embedded NUL: no file can have that name
        raise LabelFileError(_problem(where, f"bad file name {str(path)!r}: {exc}", line)) from exc


@dataclass(frozen=True, slots=True)
class Folder:
    """The folder (``root``, symlinks resolved) that every file of one import must be in.

    What a user names on the command line is trusted, as ``cat`` trusts it: the folder given,
    or the folder holding the file given, becomes the root. What is found in that folder, and
    every path a label file names, is not: it must resolve (symlinks followed) inside the root.
    """

    root: Path
    shown: str = ""  # the folder as the user spelled it, for messages (default: root)

    @classmethod
    def of(cls, path: Path) -> Folder:
        """The folder ``path`` names, or the folder of the file it names."""
        real = _real(path, path)
        if real.is_dir():
            return cls(real, str(path))
        same = _real(path.parent, path) == real.parent  # not a symlink to another folder
        return cls(real.parent, str(path.parent) if same else "")

    def __str__(self) -> str:
        return self.shown or str(self.root)

    def check(self, path: Path, *, named_in: Path | None = None, line: int | None = None) -> Path:
        """``path`` resolved, once it is known to be a regular file inside the folder; else a
        LabelFileError naming ``named_in`` (the file that named ``path``, at ``line``) or
        ``path`` itself."""
        where = named_in or path
        real = _real(path, where, line)
        if not real.is_relative_to(self.root):
            if named_in is None:  # the file itself is a symlink out of the folder
                message = f"resolves to {real}, outside the dataset folder {self}"
            else:
                shown = str(path) if real == path else f"{path} (resolving to {real})"
                message = f"names {shown}, outside the dataset folder {self}"
            raise LabelFileError(_problem(where, message, line), hint=_OUTSIDE_HINT)
        try:
            mode = real.stat().st_mode
        except OSError as exc:
            raise LabelFileError(
                _problem(where, f"cannot read {path}: {exc.strerror}", line),
                hint="check that the file exists and is readable",
            ) from exc
        if not stat.S_ISREG(mode):
            raise LabelFileError(
                _problem(where, f"{path} is not a regular file", line),
                hint="a label file must be a plain file (not a folder, FIFO or device)",
            )
        return real

    def read_bytes(
        self, path: Path, *, named_in: Path | None = None, line: int | None = None
    ) -> bytes:
        """The bytes of ``path``, a regular file inside the folder (see :meth:`check`)."""
        real = self.check(path, named_in=named_in, line=line)
        try:
            return real.read_bytes()
        except OSError as exc:
            raise LabelFileError(
                _problem(path, f"cannot read it: {exc.strerror}"),
                hint="check that the file is readable",
            ) from exc

    def read_text(
        self, path: Path, *, named_in: Path | None = None, line: int | None = None
    ) -> str:
        """The UTF-8 text of ``path``, a regular file inside the folder (see :meth:`check`)."""
        data = self.read_bytes(path, named_in=named_in, line=line)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LabelFileError(
                _problem(path, f"not UTF-8 text (byte {exc.start}: {exc.reason})"),
                hint="label files are UTF-8 text: save it as UTF-8, or remove it",
            ) from exc
