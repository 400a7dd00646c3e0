"""What a ``classification`` tag says: the classes (``pii``, ``restricted``, …) it puts on a
node, which lineal.quality.classify carries downstream and a policy's
``deny_classifications`` refuses. Pure: no I/O."""

from __future__ import annotations

#: The tag that classifies a node: ``lineal tag REF classification=pii`` (several classes:
#: ``classification=pii,restricted``).
TAG = "classification"


def classes(value: str) -> tuple[str, ...]:
    """The classes a ``classification`` tag value names: comma-separated, lower-cased."""
    return tuple(sorted({part.strip().lower() for part in value.split(",") if part.strip()}))
