"""YOLO label sets: class names by position (data.yaml, obj.data + obj.names, classes.txt)
and the ``class cx cy w h`` label files beside them (polygons as ``class x1 y1 x2 y2 …``;
pose datasets, whose data.yaml has ``kpt_shape``, add each keypoint's numbers to the box).

Reads files only (PyYAML for data.yaml, imported when one is read); never records anything.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

YAML_FILES = ("data.yaml", "dataset.yaml", "data.yml")


@dataclass(frozen=True, slots=True)
class Keypoints:
    """A pose dataset's keypoints: their names, and 2 (x y) or 3 (x y visibility) numbers each."""

    names: tuple[str, ...]
    dims: int


#: More keypoints than any pose layout has (COCO-WholeBody: 133); a bound on what is built.
MAX_KEYPOINTS = 10_000
NAME_FILES = ("obj.names", "classes.txt", "classes.names", "coco.names")
#: Folders that hold label files beside a names file (darknet and ultralytics layouts).
LABEL_DIRS = ("labels", "obj_train_data", "obj_valid_data", "obj_val_data", "obj_test_data")


def find_names(folder: Path) -> Path | None:
    """The file in ``folder`` that declares the class names, if it has one."""
    for name in (*YAML_FILES, "obj.data", *NAME_FILES):
        if (folder / name).is_file():
            return folder / name
    return None


def _names_file(path: Path, folder: Folder, problems: Problems) -> list[str]:
    lines = folder.read_text(path).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    names: list[str] = []
    for number, line in enumerate(lines, 1):
        name = line.strip()
        if not name:
            problems.report(str(path), "empty class name", line=number)
        elif (problem := text_problem(name)) is not None:
            problems.report(str(path), f"class name {name!r} {problem}", line=number)
            name = ""
        names.append(name or f"class_{len(names)}")
    return names


def _obj_data(path: Path, folder: Folder, problems: Problems) -> tuple[list[str], Path]:
    """Darknet's obj.data: ``classes = N`` and ``names = path/to/obj.names`` (which must be
    inside the dataset folder, like every file a label file names)."""
    settings: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(folder.read_text(path).splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, eq, value = line.partition("=")
        if not eq:
            problems.report(str(path), f"expected KEY = VALUE, found {line.strip()!r}", line=number)
            continue
        settings[key.strip()] = (value.strip(), number)
    if "names" not in settings:
        raise LabelFileError(Problem(file=str(path), message="no `names = FILE` line"))
    value, number = settings["names"]
    # The names path is relative to where darknet ran; look beside obj.data first.
    candidates = [path.parent / Path(value).name, path.parent / value, path.parent.parent / value]
    found = next((c for c in candidates if _is_file(c)), None)
    if found is None:
        raise LabelFileError(
            Problem(file=str(path), line=number, message=f"names file {value!r} not found")
        )
    folder.check(found, named_in=path, line=number)
    names = _names_file(found, folder, problems)
    if "classes" in settings:
        count, at = settings["classes"]
        if not (count.isascii() and count.isdigit()):
            problems.report(str(path), f"classes = {count!r} is not a number", line=at)
        elif int(count) != len(names):
            problems.report(
                str(path), f"classes = {count} but {found.name} lists {len(names)} names", line=at
            )
    return names, found


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long, a NUL in it: no such file
        return False


def _name(value: Any, path: Path, where: str) -> str:
    """A class or keypoint name as YAML gave it: a string or a number, never a list or a
    mapping (whose text, through YAML aliases, can be exponentially long)."""
    if isinstance(value, list | Mapping):
        message = "a name must be text, not a list or mapping"
        raise LabelFileError(Problem(file=str(path), path=where, message=message))
    if isinstance(value, str) and (problem := text_problem(value)) is not None:
        raise LabelFileError(Problem(file=str(path), path=where, message=f"{value!r} {problem}"))
    return str(value)


def _data_yaml(
    path: Path, folder: Folder, problems: Problems
) -> tuple[list[str], Keypoints | None]:
    """Ultralytics data.yaml: ``names`` as a list or an ``{index: name}`` mapping, and for a
    pose dataset its keypoint layout (``kpt_shape``, names from ``kpt_names`` if given)."""
    import yaml

    text = folder.read_text(path)
    try:
        body = yaml.safe_load(text)
    except RecursionError as exc:
        raise LabelFileError(
            Problem(file=str(path), message="malformed YAML: nested too deeply"),
            hint="no data.yaml nests this deep: fix the file",
        ) from exc
    except ValueError as exc:  # an integer of more digits than Python converts
        raise LabelFileError(
            Problem(file=str(path), message=f"malformed YAML: {exc}"), hint="fix the YAML"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise LabelFileError(
            Problem(file=str(path), line=line, message=f"malformed YAML: {reason}"),
            hint="fix the YAML syntax",
        ) from exc
    if not isinstance(body, Mapping) or "names" not in body:
        raise LabelFileError(Problem(file=str(path), path="names", message="no names: block"))
    raw = body["names"]
    names: list[str] = []
    if isinstance(raw, list):
        names = [_name(n, path, f"names[{i}]") for i, n in enumerate(raw)]
    elif isinstance(raw, Mapping):
        keys = list(raw)
        if not all(isinstance(k, int) and not isinstance(k, bool) for k in keys):
            raise LabelFileError(
                Problem(file=str(path), path="names", message="names keys must be integers")
            )
        if sorted(keys) != list(range(len(keys))):
            problems.report(
                str(path), f"names indices {sorted(keys)} are not 0..{len(keys) - 1}", path="names"
            )
        names = [_name(raw[k], path, f"names[{k}]") for k in sorted(keys)]
    else:
        raise LabelFileError(
            Problem(file=str(path), path="names", message="names must be a list or a mapping")
        )
    count = body.get("nc")
    if count is not None and not isinstance(count, int):
        problems.report(str(path), f"nc is {reprlib.repr(count)}, not a number", path="nc")
    elif count is not None and count != len(names):
        problems.report(str(path), f"nc is {count} but names lists {len(names)}", path="nc")
    return names, _keypoints(path, body)


def _keypoints(path: Path, body: Mapping[str, Any]) -> Keypoints | None:
    shape = body.get("kpt_shape")
    if shape is None:
        return None
    if (
        not isinstance(shape, list)
        or len(shape) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in shape)
        or not 1 <= shape[0] <= MAX_KEYPOINTS
        or shape[1] not in (2, 3)
    ):
        raise LabelFileError(
            Problem(
                file=str(path),
                path="kpt_shape",
                message=f"kpt_shape must be [keypoints (1 to {MAX_KEYPOINTS}), 2 or 3], "
                f"not {reprlib.repr(shape)}",
            )
        )
    count, dims = shape
    given = body.get("kpt_names")
    names = [str(i) for i in range(count)]
    if isinstance(given, Mapping) and given:  # {class index: [names]}: one layout for all
        first = next(iter(given.values()))
        if isinstance(first, list) and len(first) == count:
            names = [_name(n, path, "kpt_names") for n in first]
    return Keypoints(names=tuple(names), dims=dims)


def _label_files(beside: Path) -> Iterator[Path]:
    for name in LABEL_DIRS:
        if (beside / name).is_dir():
            yield from sorted(p for p in (beside / name).rglob("*.txt") if p.is_file())


def read(path: Path, *, lenient: bool = False, folder: Folder | None = None) -> Imported:
    """Import a YOLO label set from a folder or its names file (see the module docstring);
    ``folder``: the dataset folder every file read must be in (by default, ``path``'s)."""
    folder = folder or Folder.of(path)
    problems = Problems(lenient=lenient)
    names_path = find_names(path) if path.is_dir() else path
    if names_path is None:
        raise LabelFileError(
            Problem(file=str(path), message="no data.yaml, obj.data, obj.names or classes.txt here")
        )
    files = [names_path]
    pose: Keypoints | None = None
    if names_path.name.endswith((".yaml", ".yml")):
        names, pose = _data_yaml(names_path, folder, problems)
    elif names_path.name.endswith(".data"):
        names, found = _obj_data(names_path, folder, problems)
        files.append(found)
    else:
        names = _names_file(names_path, folder, problems)
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            problems.report(
                str(names_path), f"duplicate class name {name!r} (indices {seen[name]} and {index})"
            )
        seen.setdefault(name, index)
    stats = Stats(box_unit="image")
    types: set[str] = set()
    sizes = ImageSizes({"labels": "images"})
    for labels in _label_files(names_path.parent):
        files.append(labels)
        _label_file(labels, folder, names, problems, stats, types, sizes, pose)
    points = pose.names if pose is not None else ()
    classes = [LabelClass(name=n, keypoints=points) for n in names]
    schema = build("positional", classes, annotation_types=types, source=str(names_path))
    return Imported(
        format="yolo",
        schema=schema,
        files=tuple(files),
        stats=stats,
        problems=tuple(problems.found),
    )


def _label_file(
    path: Path,
    folder: Folder,
    names: list[str],
    problems: Problems,
    stats: Stats,
    types: set[str],
    sizes: ImageSizes,
    pose: Keypoints | None = None,
) -> None:
    stats.image(*(sizes.size(path) or (None, None)))
    expected = 5 + len(pose.names) * pose.dims if pose is not None else 0
    lines = folder.read_text(path).splitlines()
    stats.label_file(empty=not any(line.strip() for line in lines))
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        if pose is not None and len(fields) != expected:
            problems.report(
                str(path),
                f"expected `class cx cy w h` and {len(pose.names)} keypoints of {pose.dims} "
                f"numbers ({expected} fields, as kpt_shape says), found {len(fields)}",
                line=number,
            )
            continue
        if pose is None and (len(fields) < 5 or (len(fields) > 5 and len(fields) % 2 == 0)):
            problems.report(
                str(path),
                f"expected `class cx cy w h` or `class x1 y1 x2 y2 …`, found {len(fields)} fields",
                line=number,
            )
            continue
        try:
            index = int(fields[0])
            values = [float(v) for v in fields[1:]]
        except ValueError:
            problems.report(str(path), f"non-numeric value in {line.strip()!r}", line=number)
            continue
        if not 0 <= index < len(names):
            problems.report(
                str(path), f"class index {index} is not one of the {len(names)} names", line=number
            )
            continue
        found = ("box", "keypoints") if pose else ("box",) if len(values) == 4 else ("polygon",)
        area = values[2] * values[3] if found[0] == "box" else _polygon_box_area(values)
        types.update(found)
        aspect = values[2] / values[3] if found[0] == "box" and values[3] else None
        stats.annotation(names[index], found, box_area=area, box_aspect=aspect)
        stats.box_bounds(_extent(values, box=found[0] == "box"), 1.0, 1.0)


def _extent(values: list[float], *, box: bool) -> tuple[float, float, float, float]:
    """The (x1, y1, x2, y2) a box (``cx cy w h …``) or polygon covers, normalised."""
    if box:
        cx, cy, w, h = values[:4]
        return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
    xs, ys = values[0::2], values[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def _polygon_box_area(values: list[float]) -> float:
    xs, ys = values[0::2], values[1::2]
    return (max(xs) - min(xs)) * (max(ys) - min(ys))
