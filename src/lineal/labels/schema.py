"""The canonical label schema: classes, the id rule, annotation types and attributes.

Pure values and their one JSON shape; the digest of that shape is a schema's identity. Never
reads files (the format importers do) and never touches a store.

How ids are read decides what order means:

- ``explicit`` (COCO): every class carries its own id, ids may be sparse; classes are kept
  sorted by id, so the order of categories in a file changes nothing.
- ``positional`` (YOLO, a VOC labelmap): a class's index is its position in the list; the
  order is the meaning, and changing it makes another schema.
- ``implicit`` (KITTI, VOC without a labelmap): classes are the set of names seen; they have no
  id and are kept sorted by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lineal.errors import InvalidInput
from lineal.model import canonical
from lineal.model.digests import digest_bytes

ID_RULES = ("explicit", "positional", "implicit")
#: Annotation types a schema can declare, in the order they are listed.
ANNOTATION_TYPES = ("box", "polygon", "rle", "keypoints", "box3d", "crowd")
FORMATS = ("coco", "kitti", "yolo", "voc")
#: Version of the canonical shape below; part of the digest, so a change of shape can never
#: make two different schemas collide.
SHAPE = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelClass:
    """One class: its id (or positional index; None when implicit), name and extras."""

    name: str
    id: int | None = None
    supercategory: str | None = None
    keypoints: tuple[str, ...] = ()
    skeleton: tuple[tuple[int, int], ...] = ()
    parts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidInput(f"bad class name {self.name!r}: expected a non-empty string")
        if self.id is not None and (isinstance(self.id, bool) or not isinstance(self.id, int)):
            raise InvalidInput(f"bad class id {self.id!r} for {self.name!r}: expected an integer")

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "id": self.id}
        if self.supercategory is not None:
            body["supercategory"] = self.supercategory
        if self.keypoints:
            body["keypoints"] = list(self.keypoints)
        if self.skeleton:
            body["skeleton"] = [list(pair) for pair in self.skeleton]
        if self.parts:
            body["parts"] = list(self.parts)
        return body

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> LabelClass:
        return cls(
            name=body["name"],
            id=body.get("id"),
            supercategory=body.get("supercategory"),
            keypoints=tuple(body.get("keypoints") or ()),
            skeleton=tuple((int(a), int(b)) for a, b in body.get("skeleton") or ()),
            parts=tuple(body.get("parts") or ()),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelSchema:
    """A schema in canonical order (see the module docstring); build it with :func:`build`."""

    id_rule: str
    classes: tuple[LabelClass, ...]
    annotation_types: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.id_rule not in ID_RULES:
            raise InvalidInput(f"bad id rule {self.id_rule!r}: expected {', '.join(ID_RULES)}")
        unknown = set(self.annotation_types) - set(ANNOTATION_TYPES)
        if unknown:
            raise InvalidInput(f"unknown annotation types: {', '.join(sorted(unknown))}")

    def canonical(self) -> dict[str, Any]:
        """The JSON shape whose canonical bytes are hashed into the digest."""
        return {
            "shape": SHAPE,
            "id_rule": self.id_rule,
            "classes": [c.as_dict() for c in self.classes],
            "annotation_types": list(self.annotation_types),
            "attributes": list(self.attributes),
        }

    def encode(self) -> bytes:
        return canonical.encode(self.canonical())

    @property
    def digest(self) -> str:
        return digest_bytes(self.encode())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.classes)

    def by_name(self) -> dict[str, LabelClass]:
        return {c.name: c for c in self.classes}

    @classmethod
    def from_canonical(cls, body: Mapping[str, Any]) -> LabelSchema:
        """Read back :meth:`canonical` (as stored in a schema artifact's meta)."""
        try:
            if body.get("shape") != SHAPE:
                raise InvalidInput(f"unknown schema shape {body.get('shape')!r}")
            return cls(
                id_rule=body["id_rule"],
                classes=tuple(LabelClass.from_dict(c) for c in body["classes"]),
                annotation_types=tuple(body.get("annotation_types") or ()),
                attributes=tuple(body.get("attributes") or ()),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInput(f"not a canonical label schema: {exc}") from exc


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as a schema's name, or None: every backend stores UTF-8
    text without U+0000 (a label file can spell both with JSON escapes)."""
    if "\x00" in text:
        return "contains U+0000"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "is not valid Unicode (a lone surrogate)"
    return None


def _storable(classes: list[LabelClass], attributes: Iterable[str], source: str) -> None:
    """Raise a LabelFileError naming ``source`` for the first text or number of the schema
    that no store can hold."""
    for one in classes:
        problem = text_problem(one.name)
        if problem is not None:
            raise LabelFileError(Problem(file=source, message=f"class {one.name!r} {problem}"))
        for text in (one.supercategory or "", *one.keypoints, *one.parts):
            problem = text_problem(text)
            if problem is not None:
                message = f"class {one.name!r}: {text!r} {problem}"
                raise LabelFileError(Problem(file=source, message=message))
        if any(not -(2**63) <= n < 2**63 for pair in one.skeleton for n in pair):
            message = f"class {one.name!r}: a skeleton index does not fit in 64 bits"
            raise LabelFileError(Problem(file=source, message=message))
    for text in attributes:
        problem = text_problem(text)
        if problem is not None:
            raise LabelFileError(Problem(file=source, message=f"attribute {text!r} {problem}"))


def build(
    id_rule: str,
    classes: Iterable[LabelClass],
    *,
    annotation_types: Iterable[str] = (),
    attributes: Iterable[str] = (),
    source: str | None = None,
) -> LabelSchema:
    """A schema with its classes put in canonical order for ``id_rule``.

    explicit: sorted by id (ids must be unique); positional: ids are the positions, given
    order kept; implicit: names deduplicated and sorted, ids dropped. ``source``: the file or
    folder the classes were read from, named by the LabelFileError for text no store holds.
    """
    found = list(classes)
    attributes = list(attributes)
    if source is not None:
        _storable(found, attributes, source)
    if id_rule == "explicit":
        if any(c.id is None for c in found):
            raise InvalidInput("explicit ids: every class needs an id")
        found.sort(key=lambda c: (c.id, c.name))
    elif id_rule == "positional":
        found = [_with_id(c, index) for index, c in enumerate(found)]
    elif id_rule == "implicit":
        merged: dict[str, LabelClass] = {}
        for one in found:
            merged.setdefault(one.name, _with_id(one, None))
        found = [merged[name] for name in sorted(merged)]
    types = set(annotation_types)
    return LabelSchema(
        id_rule=id_rule,
        classes=tuple(found),
        annotation_types=tuple(t for t in ANNOTATION_TYPES if t in types),
        attributes=tuple(sorted(set(attributes))),
    )


def _with_id(one: LabelClass, new_id: int | None) -> LabelClass:
    if one.id == new_id:
        return one
    return LabelClass(
        name=one.name,
        id=new_id,
        supercategory=one.supercategory,
        keypoints=one.keypoints,
        skeleton=one.skeleton,
        parts=one.parts,
    )


def merge(schemas: Sequence[LabelSchema]) -> LabelSchema:
    """One schema for several files that declare the same classes: annotation types and
    attributes are the union of what each file shows."""
    first = schemas[0]
    return build(
        first.id_rule,
        first.classes,
        annotation_types=[t for s in schemas for t in s.annotation_types],
        attributes=[a for s in schemas for a in s.attributes],
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One thing wrong in an input file: where (file, and a line or JSON path) and what."""

    file: str
    message: str
    line: int | None = None
    path: str | None = None  # a JSON path such as $.annotations[3].category_id

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        elif self.path is not None:
            where += f" at {self.path}"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "path": self.path, "message": self.message}


class LabelFileError(InvalidInput):
    """A label file that cannot be read as its format says: the message names file and line."""

    def __init__(self, problem: Problem, *, hint: str | None = None) -> None:
        super().__init__(
            str(problem), hint=hint or "fix the file, or pass --lenient to import the rest"
        )
        self.problem = problem


@dataclass(slots=True)
class Problems:
    """Where an importer reports bad input: raise at once (strict) or list it (lenient)."""

    lenient: bool = False
    found: list[Problem] = field(default_factory=list)

    def report(
        self, file: str, message: str, *, line: int | None = None, path: str | None = None
    ) -> None:
        problem = Problem(file=file, message=message, line=line, path=path)
        if not self.lenient:
            raise LabelFileError(problem)
        self.found.append(problem)
