"""YOLO label sets: class names by position (data.yaml, obj.data + obj.names, classes.txt)
and the ``class cx cy w h`` label files beside them (polygons as ``class x1 y1 x2 y2 …``;
pose datasets, whose data.yaml has ``kpt_shape``, add each keypoint's numbers to the box).

Reads files only (PyYAML for data.yaml, imported when one is read); never records anything.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineal.labels.images import ImageSizes
from lineal.labels.imported import Imported
from lineal.labels.schema import LabelClass, LabelFileError, Problem, Problems, build
from lineal.labels.stats import Stats

YAML_FILES = ("data.yaml", "dataset.yaml", "data.yml")


@dataclass(frozen=True, slots=True)
class Keypoints:
    """A pose dataset's keypoints: their names, and 2 (x y) or 3 (x y visibility) numbers each."""

    names: tuple[str, ...]
    dims: int


NAME_FILES = ("obj.names", "classes.txt", "classes.names", "coco.names")
#: Folders that hold label files beside a names file (darknet and ultralytics layouts).
LABEL_DIRS = ("labels", "obj_train_data", "obj_valid_data", "obj_val_data", "obj_test_data")


def find_names(folder: Path) -> Path | None:
    """The file in ``folder`` that declares the class names, if it has one."""
    for name in (*YAML_FILES, "obj.data", *NAME_FILES):
        if (folder / name).is_file():
            return folder / name
    return None


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LabelFileError(
            Problem(file=str(path), message=f"not UTF-8 text: {exc.reason}")
        ) from exc


def _names_file(path: Path, problems: Problems) -> list[str]:
    lines = _text(path).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    names: list[str] = []
    for number, line in enumerate(lines, 1):
        name = line.strip()
        if not name:
            problems.report(str(path), "empty class name", line=number)
        names.append(name or f"class_{len(names)}")
    return names


def _obj_data(path: Path, problems: Problems) -> tuple[list[str], Path]:
    """Darknet's obj.data: ``classes = N`` and ``names = path/to/obj.names``."""
    settings: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(_text(path).splitlines(), 1):
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
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise LabelFileError(
            Problem(file=str(path), line=number, message=f"names file {value!r} not found")
        )
    names = _names_file(found, problems)
    if "classes" in settings:
        count, at = settings["classes"]
        if not count.isdigit():
            problems.report(str(path), f"classes = {count!r} is not a number", line=at)
        elif int(count) != len(names):
            problems.report(
                str(path), f"classes = {count} but {found.name} lists {len(names)} names", line=at
            )
    return names, found


def _data_yaml(path: Path, problems: Problems) -> tuple[list[str], Keypoints | None]:
    """Ultralytics data.yaml: ``names`` as a list or an ``{index: name}`` mapping, and for a
    pose dataset its keypoint layout (``kpt_shape``, names from ``kpt_names`` if given)."""
    import yaml

    try:
        body = yaml.safe_load(_text(path))
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
        names = [str(n) for n in raw]
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
        names = [str(raw[k]) for k in sorted(keys)]
    else:
        raise LabelFileError(
            Problem(file=str(path), path="names", message="names must be a list or a mapping")
        )
    count = body.get("nc")
    if count is not None and count != len(names):
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
        or shape[0] < 1
        or shape[1] not in (2, 3)
    ):
        raise LabelFileError(
            Problem(
                file=str(path),
                path="kpt_shape",
                message=f"kpt_shape must be [keypoints, 2 or 3], not {shape!r}",
            )
        )
    count, dims = shape
    given = body.get("kpt_names")
    names = [str(i) for i in range(count)]
    if isinstance(given, Mapping) and given:  # {class index: [names]}: one layout for all
        first = next(iter(given.values()))
        if isinstance(first, list) and len(first) == count:
            names = [str(n) for n in first]
    return Keypoints(names=tuple(names), dims=dims)


def _label_files(folder: Path) -> Iterator[Path]:
    for name in LABEL_DIRS:
        if (folder / name).is_dir():
            yield from sorted(p for p in (folder / name).rglob("*.txt") if p.is_file())


def read(path: Path, *, lenient: bool = False) -> Imported:
    """Import a YOLO label set from a folder or its names file (see the module docstring)."""
    problems = Problems(lenient=lenient)
    names_path = find_names(path) if path.is_dir() else path
    if names_path is None:
        raise LabelFileError(
            Problem(file=str(path), message="no data.yaml, obj.data, obj.names or classes.txt here")
        )
    files = [names_path]
    pose: Keypoints | None = None
    if names_path.name.endswith((".yaml", ".yml")):
        names, pose = _data_yaml(names_path, problems)
    elif names_path.name.endswith(".data"):
        names, found = _obj_data(names_path, problems)
        files.append(found)
    else:
        names = _names_file(names_path, problems)
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
        _label_file(labels, names, problems, stats, types, sizes, pose)
    points = pose.names if pose is not None else ()
    classes = [LabelClass(name=n, keypoints=points) for n in names]
    schema = build("positional", classes, annotation_types=types)
    return Imported(
        format="yolo",
        schema=schema,
        files=tuple(files),
        stats=stats,
        problems=tuple(problems.found),
    )


def _label_file(
    path: Path,
    names: list[str],
    problems: Problems,
    stats: Stats,
    types: set[str],
    sizes: ImageSizes,
    pose: Keypoints | None = None,
) -> None:
    stats.image(*(sizes.size(path) or (None, None)))
    expected = 5 + len(pose.names) * pose.dims if pose is not None else 0
    for number, line in enumerate(_text(path).splitlines(), 1):
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
        stats.annotation(names[index], found, box_area=area)


def _polygon_box_area(values: list[float]) -> float:
    xs, ys = values[0::2], values[1::2]
    return (max(xs) - min(xs)) * (max(ys) - min(ys))
