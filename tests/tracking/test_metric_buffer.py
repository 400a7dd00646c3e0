"""The metric buffer on its own: order across drains, values converted at the call, all or none."""

from __future__ import annotations

import math
import threading
import weakref

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineal.errors import InvalidInput
from lineal.tracking.metrics import MetricBuffer


def _points(buffer: MetricBuffer) -> dict[str, list[tuple[int, float]]]:
    return {one.key: list(zip(one.steps, one.values, strict=True)) for one in buffer.drain()}


def test_step_order_holds_across_a_drain() -> None:
    buffer = MetricBuffer()
    buffer.log({"loss": 1.0}, step=5)
    assert _points(buffer) == {"loss": [(5, 1.0)]}
    with pytest.raises(InvalidInput, match="step 4 of metric 'loss' goes back"):
        buffer.log({"loss": 0.5}, step=4)
    with pytest.raises(InvalidInput, match="goes back"):
        buffer.log_batch("loss", [3, 6], [0.1, 0.2])
    buffer.log({"loss": 0.5})  # counts on from the last step drained
    buffer.log_batch("loss", [7, 7, 9], [0.1, 0.2, 0.3])
    buffer.log({"loss": 0.4})
    assert _points(buffer) == {"loss": [(6, 0.5), (7, 0.1), (7, 0.2), (9, 0.3), (10, 0.4)]}
    assert buffer.drain() == []


def test_values_are_floats_by_the_time_log_returns() -> None:
    class Scalar:  # a tensor-like scalar: the buffer must not keep it alive
        def __float__(self) -> float:
            return 2.5

    buffer = MetricBuffer()
    scalar = Scalar()
    gone = weakref.ref(scalar)
    buffer.log({"a": 3, "b": scalar, "c": True, "d": math.inf}, step=0)
    buffer.log({"e": math.nan}, step=2**63 - 1)
    buffer.log({"b": scalar}, step=1)  # the quick path (one key, already seen) too
    del scalar
    assert gone() is None  # converted at the call, not held until the flush
    points = _points(buffer)
    assert all(type(v) is float for one in points.values() for _, v in one)
    assert points["a"] == [(0, 3.0)]
    assert points["b"] == [(0, 2.5), (1, 2.5)]
    assert points["c"] == [(0, 1.0)]
    assert points["d"] == [(0, math.inf)]
    [(step, value)] = points["e"]
    assert step == 2**63 - 1
    assert math.isnan(value)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"loss": 1.0, "acc": "high"}, "'acc' must be a number"),
        ({"loss": 10**400}, "'loss' must be a number"),
        ({"loss": None}, "'loss' must be a number"),
        ({"bad key": 1.0}, "bad metric key"),
    ],
)
def test_bad_values_land_nothing(values: dict[str, object], message: str) -> None:
    buffer = MetricBuffer()
    with pytest.raises(InvalidInput, match=message):
        buffer.log(values, step=1)
    assert buffer.pending() == 0
    assert buffer.drain() == []
    buffer.log({"loss": 0.5}, step=1)  # the step was not taken by the refused call
    assert _points(buffer) == {"loss": [(1, 0.5)]}


@pytest.mark.parametrize("step", [2**63, -(2**63) - 1, 1.5, "3", True])
def test_bad_steps_are_refused(step: object) -> None:
    with pytest.raises(InvalidInput, match="bad step"):
        MetricBuffer().log({"loss": 1.0}, step=step)  # type: ignore[arg-type]


@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("log"), st.integers(0, 3), st.floats()),
            st.tuples(st.just("batch"), st.integers(0, 3), st.floats()),
            st.tuples(st.just("drain"), st.just(0), st.just(0.0)),
        ),
        max_size=40,
    )
)
def test_every_point_comes_out_once_in_order(actions: list[tuple[str, int, float]]) -> None:
    buffer = MetricBuffer()
    expected: list[tuple[int, float]] = []
    got: list[tuple[int, float]] = []
    step = 0
    for action, gap, value in actions:
        if action == "drain":
            got += _points(buffer).get("m", [])
            continue
        step += gap
        if action == "log":
            buffer.log({"m": value}, step=step)
            expected.append((step, value))
        else:
            buffer.log_batch("m", [step, step], [value, value])
            expected += [(step, value)] * 2
    got += _points(buffer).get("m", [])
    assert [s for s, _ in got] == [s for s, _ in expected]
    assert [repr(v) for _, v in got] == [repr(v) for _, v in expected]


def test_each_key_keeps_its_own_order() -> None:
    buffer = MetricBuffer()
    buffer.log({"loss": 1.0}, step=100)
    buffer.log({"val": 0.5}, step=1)  # another key may be far behind
    with pytest.raises(InvalidInput, match="step 50 of metric 'loss' goes back"):
        buffer.log({"loss": 1.0}, step=50)
    with pytest.raises(InvalidInput, match="'loss' goes back"):
        buffer.log({"val": 0.7, "loss": 1.0}, step=60)  # all or none: val does not land
    buffer.log({"val": 0.6}, step=2)
    buffer.log({"loss": 2.0}, step=100)  # the same step again is fine
    buffer.log_batch("val", [3, 4], [0.1, 0.2])
    buffer.log({"val": 0.3, "loss": 3.0})  # no step: each key counts on from its own
    assert _points(buffer) == {
        "loss": [(100, 1.0), (100, 2.0), (101, 3.0)],
        "val": [(1, 0.5), (2, 0.6), (3, 0.1), (4, 0.2), (5, 0.3)],
    }
    buffer.log({"top": 1.0}, step=2**63 - 1)
    with pytest.raises(InvalidInput, match="run out of int64 steps"):
        buffer.log({"top": 1.0})
    with pytest.raises(InvalidInput, match="goes back"):
        buffer.log({"val": 0.1}, step=4)  # checked against what was drained, too


def test_a_key_may_start_at_any_step_and_counts_from_zero_without_one() -> None:
    buffer = MetricBuffer()
    buffer.log({"baseline": 0.3}, step=-1)  # e.g. an evaluation before the first epoch
    buffer.log({"baseline": 0.5}, step=0)
    buffer.log_batch("warmup", [-(2**63), -5], [0.1, 0.2])
    buffer.log({"loss": 1.0})
    buffer.log({"loss": 0.9})
    assert _points(buffer) == {
        "baseline": [(-1, 0.3), (0, 0.5)],
        "warmup": [(-(2**63), 0.1), (-5, 0.2)],
        "loss": [(0, 1.0), (1, 0.9)],
    }
    with pytest.raises(InvalidInput, match="step -2 of metric 'baseline' goes back"):
        buffer.log({"baseline": 0.1}, step=-2)


@pytest.mark.parametrize("given_step", [False, True])
def test_a_drain_racing_the_loggers_loses_nothing(given_step: bool) -> None:
    buffer = MetricBuffer()
    taken: dict[str, list[int]] = {}
    done = threading.Event()

    def drain() -> None:
        for one in buffer.drain():
            taken.setdefault(one.key, []).extend(one.steps)

    def flusher() -> None:
        while not done.is_set():
            drain()
        drain()

    def logger(key: str) -> None:
        for i in range(50_000):
            buffer.log({key: i * 0.5}, step=i if given_step else None)

    threads = [threading.Thread(target=logger, args=(f"m{n}",)) for n in range(4)]
    drainer = threading.Thread(target=flusher)
    drainer.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    drainer.join()
    assert taken == {f"m{n}": list(range(50_000)) for n in range(4)}
