"""Validation rules for datasets in `lineal.toml`: what a version of a dataset must satisfy.

Pure parsing with one clear error per bad key; never reads the store. One table per dataset
name or glob (every table whose pattern matches a name applies to it):

    [rules."render-*"]
    min_files = 100                  # files in the version
    min_images = 50                  # image files (else the images its labels describe)
    required_classes = ["car", "person"]
    class_balance = { min_share = 0.05, max_share = 0.8, max_ratio = 20 }
    max_duplicate_share = 0.01       # files whose content another file of it repeats
    image_size = { min_width = 64, min_height = 64, max_width = 4096, max_height = 4096 }
    required_meta = ["license", "source"]
    annotation_sanity = true         # boxes inside their images; no empty label files…
    allow_empty_label_files = false  # …unless allowed
    enforce = true                   # a failing rule refuses `lineal add` (else it warns)
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal.errors import InvalidInput

if TYPE_CHECKING:
    from lineal.workspace import Workspace

RULE_KEYS = (
    "min_files", "min_images", "required_classes", "class_balance", "max_duplicate_share",
    "image_size", "required_meta", "annotation_sanity", "allow_empty_label_files", "enforce",
)  # fmt: skip
BALANCE_KEYS = ("min_share", "max_share", "max_ratio")
SIZE_KEYS = ("min_width", "min_height", "max_width", "max_height")


@dataclass(frozen=True, slots=True, kw_only=True)
class Rules:
    """The rules of one ``[rules."PATTERN"]`` table (None or empty: not checked)."""

    pattern: str
    min_files: int | None = None
    min_images: int | None = None
    required_classes: tuple[str, ...] = ()
    class_balance: Mapping[str, float] | None = None
    max_duplicate_share: float | None = None
    image_size: Mapping[str, float] | None = None
    required_meta: tuple[str, ...] = ()
    annotation_sanity: bool = False
    allow_empty_label_files: bool = False
    enforce: bool = False

    def matches(self, name: str | None) -> bool:
        return name is not None and fnmatch.fnmatchcase(name, self.pattern)


def _bad(where: str, message: str, path: Path | None) -> InvalidInput:
    shown = str(path) if path else "lineal.toml"
    return InvalidInput(
        f"{shown}: bad {where}: {message}",
        hint="see `Validation rules` in docs/quality.md for the format",
    )


def _count(value: object, where: str, path: Path | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(where, f"expected a whole number >= 0, not {value!r}", path)
    return value


def _number(value: object, where: str, path: Path | None, *, share: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(where, f"expected a number, not {value!r}", path)
    if value < 0 or (share and value > 1):
        raise _bad(
            where, f"expected {'a share from 0 to 1' if share else '>= 0'}, not {value}", path
        )
    return float(value)


def _strings(value: object, where: str, path: Path | None) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _bad(where, f"expected a list of strings, not {value!r}", path)
    return tuple(value)


def _bool(value: object, where: str, path: Path | None) -> bool:
    if not isinstance(value, bool):
        raise _bad(where, f"expected true or false, not {value!r}", path)
    return value


def _bounds(
    value: object, where: str, path: Path | None, *, keys: tuple[str, ...], shares: bool = False
) -> dict[str, float]:
    if not isinstance(value, Mapping) or not value:
        raise _bad(where, f"expected a table of {', '.join(keys)}, not {value!r}", path)
    if extra := sorted(set(value) - set(keys)):
        raise _bad(where, f"unknown keys {extra}; use {', '.join(keys)}", path)
    return {
        key: _number(bound, f"{where}.{key}", path, share=shares and key != "max_ratio")
        for key, bound in value.items()
    }


def _rules(pattern: str, body: object, path: Path | None) -> Rules:
    where = f'[rules."{pattern}"]'
    if not isinstance(body, Mapping):
        raise _bad(where, f"expected a table, not {body!r}", path)
    if extra := sorted(set(body) - set(RULE_KEYS)):
        raise _bad(where, f"unknown keys {extra}; expected {', '.join(RULE_KEYS)}", path)
    if not set(body) - {"enforce"}:
        raise _bad(where, "no rule in it; give one of " + ", ".join(RULE_KEYS[:-1]), path)

    def some(key: str, read: Any, **options: Any) -> Any:
        return None if body.get(key) is None else read(body[key], f"{where} {key}", path, **options)

    def flag(key: str) -> bool:
        return _bool(body.get(key, False), f"{where} {key}", path)

    return Rules(
        pattern=pattern,
        min_files=some("min_files", _count),
        min_images=some("min_images", _count),
        required_classes=_strings(
            body.get("required_classes", []), f"{where} required_classes", path
        ),
        class_balance=some("class_balance", _bounds, keys=BALANCE_KEYS, shares=True),
        max_duplicate_share=some("max_duplicate_share", _number, share=True),
        image_size=some("image_size", _bounds, keys=SIZE_KEYS),
        required_meta=_strings(body.get("required_meta", []), f"{where} required_meta", path),
        annotation_sanity=flag("annotation_sanity"),
        allow_empty_label_files=flag("allow_empty_label_files"),
        enforce=flag("enforce"),
    )


def parse(document: Mapping[str, Any], path: Path | None = None) -> tuple[Rules, ...]:
    """The ``[rules."PATTERN"]`` tables of a decoded `lineal.toml`, in file order."""
    tables = document.get("rules", {})
    if not isinstance(tables, Mapping):
        raise _bad("[rules]", f'expected tables such as [rules."NAME-*"], not {tables!r}', path)
    return tuple(_rules(str(pattern), body, path) for pattern, body in tables.items())


def load(found: Workspace | None) -> tuple[Rules, ...]:
    """The rules of the workspace's `lineal.toml` (none when it has none)."""
    if found is None or found.root is None:
        return ()
    path, document = found.project_config()
    return parse(document, path)


def matching(rules: tuple[Rules, ...], name: str | None) -> list[Rules]:
    """The tables whose pattern matches the dataset ``name``."""
    return [one for one in rules if one.matches(name)]
