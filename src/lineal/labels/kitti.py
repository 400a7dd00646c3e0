"""KITTI object labels: one text file per image, one object per line (15 fields, 16 with a
score). Classes are implicit: the set of types seen.

Reads files only; never records anything.
"""

from __future__ import annotations

from pathlib import Path

from lineal.labels.folder import Folder
from lineal.labels.images import ImageSizes
from lineal.labels.imported import Imported
from lineal.labels.schema import (
    LabelClass,
    LabelFileError,
    Problem,
    Problems,
    build,
    text_problem,
)
from lineal.labels.stats import Stats

#: The fields after the type, as the KITTI object development kit names them.
FIELDS = (
    "truncated", "occluded", "alpha", "bbox left", "bbox top", "bbox right", "bbox bottom",
    "height", "width", "length", "x", "y", "z", "rotation_y",
)  # fmt: skip
#: Per-object attributes every KITTI label carries.
ATTRIBUTES = ("alpha", "occluded", "truncated")


def label_folder(path: Path) -> Path | None:
    """The ``label_2`` folder at or under ``path`` (a KITTI root or its training split)."""
    for candidate in (path, path / "label_2", path / "training" / "label_2"):
        if candidate.is_dir() and candidate.name == "label_2":
            return candidate
    return None


def read(path: Path, *, lenient: bool = False, folder: Folder | None = None) -> Imported:
    """Import one label file, a ``label_2`` folder, or a KITTI root holding one; ``folder``:
    the dataset folder every file read must be in (by default, ``path``'s)."""
    folder = folder or Folder.of(path)
    if path.is_dir():
        labels = label_folder(path) or path
        files = sorted(p for p in labels.glob("*.txt") if p.is_file())
        if not files:
            raise LabelFileError(Problem(file=str(path), message="no KITTI label files (*.txt)"))
    else:
        files = [path]
    problems = Problems(lenient=lenient)
    stats = Stats(box_unit="px")
    types: set[str] = set()
    names: set[str] = set()
    sizes = ImageSizes({"label_2": "image_2"})
    for file in files:
        _read_file(file, folder, problems, stats, types, names, sizes)
    schema = build(
        "implicit",
        [LabelClass(name=n) for n in names],
        annotation_types=types,
        attributes=ATTRIBUTES if stats.annotations else (),
        source=str(path),
    )
    return Imported(
        format="kitti",
        schema=schema,
        files=tuple(files),
        stats=stats,
        problems=tuple(problems.found),
    )


def _read_file(
    path: Path,
    folder: Folder,
    problems: Problems,
    stats: Stats,
    types: set[str],
    names: set[str],
    sizes: ImageSizes,
) -> None:
    text = folder.read_text(path)
    size = sizes.size(path)
    stats.image(*(size or (None, None)))
    stats.label_file(empty=not text.strip())
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if (problem := text_problem(fields[0])) is not None:
            problems.report(str(path), f"type {fields[0]!r} {problem}", line=number)
            continue
        if len(fields) not in (15, 16):
            problems.report(
                str(path),
                f"expected 15 fields (16 with a score), found {len(fields)}",
                line=number,
            )
            continue
        values: list[float] = []
        for name, text_value in zip((*FIELDS, "score"), fields[1:], strict=False):
            try:
                values.append(float(text_value))
            except ValueError:
                problems.report(str(path), f"{name} {text_value!r} is not a number", line=number)
                break
        else:
            left, top, right, bottom = values[3:7]
            height, width, length = values[7:10]
            found = ("box", "box3d") if min(height, width, length) > 0 else ("box",)
            types.update(found)
            names.add(fields[0])
            area = max(0.0, right - left) * max(0.0, bottom - top)
            aspect = (right - left) / (bottom - top) if bottom > top else None
            stats.annotation(fields[0], found, box_area=area, box_aspect=aspect)
            if size is not None and fields[0] != "DontCare":
                stats.box_bounds((left, top, right, bottom), *size)
