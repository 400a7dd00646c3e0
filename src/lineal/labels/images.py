"""The size of the image a label file describes, for formats whose labels do not say it.

KITTI keeps ``training/label_2/000001.txt`` beside ``training/image_2/000001.png``; YOLO keeps
``labels/train/x.txt`` beside ``images/train/x.jpg`` (or the image next to its label file, as
darknet exports do). Only the image's header is read, with Pillow when it is installed (the
``labels`` extra); without it, or without the image, the size is simply not known.
"""

from __future__ import annotations

from pathlib import Path

#: Image suffixes looked for, most common first.
SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def candidates(label_file: Path, swaps: dict[str, str]) -> list[Path]:
    """Where the image of ``label_file`` may be: beside it, and with one folder of its path
    renamed as ``swaps`` says (``label_2`` -> ``image_2``, ``labels`` -> ``images``)."""
    folders = [label_file.parent]
    parts = label_file.parent.parts
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] in swaps:
            folders.insert(0, Path(*parts[:index], swaps[parts[index]], *parts[index + 1 :]))
            break
    return [folder / (label_file.stem + suffix) for folder in folders for suffix in SUFFIXES]


def image_size(label_file: Path, swaps: dict[str, str]) -> tuple[int, int] | None:
    """``(width, height)`` of the first image found for ``label_file``, read from its header;
    None when there is none, Pillow is missing, or the file is not an image it knows."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        return None
    for path in candidates(label_file, swaps):
        if not path.is_file():
            continue
        try:
            with Image.open(path) as image:
                return image.size
        except (OSError, UnidentifiedImageError, ValueError):
            return None
    return None
