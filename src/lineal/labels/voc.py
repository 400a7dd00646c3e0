"""Pascal VOC annotations: one XML file per image; classes implicit (the names seen), or
positional when a ``labelmap.txt`` (datumaro's VOC export) lists them.

Reads files with the standard library's expat parser, which gives every element its line and
never fetches external entities; never records anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from lineal.labels.imported import Imported
from lineal.labels.schema import LabelClass, LabelFileError, Problem, Problems, build
from lineal.labels.stats import Stats

#: Per-object fields recorded as attributes when present.
OBJECT_ATTRIBUTES = ("difficult", "occluded", "pose", "truncated")


@dataclass(slots=True)
class Element:
    tag: str
    line: int
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def find(self, tag: str) -> Element | None:
        return next((c for c in self.children if c.tag == tag), None)

    def all(self, tag: str) -> list[Element]:
        return [c for c in self.children if c.tag == tag]


def parse_xml(path: Path) -> Element:
    """The element tree of ``path`` with line numbers, or a LabelFileError at the bad line."""
    parser = expat.ParserCreate()
    stack: list[Element] = []
    root: list[Element] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        element = Element(tag, parser.CurrentLineNumber)
        (stack[-1].children if stack else root).append(element)
        stack.append(element)

    def end(tag: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].text += data

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(path.read_bytes(), True)
    except expat.ExpatError as exc:
        message = f"malformed XML: {expat.ErrorString(exc.code)} (column {exc.offset + 1})"
        raise LabelFileError(
            Problem(file=str(path), line=exc.lineno, message=message), hint="fix the XML syntax"
        ) from exc
    return root[0]


def annotation_files(path: Path) -> list[Path]:
    """The XML files of a VOC root (``Annotations/``), an Annotations folder, or one file."""
    if not path.is_dir():
        return [path]
    folder = path / "Annotations" if (path / "Annotations").is_dir() else path
    return sorted(p for p in folder.glob("*.xml") if p.is_file())


def _labelmap(path: Path, problems: Problems) -> list[LabelClass]:
    """datumaro's ``label:color_rgb:parts:actions`` lines, in order."""
    classes: list[LabelClass] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) != 4 or not parts[0].strip():
            problems.report(str(path), "expected label:color_rgb:parts:actions", line=number)
            continue
        found = tuple(p for p in parts[2].split(",") if p)
        classes.append(LabelClass(name=parts[0].strip(), parts=found))
    return classes


def read(path: Path, *, lenient: bool = False) -> Imported:
    """Import one VOC XML file, an Annotations folder, or a VOC root."""
    files = annotation_files(path)
    if not files:
        raise LabelFileError(Problem(file=str(path), message="no VOC annotation files (*.xml)"))
    problems = Problems(lenient=lenient)
    labelmap = path / "labelmap.txt" if path.is_dir() else None
    declared = _labelmap(labelmap, problems) if labelmap and labelmap.is_file() else None
    known = {c.name for c in declared} if declared is not None else None
    stats = Stats(box_unit="px")
    seen: dict[str, set[str]] = {}
    types: set[str] = set()
    attributes: set[str] = set()
    for file in files:
        _read_file(file, known, problems, stats, seen, types, attributes)
    if declared is not None:
        classes = [
            LabelClass(name=c.name, parts=tuple(sorted(set(c.parts) | seen.get(c.name, set()))))
            for c in declared
        ]
        rule = "positional"
    else:
        classes = [LabelClass(name=n, parts=tuple(sorted(p))) for n, p in seen.items()]
        rule = "implicit"
    schema = build(rule, classes, annotation_types=types, attributes=attributes)
    sources = (*files, labelmap) if declared is not None and labelmap else tuple(files)
    return Imported(
        format="voc", schema=schema, files=sources, stats=stats, problems=tuple(problems.found)
    )


class _Skip(Exception):  # control flow only: never leaves this module
    """A reported bad value: skip the object (or size) it belongs to."""


def _number(element: Element | None, file: Path, problems: Problems, what: str) -> float | None:
    if element is None:
        return None
    try:
        return float(element.text.strip())
    except ValueError:
        problems.report(
            str(file), f"{what} {element.text.strip()!r} is not a number", line=element.line
        )
        raise _Skip from None


def _box(owner: Element, file: Path, problems: Problems) -> float | None:
    """The area of ``owner``'s bndbox (None: it has none)."""
    box = owner.find("bndbox")
    if box is None:
        return None
    corners = []
    for key in ("xmin", "ymin", "xmax", "ymax"):
        element = box.find(key)
        if element is None:
            problems.report(str(file), f"bndbox without {key}", line=box.line)
            raise _Skip
        corners.append(_number(element, file, problems, key))
    xmin, ymin, xmax, ymax = (c or 0.0 for c in corners)
    return max(0.0, xmax - xmin) * max(0.0, ymax - ymin)


def _read_file(
    file: Path,
    known: set[str] | None,
    problems: Problems,
    stats: Stats,
    seen: dict[str, set[str]],
    types: set[str],
    attributes: set[str],
) -> None:
    root = parse_xml(file)
    if root.tag != "annotation":
        raise LabelFileError(
            Problem(
                file=str(file), line=root.line, message=f"root is <{root.tag}>, not <annotation>"
            )
        )
    size = root.find("size")
    try:
        width = _number(size.find("width") if size is not None else None, file, problems, "width")
        height = _number(
            size.find("height") if size is not None else None, file, problems, "height"
        )
    except _Skip:
        width = height = None
    stats.image(width, height)
    for obj in root.all("object"):
        name_element = obj.find("name")
        name = name_element.text.strip() if name_element is not None else ""
        if not name:
            problems.report(str(file), "object without a name", line=obj.line)
            continue
        if known is not None and name not in known:
            problems.report(str(file), f"class {name!r} is not in labelmap.txt", line=obj.line)
            continue
        try:
            area = _box(obj, file, problems)
            for part in obj.all("part"):
                _box(part, file, problems)
        except _Skip:
            continue
        parts = seen.setdefault(name, set())
        for part in obj.all("part"):
            part_name = part.find("name")
            if part_name is not None and part_name.text.strip():
                parts.add(part_name.text.strip())
        attributes.update(a for a in OBJECT_ATTRIBUTES if obj.find(a) is not None)
        actions = obj.find("actions")
        if actions is not None:
            attributes.update(f"actions/{a.tag}" for a in actions.children)
        found = ("box",) if area is not None else ()
        types.update(found)
        stats.annotation(name, found, box_area=area)
