"""The reference answer lineage tests compare with: a plain breadth-first walk in Python."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable


def bfs(starts: Iterable[str], steps: list[tuple[str, str]], depth: int | None) -> dict[str, int]:
    """Least steps from ``starts`` to every node ``(from, to)`` steps reach, ``depth`` at most."""
    found = dict.fromkeys(starts, 0)
    queue = deque(found)
    while queue:
        node = queue.popleft()
        if depth is not None and found[node] >= depth:
            continue
        for origin, target in steps:
            if origin == node and target not in found:
                found[target] = found[node] + 1
                queue.append(target)
    return found
