"""The thresholds drift checks use, from the ``[drift]`` table of `lineal.toml`.

Pure parsing with one clear error per bad key; never reads the store.

    [drift]
    class_p = 0.01          # chi-square p-value below this: the class mix changed
    class_js = 0.1          # Jensen-Shannon distance (base 2, 0..1) above this: drift
    box_area = 0.25         # relative change of the median box area
    box_aspect = 0.25       # relative change of the median box aspect (width / height)
    image_size = 0.2        # Jensen-Shannon distance of the image-size histograms
    annotations_per_image = 0.25   # relative change
    file_count = 0.5        # relative change of the number of files
    schema_changes = 0      # more label-schema changes than this: drift
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal.errors import InvalidInput

if TYPE_CHECKING:
    from lineal.workspace import Workspace


@dataclass(frozen=True, slots=True, kw_only=True)
class Thresholds:
    """Where each drift measure's verdict turns from ``ok`` to ``drift``."""

    class_p: float = 0.01
    class_js: float = 0.1
    box_area: float = 0.25
    box_aspect: float = 0.25
    image_size: float = 0.2
    annotations_per_image: float = 0.25
    file_count: float = 0.5
    schema_changes: float = 0

    def as_dict(self) -> dict[str, float]:
        return {one.name: getattr(self, one.name) for one in fields(self)}


KEYS = tuple(one.name for one in fields(Thresholds))


def _bad(key: str, message: str, path: Path | None) -> InvalidInput:
    shown = str(path) if path else "lineal.toml"
    return InvalidInput(
        f"{shown}: bad [drift] {key}: {message}",
        hint="see `Drift` in docs/quality.md for the [drift] keys and their defaults",
    )


def parse(document: Mapping[str, Any], path: Path | None = None) -> Thresholds:
    """The ``[drift]`` thresholds of a decoded `lineal.toml` (defaults for keys it omits)."""
    body = document.get("drift", {})
    if not isinstance(body, Mapping):
        raise _bad("table", f"expected a table, not {body!r}", path)
    if extra := sorted(set(body) - set(KEYS)):
        raise _bad("table", f"unknown keys {extra}; expected {', '.join(KEYS)}", path)
    values: dict[str, float] = {}
    for key, value in body.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise _bad(key, f"expected a number >= 0, not {value!r}", path)
        if key in ("class_p", "class_js", "image_size") and value > 1:
            raise _bad(key, f"expected a number from 0 to 1, not {value!r}", path)
        values[key] = float(value)
    return Thresholds(**values)


def load(found: Workspace | None) -> Thresholds:
    """The workspace's ``[drift]`` thresholds (defaults without a `lineal.toml`, as on a
    server, which has no workspace)."""
    if found is None:
        return Thresholds()
    path, document = found.project_config()
    return parse(document, path)
