"""What changed between two label schemas: classes added, removed, renamed (same id, new
name), re-numbered (same name, new id), supercategories, keypoints, annotation types,
attributes and the id rule.

Pure: compares two LabelSchema values; never reads a store or a file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lineal.labels.schema import LabelClass, LabelSchema


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemaDiff:
    """Each list holds JSON-shaped entries; ``same`` when nothing differs."""

    id_rule: tuple[str, str] | None = None
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    renamed: list[dict[str, Any]] = field(default_factory=list)
    renumbered: list[dict[str, Any]] = field(default_factory=list)
    supercategory: list[dict[str, Any]] = field(default_factory=list)
    keypoints: list[dict[str, Any]] = field(default_factory=list)
    types_gained: list[str] = field(default_factory=list)
    types_lost: list[str] = field(default_factory=list)
    attributes_gained: list[str] = field(default_factory=list)
    attributes_lost: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not any(self.as_dict().values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "id_rule": None if self.id_rule is None else list(self.id_rule),
            "added": self.added,
            "removed": self.removed,
            "renamed": self.renamed,
            "renumbered": self.renumbered,
            "supercategory": self.supercategory,
            "keypoints": self.keypoints,
            "types_gained": self.types_gained,
            "types_lost": self.types_lost,
            "attributes_gained": self.attributes_gained,
            "attributes_lost": self.attributes_lost,
        }

    def summary(self) -> dict[str, int]:
        """How many of each change (the non-zero ones)."""
        counts = {key: len(value) for key, value in self.as_dict().items() if key != "id_rule"}
        return {key: n for key, n in counts.items() if n}

    def lines(self) -> list[str]:
        """One line per change, for people."""
        found = []
        if self.id_rule is not None:
            found.append(f"id rule: {self.id_rule[0]} -> {self.id_rule[1]}")
        found += [f"added       {_label(c)}" for c in self.added]
        found += [f"removed     {_label(c)}" for c in self.removed]
        found += [f"renamed     {c['id']}: {c['before']} -> {c['after']}" for c in self.renamed]
        found += [
            f"re-numbered {c['name']}: {c['before']} -> {c['after']}" for c in self.renumbered
        ]
        found += [
            f"supercategory {c['name']}: {c['before'] or '-'} -> {c['after'] or '-'}"
            for c in self.supercategory
        ]
        found += [f"keypoints   {c['name']} changed" for c in self.keypoints]
        found += [f"type gained {t}" for t in self.types_gained]
        found += [f"type lost   {t}" for t in self.types_lost]
        found += [f"attribute gained {a}" for a in self.attributes_gained]
        found += [f"attribute lost   {a}" for a in self.attributes_lost]
        return found


def _label(entry: dict[str, Any]) -> str:
    return entry["name"] if entry.get("id") is None else f"{entry['id']}: {entry['name']}"


def _entry(one: LabelClass) -> dict[str, Any]:
    return {"id": one.id, "name": one.name}


def diff(a: LabelSchema, b: LabelSchema) -> SchemaDiff:
    """How ``b`` differs from ``a``. Classes pair by name; of the names on one side only,
    those that share an id are a rename, the rest are added or removed."""
    old, new = a.by_name(), b.by_name()
    renumbered: list[dict[str, Any]] = []
    supercategory: list[dict[str, Any]] = []
    keypoints: list[dict[str, Any]] = []
    for name in sorted(old.keys() & new.keys()):
        x, y = old[name], new[name]
        if x.id is not None and y.id is not None and x.id != y.id:
            renumbered.append({"name": name, "before": x.id, "after": y.id})
        if x.supercategory != y.supercategory:
            supercategory.append(
                {"name": name, "before": x.supercategory, "after": y.supercategory}
            )
        if (x.keypoints, x.skeleton) != (y.keypoints, y.skeleton):
            keypoints.append(
                {
                    "name": name,
                    "before": _points(x),
                    "after": _points(y),
                }
            )
    gone = _by_id(old[n] for n in old.keys() - new.keys())
    came = _by_id(new[n] for n in new.keys() - old.keys())
    renamed = [
        {"id": cid, "before": gone[cid].name, "after": came[cid].name}
        for cid in sorted(gone.keys() & came.keys())
    ]
    paired = {r["before"] for r in renamed} | {r["after"] for r in renamed}
    removed = sorted(
        (_entry(old[n]) for n in old.keys() - new.keys() if n not in paired), key=_order
    )
    added = sorted((_entry(new[n]) for n in new.keys() - old.keys() if n not in paired), key=_order)
    return SchemaDiff(
        id_rule=None if a.id_rule == b.id_rule else (a.id_rule, b.id_rule),
        added=added,
        removed=removed,
        renamed=renamed,
        renumbered=renumbered,
        supercategory=supercategory,
        keypoints=keypoints,
        types_gained=[t for t in b.annotation_types if t not in a.annotation_types],
        types_lost=[t for t in a.annotation_types if t not in b.annotation_types],
        attributes_gained=[x for x in b.attributes if x not in a.attributes],
        attributes_lost=[x for x in a.attributes if x not in b.attributes],
    )


def _order(entry: dict[str, Any]) -> tuple[bool, int, str]:
    return entry["id"] is None, entry["id"] or 0, entry["name"]


def _points(one: LabelClass) -> dict[str, Any]:
    return {"keypoints": list(one.keypoints), "skeleton": [list(p) for p in one.skeleton]}


def _by_id(classes: Iterable[LabelClass]) -> dict[int, LabelClass]:
    return {one.id: one for one in classes if one.id is not None}
