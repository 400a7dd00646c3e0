"""The metric buffer on its own: order across drains, values converted at the call, all or none."""

from __future__ import annotations

import math
import threading

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
    buffer.log({"a": 3, "b": Scalar(), "c": True, "d": math.inf}, step=0)
    buffer.log({"e": math.nan}, step=2**63 - 1)
    held = [value for column in buffer._columns.values() for value in column[1::3]]
    assert [type(value) for value in held] == [float] * 5
    points = _points(buffer)
    assert points["a"] == [(0, 3.0)]
    assert points["b"] == [(0, 2.5)]
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


def test_a_drain_racing_the_loggers_loses_nothing() -> None:
    buffer = MetricBuffer()
    taken: list[int] = []
    done = threading.Event()

    def flusher() -> None:
        while not done.is_set():
            taken.extend(s for one in buffer.drain() for s in one.steps)
        taken.extend(s for one in buffer.drain() for s in one.steps)

    thread = threading.Thread(target=flusher)
    thread.start()
    for i in range(200_000):
        buffer.log({"m": i * 0.5})
    done.set()
    thread.join()
    assert taken == list(range(200_000))
