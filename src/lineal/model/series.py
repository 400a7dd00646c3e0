"""Metric series packed for the ledger: steps, values and times as base64 columns of 64-bit numbers.

Pure: packs and unpacks bytes; never validates what a series means (ops.py does that).
A million points pack in milliseconds, and NaN and ±Inf travel inside the bytes, untouched by the
canonical JSON encoder (which refuses them).
"""

from __future__ import annotations

import base64
import binascii
import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lineal.errors import InvalidInput

_SWAP = sys.byteorder != "little"  # the ledger's bytes are little-endian on every machine


def pack_column(column: array[Any]) -> bytes:
    """A column as the base64 of its little-endian bytes (ASCII)."""
    if _SWAP:
        column = array(column.typecode, column)
        column.byteswap()
    return base64.b64encode(column.tobytes())


def _pack(column: array[Any]) -> str:
    return pack_column(column).decode("ascii")


def unpack_column(text: object, typecode: str, count: int, what: str) -> array[Any]:
    if not isinstance(text, str):
        raise InvalidInput(f"bad metric {what}: expected base64 text")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(f"bad metric {what}: not base64 ({exc})") from exc
    if len(raw) != 8 * count:
        raise InvalidInput(f"bad metric {what}: {len(raw)} bytes for {count} points")
    column = array(typecode)
    column.frombytes(raw)
    if _SWAP:
        column.byteswap()
    return column


@dataclass(frozen=True, slots=True, eq=False)
class Series:
    """Points of one metric key: step (int64), value (float64), time (unix seconds, float64).

    Two series are equal when their bytes are (so a NaN equals itself, as in the ledger).
    ``ordered`` says the steps are known not to decrease (whoever built the series checked
    them as they came, as the metric buffer does), sparing a check of every step.
    """

    key: str
    steps: array[int]
    values: array[float]
    times: array[float]
    ordered: bool = False

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Series):
            return NotImplemented
        return self.key == other.key and all(
            a.typecode == b.typecode and a.tobytes() == b.tobytes()
            for a, b in (
                (self.steps, other.steps),
                (self.values, other.values),
                (self.times, other.times),
            )
        )

    def __hash__(self) -> int:
        return hash((self.key, len(self.steps)))

    def __len__(self) -> int:
        return len(self.steps)

    def extend(self, more: Series) -> None:
        """Append ``more``'s points (of the same key) in place."""
        ordered = self.ordered and more.ordered
        if ordered and self.steps and more.steps:
            ordered = self.steps[-1] <= more.steps[0]
        object.__setattr__(self, "ordered", ordered)
        self.steps.extend(more.steps)
        self.values.extend(more.values)
        self.times.extend(more.times)

    def packed(self) -> dict[str, Any]:
        """The JSON-shaped form a ``metrics.batch`` payload holds."""
        return {
            "key": self.key,
            "n": len(self.steps),
            "steps": _pack(self.steps),
            "values": _pack(self.values),
            "times": _pack(self.times),
        }

    @classmethod
    def unpack(cls, packed: Mapping[str, Any], *, ordered: bool = False) -> Series:
        """The series of a packed form; ``ordered``: its steps are known not to decrease (a
        batch read back from the ledger, checked when it was written)."""
        if not isinstance(packed, Mapping) or set(packed) != {
            "key",
            "n",
            "steps",
            "values",
            "times",
        }:
            raise InvalidInput(
                f"bad metric series {str(packed)[:80]!r}: expected key, n, steps, values, times"
            )
        count = packed["n"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidInput(f"bad metric series size {count!r}: expected a positive integer")
        return cls(
            key=packed["key"],
            steps=unpack_column(packed["steps"], "q", count, "steps"),
            values=unpack_column(packed["values"], "d", count, "values"),
            times=unpack_column(packed["times"], "d", count, "times"),
            ordered=ordered,
        )


def merge(series: Iterable[Series]) -> dict[str, Series]:
    """One series per key, points in the order given (the first series of a key is extended)."""
    merged: dict[str, Series] = {}
    for one in series:
        have = merged.get(one.key)
        if have is None:
            merged[one.key] = one
        else:
            have.extend(one)
    return merged


def value_at(series: Series | None, step: int) -> float | None:
    """The last value ``series`` logged at ``step`` (steps never go back), or None."""
    if series is None:
        return None
    index = bisect_right(series.steps, step) - 1
    if index >= 0 and series.steps[index] == step:
        return float(series.values[index])
    return None


def between(series: Series, first: int | None = None, last: int | None = None) -> Series:
    """The points of ``series`` from step ``first`` to step ``last`` (both kept; None: no
    bound). Steps never go back, so the ends are found by bisection."""
    lo = 0 if first is None else bisect_left(series.steps, first)
    hi = len(series.steps) if last is None else bisect_right(series.steps, last)
    if lo == 0 and hi == len(series.steps):
        return series
    return Series(
        series.key,
        series.steps[lo:hi],
        series.values[lo:hi],
        series.times[lo:hi],
        ordered=series.ordered,
    )


def thin_indices(values: array[float], max_points: int) -> list[int]:
    """Which of ``values`` a series thinned to ``max_points`` keeps (see :func:`downsample`),
    in order; all of them when they fit."""
    n = len(values)
    if max_points < 1:
        raise InvalidInput(f"bad max_points {max_points}: expected 1 or more")
    if n <= max_points:
        return list(range(n))
    if max_points < 4:
        return [0, n - 1][-max_points:] if max_points < 3 else [0, n // 2, n - 1]
    buckets = (max_points - 2) // 2
    size = (n - 2) / buckets
    chosen = [0]
    for b in range(buckets):
        lo, hi = 1 + int(b * size), 1 + int((b + 1) * size)
        chunk = values[lo:hi]
        # min() and max() never take a NaN after a number (every comparison with NaN is
        # false), so with a first value that is a number they give the extremes of the
        # numbers, at C speed, with no pass looking for NaN.
        if chunk and chunk[0] == chunk[0]:
            low, high = lo + chunk.index(min(chunk)), lo + chunk.index(max(chunk))
            chosen.extend(sorted({low, high}))
            continue
        finite = [i for i in range(lo, hi) if values[i] == values[i]]  # not NaN
        if not finite:
            chosen.append(lo)
            continue
        low = min(finite, key=values.__getitem__)
        high = max(finite, key=values.__getitem__)
        chosen.extend(sorted({low, high}))
    chosen.append(n - 1)
    return chosen


def downsample(series: Series, max_points: int) -> Series:
    """At most ``max_points`` of the series' points, keeping its shape and extremes: the points
    are cut into ``max_points // 2`` runs of consecutive points, and each run gives its lowest
    and its highest value (NaN counts as neither), in step order; the first and last points
    always stay. A series that fits is returned as it is."""
    if max_points < 1:
        raise InvalidInput(f"bad max_points {max_points}: expected 1 or more")
    if len(series.steps) <= max_points:
        return series
    chosen = thin_indices(series.values, max_points)
    return Series(
        series.key,
        array("q", (series.steps[i] for i in chosen)),
        array("d", (series.values[i] for i in chosen)),
        array("d", (series.times[i] for i in chosen)),
        ordered=series.ordered,
    )


def packed_items(
    text: object, typecode: str, count: int, indices: list[int], what: str
) -> array[Any]:
    """The items at ``indices`` of a packed column of ``count`` items, decoding only theirs:
    every 3 items (24 bytes) are 32 base64 characters of their own, so item ``i`` is read from
    the 32 characters of its group. For a thinned series, whose other points are never read."""
    if not isinstance(text, str) or len(text) != 4 * -(-8 * count // 3):
        raise InvalidInput(f"bad metric {what}: expected the base64 of {count} points")
    found = array(typecode)
    try:
        for i in indices:
            group = i // 3
            raw = base64.b64decode(text[32 * group : 32 * group + 32], validate=True)
            found.frombytes(raw[8 * (i % 3) : 8 * (i % 3) + 8])
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(f"bad metric {what}: not base64 ({exc})") from exc
    if len(found) != len(indices):
        raise InvalidInput(f"bad metric {what}: fewer than {count} points")
    if _SWAP:
        found.byteswap()
    return found
