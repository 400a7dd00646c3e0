"""Classifications that propagate: a ``classification`` tag (``pii``, ``restricted``, …) set
on any node reaches everything downstream of it, worked out from the graph when asked, so a
tag set later reaches descendants recorded earlier.

Reads tags and lineage through the Store protocol only; never writes and never prints.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.model.classification import TAG, classes

__all__ = [
    "TAG", "Carried", "Classified", "carried", "check_class", "classes", "classified", "denied",
]  # fmt: skip


def check_class(value: str) -> str:
    """``value`` as a class name (lower-cased), or InvalidInput."""
    found = classes(value) if isinstance(value, str) else ()
    if len(found) != 1 or found[0] != value.strip().lower():
        raise InvalidInput(
            f"bad classification {value!r}: expected one class name, e.g. pii",
            hint="classes are what `lineal tag REF classification=CLASS` set",
        )
    return found[0]


@dataclass(frozen=True, slots=True)
class Carried:
    """One classification a node carries: the class, the node whose tag set it (``source``,
    shown as ``label``) and how many edges up that node is (0: the node's own tag)."""

    classification: str
    source: str
    label: str
    distance: int
    seq: int  # the record that set the tag

    @property
    def inherited(self) -> bool:
        return self.distance > 0

    def text(self) -> str:
        """``pii (own tag)`` or ``pii from dataset/raw@v1 (2 edges up)``."""
        if not self.inherited:
            return f"{self.classification} (own tag)"
        edges = "edge" if self.distance == 1 else "edges"
        return f"{self.classification} from {self.label} ({self.distance} {edges} up)"

    def as_dict(self) -> dict[str, Any]:
        return {
            "classification": self.classification,
            "from": self.label,
            "source": self.source,
            "distance": self.distance,
            "inherited": self.inherited,
            "seq": self.seq,
            "text": self.text(),
        }


@dataclass(frozen=True, slots=True)
class Classified:
    """A node and every classification it carries, nearest source first."""

    node: str
    label: str
    kind: str
    carried: tuple[Carried, ...]

    @property
    def classifications(self) -> list[str]:
        return sorted({one.classification for one in self.carried})

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "ref": self.label,
            "kind": self.kind,
            "classifications": self.classifications,
            "carried": [one.as_dict() for one in self.carried],
        }


def _order(found: Iterable[Carried]) -> tuple[Carried, ...]:
    return tuple(sorted(found, key=lambda c: (c.distance, c.classification, c.label, c.source)))


def _tagged(repo: Lineal, as_of: int | None) -> dict[str, tuple[tuple[str, ...], int]]:
    """``node -> (classes, seq of the tag)`` of every node tagged with a classification."""
    return {
        node: (found, seq)
        for node, value, seq in repo.store.tagged(TAG, as_of)
        if (found := classes(value))
    }


def carried(repo: Lineal, ref: str, *, as_of: int | None = None) -> list[Carried]:
    """Every classification the node ``ref`` names carries at seq ``as_of`` (None: now): its
    own tag's, and each tagged ancestor's with how far up it is; nearest first."""
    node = repo.node(ref)
    tagged = _tagged(repo, as_of)
    if not tagged:
        return []  # nothing is classified: no walk
    depths, _, _ = repo.store.subgraph([node], upstream=True, as_of=as_of)
    sources = [one for one in depths if one in tagged]
    labels = repo.store.labels(sources)
    return list(
        _order(
            Carried(name, source, labels.get(source, (source, ""))[0], depths[source], seq)
            for source in sources
            for name in tagged[source][0]
            for seq in [tagged[source][1]]
        )
    )


def denied(
    repo: Lineal, ref: str, deny: Iterable[str], *, as_of: int | None = None
) -> list[Carried]:
    """The classifications among ``deny`` that the node ``ref`` carries, nearest first."""
    wanted = {name.lower() for name in deny}
    return [one for one in carried(repo, ref, as_of=as_of) if one.classification in wanted]


def classified(
    repo: Lineal, classification: str | None = None, *, as_of: int | None = None
) -> list[Classified]:
    """Everything that carries a classification (or ``classification`` only), directly or
    downstream of a tagged node, at seq ``as_of`` (None: now); by reference."""
    wanted = None if classification is None else check_class(classification)
    found: dict[str, list[Carried]] = {}
    kinds: dict[str, str] = {}
    pending: list[tuple[str, str, int, str, int]] = []  # (node, class, distance, source, seq)
    for source, (held, seq) in _tagged(repo, as_of).items():
        names = tuple(n for n in held if wanted is None or n == wanted)
        if not names:
            continue
        depths, _, rows = repo.store.subgraph([source], upstream=False, as_of=as_of)
        for node, distance in depths.items():
            if node in rows:
                kinds[node] = rows[node].kind
            pending += [(node, name, distance, source, seq) for name in names]
    labels = repo.store.labels({n for n, *_ in pending} | {s for *_, s, _ in pending})
    for node, name, distance, source, seq in pending:
        label = labels.get(source, (source, ""))[0]
        found.setdefault(node, []).append(Carried(name, source, label, distance, seq))
    answers = [
        Classified(node, labels.get(node, (node, ""))[0], kinds.get(node, ""), _order(held))
        for node, held in found.items()
    ]
    return sorted(answers, key=lambda one: (one.label, one.node))
