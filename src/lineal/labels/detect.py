"""Which label format a path holds, and every label schema a dataset folder carries.

Looks only at fixed places (a names file, ``label_2/``, ``Annotations/``, COCO JSON at the top
or under ``annotations/``), so a folder of a million images costs a few stat calls; never
records anything.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from lineal.errors import InvalidInput, NotFound
from lineal.labels import coco, kitti, voc, yolo
from lineal.labels.folder import Folder
from lineal.labels.imported import Imported
from lineal.labels.schema import FORMATS, LabelFileError, Problem, merge
from lineal.labels.stats import Stats

#: ``reader(path, *, lenient, folder)``: every reader (and every one to come) reads each file
#: through ``folder`` (lineal.labels.folder), so none leaves the dataset folder.
Reader = Callable[..., Imported]
#: How much of a .txt file is read to tell KITTI labels from other text.
SNIFF = 1 << 16
READERS: dict[str, Reader] = {
    "coco": coco.read,
    "kitti": kitti.read,
    "yolo": yolo.read,
    "voc": voc.read,
}


def format_of(path: Path, folder: Folder | None = None) -> str:
    """The format of one label file (inside ``folder``, by default its own), from its name
    and (for .txt) its first line."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "coco"
    if suffix == ".xml":
        return "voc"
    if suffix in (".yaml", ".yml", ".data", ".names") or path.name in yolo.NAME_FILES:
        return "yolo"
    if suffix == ".txt":
        real = (folder or Folder.of(path)).check(path)  # never a FIFO: it would not answer
        with real.open("rb") as opened:
            head = opened.read(SNIFF).decode("utf-8", errors="replace")
        first = next((line for line in head.splitlines() if line.strip()), "")
        if len(first.split()) in (15, 16):
            return "kitti"
    raise InvalidInput(
        f"cannot tell the label format of {path}",
        hint="pass --format coco, kitti, yolo or voc",
    )


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError) as exc:  # a name too long, a NUL in it
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise InvalidInput(f"bad path {path}: {reason}", hint="check the path") from exc


def import_path(path: Path, *, format: str = "auto", lenient: bool = False) -> Imported:
    """The one schema ``path`` (a file, or a folder in a known layout) holds.

    Every file read resolves inside the folder given, or the folder of the file given
    (lineal.labels.folder): a path a label file names that leads out of it is refused.
    """
    if not _exists(path):
        raise NotFound(f"no such file or folder: {path}")
    folder = Folder.of(path)
    if format != "auto":
        if format not in FORMATS:
            raise InvalidInput(f"bad format {format!r}: expected auto, {', '.join(FORMATS)}")
        return READERS[format](path, lenient=lenient, folder=folder)
    if not path.is_dir():
        return READERS[format_of(path)](path, lenient=lenient, folder=folder)
    found = dataset_schemas(path, lenient=lenient)
    if not found and (loose := _loose_format(path)) is not None:
        return READERS[loose](path, lenient=lenient, folder=folder)
    if not found:
        raise InvalidInput(
            f"found no annotations in a known layout under {path}",
            hint="point at the annotation file itself, or pass --format",
        )
    if len(found) > 1:
        listed = "; ".join(f"{one.format}: {one.files[0]}" for one in found)
        raise InvalidInput(
            f"{path} holds {len(found)} label schemas ({listed})",
            hint="import one file at a time",
        )
    return found[0]


def _loose_format(folder: Path) -> str | None:
    """A folder of VOC XML files or KITTI label files not in their usual layout."""
    if next(folder.glob("*.xml"), None) is not None:
        return "voc"
    first = next(iter(sorted(folder.glob("*.txt"))), None)
    try:
        found = first is not None and format_of(first, Folder.of(folder)) == "kitti"
    except InvalidInput:
        return None
    return "kitti" if found else None


def _coco_candidates(folder: Path) -> Iterator[Path]:
    """JSON files at the top, under ``annotations/``, and Roboflow's per-split
    ``*/_annotations.coco.json``; one pass over the top folder, however many files it has."""
    top: list[Path] = []
    splits: list[Path] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith(".json") and entry.is_file():
                top.append(Path(entry.path))
            elif entry.is_dir() and (found := Path(entry.path, "_annotations.coco.json")).is_file():
                splits.append(found)
    yield from sorted(top)
    yield from sorted((folder / "annotations").glob("*.json"))
    yield from sorted(splits)


def _coco(folder: Path, root: Folder, lenient: bool, skipped: list[Problem]) -> list[Imported]:
    groups: dict[tuple[object, ...], list[Imported]] = {}
    for candidate in _coco_candidates(folder):
        if not candidate.is_file():
            continue
        try:
            body = coco.load(candidate, folder=root)
            if not coco.looks_like_coco(body):
                continue  # some other JSON (a config, a results file): not a schema
            one = coco.read_body(candidate, body, lenient=lenient)
        except LabelFileError as exc:
            if not lenient:
                raise
            skipped.append(exc.problem)
            continue
        if not one.schema.classes:
            continue  # captions and the like: annotations without categories
        key = tuple(str(c.as_dict()) for c in one.schema.classes)
        groups.setdefault(key, []).append(one)
    return [_merged("coco", group) for group in groups.values()]


def _merged(format: str, group: list[Imported]) -> Imported:
    if len(group) == 1:
        return group[0]
    stats = Stats(box_unit=group[0].stats.box_unit)
    for one in group:
        stats.merge(one.stats)
    return Imported(
        format=format,
        schema=merge([one.schema for one in group]),
        files=tuple(f for one in group for f in one.files),
        stats=stats,
        problems=tuple(p for one in group for p in one.problems),
    )


def dataset_schemas(folder: Path, *, lenient: bool = False) -> list[Imported]:
    """Every label schema in ``folder``'s known layouts: a YOLO names file, KITTI
    ``label_2/``, VOC ``Annotations/`` and COCO files (those declaring the same classes make
    one schema). With ``lenient``, unreadable files are listed as problems and skipped."""
    found: list[Imported] = []
    skipped: list[Problem] = []
    root = Folder.of(folder)
    places: list[tuple[str, Path]] = []
    if yolo.find_names(folder) is not None:
        places.append(("yolo", folder))
    if (labels := kitti.label_folder(folder)) is not None:
        places.append(("kitti", labels))
    if (folder / "Annotations").is_dir():
        places.append(("voc", folder))
    for format, place in places:
        try:
            found.append(READERS[format](place, lenient=lenient, folder=root))
        except LabelFileError as exc:
            if not lenient:
                raise
            skipped.append(exc.problem)
    found.extend(_coco(folder, root, lenient, skipped))
    if skipped and not found:
        raise LabelFileError(skipped[0])  # nothing else to import: the first problem is why
    if skipped:
        first = found[0]
        found[0] = Imported(
            format=first.format,
            schema=first.schema,
            files=first.files,
            stats=first.stats,
            problems=(*first.problems, *skipped),
        )
    return found
