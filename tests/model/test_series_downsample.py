"""model.series.downsample: at most N points per series, its shape and extremes kept."""

from __future__ import annotations

import math
from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineal.errors import InvalidInput
from lineal.model.series import Series, downsample


def _series(values: list[float]) -> Series:
    n = len(values)
    return Series("k", array("q", range(n)), array("d", values), array("d", [1.0] * n))


@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=False), min_size=1, max_size=400),
    st.integers(min_value=1, max_value=60),
)
def test_a_thinned_series_is_a_subsequence_holding_the_extremes(
    values: list[float], max_points: int
) -> None:
    thin = downsample(_series(values), max_points)
    steps = list(thin.steps)
    assert len(steps) <= max(max_points, 1)
    assert steps == sorted(set(steps))  # in order, each point once
    assert all(thin.values[i] == values[s] or math.isnan(values[s]) for i, s in enumerate(steps))
    if len(values) > max_points >= 4:
        assert steps[0] == 0
        assert steps[-1] == len(values) - 1
        finite = [v for v in values[1:-1] if not math.isnan(v)]
        kept = [v for v in thin.values if not math.isnan(v)]
        if finite:
            assert max(finite) in kept
            assert min(finite) in kept
    if len(values) <= max_points:
        assert thin == _series(values)


def test_a_million_points_chart_in_a_thousand() -> None:
    values = [math.sin(i / 1000) for i in range(1_000_000)]
    values[123_456] = 50.0
    thin = downsample(_series(values), 1000)
    assert len(thin.steps) <= 1000
    assert 123_456 in thin.steps


def test_max_points_must_be_positive() -> None:
    with pytest.raises(InvalidInput, match="max_points"):
        downsample(_series([1.0, 2.0]), 0)


def _reference(values: list[float], max_points: int) -> list[int]:
    """The points each run of consecutive points gives, the slow way (NaN counts as neither)."""
    n, buckets = len(values), (max_points - 2) // 2
    size, chosen = (n - 2) / buckets, [0]
    for b in range(buckets):
        lo, hi = 1 + int(b * size), 1 + int((b + 1) * size)
        finite = [i for i in range(lo, hi) if not math.isnan(values[i])]
        if not finite:
            chosen.append(lo)
            continue
        low = min(finite, key=values.__getitem__)
        high = max(finite, key=values.__getitem__)
        chosen.extend(sorted({low, high}))
    return [*chosen, n - 1]


@given(
    st.lists(st.one_of(st.floats(allow_nan=False), st.just(math.nan)), min_size=10, max_size=300),
    st.integers(min_value=4, max_value=9),
)
def test_each_run_gives_its_own_extremes_wherever_a_nan_or_an_infinity_sits(
    values: list[float], max_points: int
) -> None:
    thin = downsample(_series(values), max_points)
    assert list(thin.steps) == _reference(values, max_points)


def test_a_nan_before_a_runs_extremes_does_not_hide_them() -> None:
    values = [0.5, 1.0, math.nan, 9.0, -9.0, 2.0, math.nan, 3.0, 4.0, 0.0]
    assert list(downsample(_series(values), 4).steps) == [0, 3, 4, 9]
    values[1] = math.nan  # the run starts with a NaN
    assert list(downsample(_series(values), 4).steps) == [0, 3, 4, 9]
