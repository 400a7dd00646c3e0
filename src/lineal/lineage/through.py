"""Links a kind-filtered lineage answer draws between shown nodes joined only through hidden ones:
the Through type and the walk that finds them. Pure over node ids; never looks at kinds or renders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import ClassVar

from lineal.errors import InvalidInput

#: One link of an answer as the walk sees it: (parent, child, hidden nodes it passes through).
Step = tuple[str, str, int]
_Adjacent = Mapping[str, list[tuple[str, int]]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Through:
    """``child`` descends from ``parent`` along a path whose inner nodes an answer hides:
    ``hidden`` is the fewest inner nodes such a path has (1 or more). The direction rule is the
    ledger's: ``parent`` upstream, ``child`` downstream."""

    kind: ClassVar[str] = "via"
    parent: str
    child: str
    hidden: int

    def __post_init__(self) -> None:
        if isinstance(self.hidden, bool) or not isinstance(self.hidden, int) or self.hidden < 1:
            raise InvalidInput(f"bad hidden count {self.hidden!r}: expected 1 or more")
        if self.parent == self.child:
            raise InvalidInput(f"a link cannot join {self.parent!r} to itself")


def find_through(kept: AbstractSet[str], steps: Iterable[Step]) -> list[Through]:
    """For every pair of ``kept`` nodes joined by a path whose inner nodes are all hidden (not
    kept) and which no plain edge joins, one Through with the fewest hidden nodes on such a path
    (a step that already passes through hidden nodes counts them). Not in any particular order.

    It walks from each kept node through hidden nodes only, stopping at kept ones, so it costs
    the hidden region each kept node touches, never all pairs; hidden nodes that lead to no kept
    node are left out first, and the walk goes whichever way fewer kept nodes start from.
    """
    down: defaultdict[str, list[tuple[str, int]]] = defaultdict(list)
    up: defaultdict[str, list[tuple[str, int]]] = defaultdict(list)
    for parent, child, hidden in steps:
        down[parent].append((child, hidden))
        up[child].append((parent, hidden))
    down_plan, up_plan = _plan(kept, down, up), _plan(kept, up, down)
    going_down = len(down_plan[0]) <= len(up_plan[0])
    starts, useful = down_plan if going_down else up_plan
    onward = down if going_down else up
    # Only the links worth following, looked up once rather than at every step of every walk.
    worth = useful | kept
    pruned = {node: [(n, h) for n, h in onward[node] if n in worth] for node in useful}
    pruned.update((node, [(n, h) for n, h in onward[node] if n in worth]) for node in starts)
    found = []
    for start in starts:
        for end, hidden in _walk(start, pruned, kept):
            parent, child = (start, end) if going_down else (end, start)
            found.append(Through(parent=parent, child=child, hidden=hidden))
    return found


def _plan(kept: AbstractSet[str], onward: _Adjacent, back: _Adjacent) -> tuple[list[str], set[str]]:
    """Walking ``onward``: the kept nodes to start from, and the hidden nodes worth entering."""
    useful = _leading_to(kept, back)
    starts = [
        node
        for node in kept
        if any(nxt in useful or (hidden and nxt in kept) for nxt, hidden in onward.get(node, ()))
    ]
    return starts, useful


def _leading_to(kept: AbstractSet[str], back: _Adjacent) -> set[str]:
    """The hidden nodes from which some kept node is reached through hidden nodes only, going
    the way ``back`` leads away from (one pass over the answer)."""
    useful: set[str] = set()
    frontier = list(kept)
    while frontier:
        node = frontier.pop()
        for before, _ in back.get(node, ()):
            if before not in kept and before not in useful:
                useful.add(before)
                frontier.append(before)
    return useful


def _walk(start: str, onward: _Adjacent, kept: AbstractSet[str]) -> list[tuple[str, int]]:
    """(kept node, fewest hidden nodes between) for each kept node ``start`` reaches through
    at least one hidden node and reaches no more directly: cheapest first, from a bucket queue
    (the costs are small integers), along the links worth following."""
    best: dict[str, int] = {start: -1}  # never entered again, even were there a cycle
    buckets: dict[int, list[str]] = {}
    for nxt, hidden in onward[start]:
        if hidden < best.get(nxt, hidden + 1):
            best[nxt] = hidden
            buckets.setdefault(hidden, []).append(nxt)
    found: list[tuple[str, int]] = []
    cost = 0
    while buckets:
        for node in buckets.pop(cost, ()):
            if best[node] != cost:
                continue  # reached more cheaply since it was queued
            if node in kept:
                if cost:
                    found.append((node, cost))
                continue
            for nxt, hidden in onward[node]:
                through = cost + 1 + hidden
                if through < best.get(nxt, through + 1):
                    best[nxt] = through
                    buckets.setdefault(through, []).append(nxt)
        cost += 1
    return found
