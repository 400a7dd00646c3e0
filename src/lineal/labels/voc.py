"""Pascal VOC annotations: one XML file per image; classes implicit (the names seen), or
positional when a ``labelmap.txt`` (datumaro's VOC export) lists them.

Reads files through defusedxml's SAX parser, which gives every element its line, refuses
entity declarations (a few hundred bytes of nested entities expand without bound) and never
fetches external entities; never records anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.handler import ContentHandler

from lineal.labels.folder import Folder
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

if TYPE_CHECKING:
    from xml.sax.xmlreader import AttributesImpl, Locator

#: Per-object fields recorded as attributes when present.
OBJECT_ATTRIBUTES = ("difficult", "occluded", "pose", "truncated")
_NO_ENTITIES = (
    "remove the <!DOCTYPE> block and its <!ENTITY> declarations: VOC annotations need none"
)


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


class _Builder(ContentHandler):
    """SAX events to Elements; an element's text is gathered in pieces and joined once."""

    def __init__(self) -> None:
        super().__init__()
        self.locator: Locator | None = None
        self.stack: list[tuple[Element, list[str]]] = []
        self.roots: list[Element] = []

    def setDocumentLocator(self, locator: Locator) -> None:  # noqa: N802 - SAX's names
        self.locator = locator

    def line(self) -> int:
        return (self.locator.getLineNumber() or 1) if self.locator is not None else 1

    def startElement(self, name: str, attrs: AttributesImpl) -> None:  # noqa: N802
        element = Element(name, self.line())
        (self.stack[-1][0].children if self.stack else self.roots).append(element)
        self.stack.append((element, []))

    def endElement(self, name: str) -> None:  # noqa: N802
        element, pieces = self.stack.pop()
        element.text = "".join(pieces)

    def characters(self, content: str) -> None:
        if self.stack:
            self.stack[-1][1].append(content)


def parse_xml(path: Path, folder: Folder | None = None) -> Element:
    """The element tree of ``path`` (a file inside ``folder``, by default its own folder)
    with line numbers, or a LabelFileError at the bad line."""
    from xml.sax import SAXParseException

    import defusedxml.sax
    from defusedxml import EntitiesForbidden, ExternalReferenceForbidden

    data = (folder or Folder.of(path)).read_bytes(path)
    builder = _Builder()
    try:
        defusedxml.sax.parseString(data, builder)  # entities and external references refused
    except SAXParseException as exc:
        column = exc.getColumnNumber()
        where = f" (column {column + 1})" if isinstance(column, int) and column >= 0 else ""
        raise LabelFileError(
            Problem(
                file=str(path),
                line=exc.getLineNumber(),
                message=f"malformed XML: {exc.getMessage()}{where}",
            ),
            hint="fix the XML syntax",
        ) from exc
    except LookupError as exc:  # an encoding Python does not know
        raise LabelFileError(
            Problem(file=str(path), message=f"malformed XML: {exc}"),
            hint='save it as UTF-8 and declare encoding="UTF-8" (or none)',
        ) from exc
    except EntitiesForbidden as exc:
        message = f"declares the XML entity {exc.name!r}: lineal refuses entity declarations"
        raise LabelFileError(
            Problem(file=str(path), line=builder.line(), message=message), hint=_NO_ENTITIES
        ) from exc
    except ExternalReferenceForbidden as exc:
        message = f"refers to the external entity {exc.sysid!r}: lineal fetches none"
        raise LabelFileError(
            Problem(file=str(path), line=builder.line(), message=message), hint=_NO_ENTITIES
        ) from exc
    if not builder.roots:
        raise LabelFileError(Problem(file=str(path), message="malformed XML: no root element"))
    return builder.roots[0]


def annotation_files(path: Path) -> list[Path]:
    """The XML files of a VOC root (``Annotations/``), an Annotations folder, or one file."""
    if not path.is_dir():
        return [path]
    folder = path / "Annotations" if (path / "Annotations").is_dir() else path
    return sorted(p for p in folder.glob("*.xml") if p.is_file())


def _labelmap(path: Path, folder: Folder, problems: Problems) -> list[LabelClass]:
    """datumaro's ``label:color_rgb:parts:actions`` lines, in order."""
    classes: list[LabelClass] = []
    for number, line in enumerate(folder.read_text(path).splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) != 4 or not parts[0].strip():
            problems.report(str(path), "expected label:color_rgb:parts:actions", line=number)
            continue
        if (problem := text_problem(line)) is not None:
            problems.report(str(path), f"{line!r} {problem}", line=number)
            continue
        found = tuple(p for p in parts[2].split(",") if p)
        classes.append(LabelClass(name=parts[0].strip(), parts=found))
    return classes


def read(path: Path, *, lenient: bool = False, folder: Folder | None = None) -> Imported:
    """Import one VOC XML file, an Annotations folder, or a VOC root; ``folder``: the dataset
    folder every file read must be in (by default, ``path``'s)."""
    folder = folder or Folder.of(path)
    files = annotation_files(path)
    if not files:
        raise LabelFileError(Problem(file=str(path), message="no VOC annotation files (*.xml)"))
    problems = Problems(lenient=lenient)
    labelmap = path / "labelmap.txt" if path.is_dir() else None
    declared = _labelmap(labelmap, folder, problems) if labelmap and labelmap.exists() else None
    known = {c.name for c in declared} if declared is not None else None
    stats = Stats(box_unit="px")
    seen: dict[str, set[str]] = {}
    types: set[str] = set()
    attributes: set[str] = set()
    for file in files:
        _read_file(file, folder, known, problems, stats, seen, types, attributes)
    if declared is not None:
        classes = [
            LabelClass(name=c.name, parts=tuple(sorted(set(c.parts) | seen.get(c.name, set()))))
            for c in declared
        ]
        rule = "positional"
    else:
        classes = [LabelClass(name=n, parts=tuple(sorted(p))) for n, p in seen.items()]
        rule = "implicit"
    schema = build(rule, classes, annotation_types=types, attributes=attributes, source=str(path))
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


def _box(owner: Element, file: Path, problems: Problems) -> tuple[float, ...] | None:
    """The corners (xmin, ymin, xmax, ymax) of ``owner``'s bndbox (None: it has none)."""
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
    return tuple(c or 0.0 for c in corners)


def _read_file(
    file: Path,
    folder: Folder,
    known: set[str] | None,
    problems: Problems,
    stats: Stats,
    seen: dict[str, set[str]],
    types: set[str],
    attributes: set[str],
) -> None:
    root = parse_xml(file, folder)
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
            box = _box(obj, file, problems)
            for part in obj.all("part"):
                _box(part, file, problems)
        except _Skip:
            continue
        area = aspect = None
        if box is not None:
            xmin, ymin, xmax, ymax = box
            extent = max(0.0, xmax - xmin), max(0.0, ymax - ymin)
            area = extent[0] * extent[1]
            aspect = extent[0] / extent[1] if extent[1] else None
        parts = seen.setdefault(name, set())
        for part in obj.all("part"):
            part_name = part.find("name")
            if part_name is not None and part_name.text.strip():
                parts.add(part_name.text.strip())
        attributes.update(a for a in OBJECT_ATTRIBUTES if obj.find(a) is not None)
        actions = obj.find("actions")
        if actions is not None:
            attributes.update(f"actions/{a.tag}" for a in actions.children)
        found = ("box",) if box is not None else ()
        types.update(found)
        stats.annotation(name, found, box_area=area, box_aspect=aspect)
        if box is not None:
            stats.box_bounds((box[0], box[1], box[2], box[3]), width, height)
