"""The size of the image a label file describes, for formats whose labels do not say it.

KITTI keeps ``training/label_2/000001.txt`` beside ``training/image_2/000001.png``; YOLO keeps
``labels/train/x.txt`` beside ``images/train/x.jpg`` (or the image next to its label file, as
darknet exports do). Only the image's header is read, with Pillow when it is installed (the
``labels`` extra); without it, or without the image, the size is simply not known.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

#: Image suffixes looked for, most common first.
SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def candidates(label_file: Path, swaps: dict[str, str]) -> list[Path]:
    """The folders the image of ``label_file`` may be in, most likely first: its folder with
    one folder of its path renamed as ``swaps`` says (``label_2`` -> ``image_2``, ``labels``
    -> ``images``), then its own folder."""
    folders = [label_file.parent]
    parts = label_file.parent.parts
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] in swaps:
            folders.insert(0, Path(*parts[:index], swaps[parts[index]], *parts[index + 1 :]))
            break
    return folders


class ImageSizes:
    """Image sizes for the label files of one import: each candidate folder is listed once
    (not a stat per suffix per label file), and Pillow is looked for once."""

    def __init__(self, swaps: dict[str, str]) -> None:
        self.swaps = swaps
        self._images: dict[Path, dict[str, Path]] = {}
        try:
            from PIL import Image
        except ImportError:
            self._pil: Any = None
        else:
            self._pil = Image

    def _listing(self, folder: Path) -> dict[str, Path]:
        """``{stem: image}`` in ``folder``, the most common suffix first on a tie."""
        if folder not in self._images:
            try:
                entries = [p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES]
            except OSError:
                entries = []
            entries.sort(key=lambda p: (p.stem, SUFFIXES.index(p.suffix.lower())))
            found: dict[str, Path] = {}
            for entry in entries:
                found.setdefault(entry.stem, entry)
            self._images[folder] = found
        return self._images[folder]

    def size(self, label_file: Path) -> tuple[int, int] | None:
        """``(width, height)`` of the first image found for ``label_file``, read from its
        header; None when there is none, Pillow is missing, or it is no image Pillow knows."""
        if self._pil is None:
            return None
        for folder in candidates(label_file, self.swaps):
            image = self._listing(folder).get(label_file.stem)
            if image is None:
                continue
            try:
                if not image.is_file():  # a FIFO would block, a device never end
                    return None
                with warnings.catch_warnings():
                    # Only the header is read: a huge size is a size, not a bomb to defuse.
                    warnings.simplefilter("ignore", self._pil.DecompressionBombWarning)
                    with self._pil.open(image) as opened:
                        width, height = opened.size
                        return int(width), int(height)
            except (OSError, ValueError, self._pil.DecompressionBombError):
                return None  # UnidentifiedImageError is an OSError
        return None
