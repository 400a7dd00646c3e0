"""The Store contract, metrics and redaction: batches and their points, latest values and
summaries, values at the edges of float64, erasing tags and batches.

Runs on every backend of the ``store`` fixture (tests/conftest.py) through the Store protocol
alone; the store starts with alice's ``agent.register`` (record ``origin.seq(1)``).
"""

from __future__ import annotations

import math

import pytest
from contract_helpers import assert_healthy, latest, points, resolve, series, state

from lineal.client import Lineal
from lineal.errors import Conflict
from lineal.model import canonical
from lineal.model.ops import MetricsBatch
from lineal.store.base import Store


def test_metrics_batch_rows(store: Store) -> None:
    lin = Lineal(store)
    run = lin.start_run("train", params={"lr": 0.001})
    op = MetricsBatch(
        run=run.id,
        series=(
            series("loss", [0, 1, 2], [2.5, 2.0, 1.5], [10.0, 11.0, 12.5]),
            series("acc", [0], [0.1], [10.0]),
        ),
    )
    first = store.append(op)[0]
    # the ledger keeps the packed series exactly
    assert first.payload == op.encode() == canonical.encode(op.payload())
    assert MetricsBatch.from_payload(canonical.decode(first.payload)) == op
    assert store.metric_series(run.id) == {"acc": op.series[1], "loss": op.series[0]}
    assert store.metric_series(run.id, "loss") == {"loss": op.series[0]}
    assert store.metric_series(run.id, "nope") == {}
    assert latest(store, run.id) == {
        "acc": (0.1, 0),
        "loss": (1.5, 2),  # a batch's last point is the latest value
    }

    second = lin.log_metrics(run, {"loss": 1.25, "acc": 1}, step=3)
    assert second.seq > first.seq
    # points join across batches, in order
    assert points(store, run.id) == {
        "acc": ([0, 3], [0.1, 1.0]),
        "loss": ([0, 1, 2, 3], [2.5, 2.0, 1.5, 1.25]),
    }
    assert latest(store, run.id) == {"acc": (1.0, 3), "loss": (1.25, 3)}
    assert all(isinstance(value, float) for value, _ in latest(store, run.id).values())
    # another run's metrics are its own
    assert store.metric_series(lin.start_run("other").id) == {}

    details = store.run_details(run.id)
    assert details["metrics"] == {
        "acc": {"step": 3, "value": 1.0},
        "loss": {"step": 3, "value": 1.25},
    }
    assert details["metric_points"] == 6
    assert resolve(store, run.ref).metrics == {"acc": 1.0, "loss": 1.25}  # type: ignore[union-attr]

    finished = lin.finish_run(run, summary={"best": 1.25})
    finish_seq = store.head()[0]
    assert finished.status == "finished"
    assert finished.ended is not None
    details = store.run_details(run.id)
    assert details["summary"] == {"best": 1.25}
    # a summary number is a metric too: set by the finish, so it has no step
    assert details["metrics"]["best"] == {"step": None, "value": 1.25}
    assert details["metric_points"] == 6
    assert latest(store, run.id)["best"] == (1.25, None)
    assert "best" not in points(store, run.id)  # a summary logs no point
    assert finish_seq > second.seq
    # metrics may still arrive after the run finished (late flushes)
    lin.log_metrics(run, {"loss": 1.0}, step=4)
    assert latest(store, run.id)["loss"] == (1.0, 4)
    assert points(store, run.id)["loss"] == ([0, 1, 2, 3, 4], [2.5, 2.0, 1.5, 1.25, 1.0])
    assert store.run_details(run.id)["metric_points"] == 7
    assert_healthy(store)


def test_metrics_going_back_are_refused_and_change_nothing(store: Store) -> None:
    lin = Lineal(store)
    run = lin.start_run("train")
    other = lin.start_run("eval")
    lin.log_metrics(run, {"loss": 1.0, "acc": 0.5}, step=5)
    before = state(store)
    head = store.head()

    going_back = [
        MetricsBatch(run=run.id, series=(series("loss", [4], [0.9]),)),
        # only one key goes back: the whole batch is refused, the other key with it
        MetricsBatch(
            run=run.id, series=(series("acc", [6], [0.6]), series("loss", [4, 9], [1, 2]))
        ),
        MetricsBatch(run=run.id, series=(series("loss", [-(2**63)], [0.0]),)),
    ]
    for op in going_back:
        with pytest.raises(Conflict, match="goes back"):
            store.append(op)
        assert state(store) == before
        assert store.head() == head
    # a valid batch of another run in the same append is refused with it
    with pytest.raises(Conflict, match="goes back"):
        store.append(
            [MetricsBatch(run=other.id, series=(series("loss", [0], [1.0]),)), going_back[0]]
        )
    assert state(store) == before
    assert latest(store, other.id) == {}
    assert store.metric_series(other.id) == {}

    # the same step again is not going back; a new key starts anywhere; runs are independent
    lin.log_metrics(run, {"loss": 0.75}, step=5)
    store.append(MetricsBatch(run=run.id, series=(series("lr", [-3, -2], [0.1, 0.2]),)))
    lin.log_metrics(other, {"loss": 2.0}, step=0)
    assert latest(store, run.id) == {"acc": (0.5, 5), "loss": (0.75, 5), "lr": (0.2, -2)}
    assert points(store, run.id) == {
        "acc": ([5], [0.5]),
        "loss": ([5, 5], [1.0, 0.75]),
        "lr": ([-3, -2], [0.1, 0.2]),
    }
    assert latest(store, other.id) == {"loss": (2.0, 0)}
    assert points(store, other.id) == {"loss": ([0], [2.0])}
    # after the run finished, late metrics are still held to their order
    lin.finish_run(run)
    with pytest.raises(Conflict, match="goes back"):
        store.append(MetricsBatch(run=run.id, series=(series("acc", [1], [0.1]),)))
    assert_healthy(store)


def test_finish_summary_overrides_the_latest_metrics(store: Store) -> None:
    lin = Lineal(store)
    run = lin.start_run("train")
    store.append(
        MetricsBatch(
            run=run.id,
            series=(
                series("loss", [0, 1], [1.0, 0.5]),
                series("acc", [0, 1], [0.5, 0.75]),
                series("kept", [3], [7.0]),
            ),
        )
    )
    summary = {
        "loss": "nan",  # the string stands for a NaN, stored as NULL
        "acc": 0.9,
        "top": "inf",
        "bottom": "-inf",
        "count": 12,
        "zero": -0.0,
        "note": "not a number",
        "flag": True,
        "NaN": "NaN",  # only the lowercase spellings are numbers
        "nested": {"a": 1},
    }
    lin.finish_run(run, summary=summary)
    assert latest(store, run.id) == {
        "acc": (0.9, None),
        "bottom": (-math.inf, None),
        "count": (12.0, None),
        "kept": (7.0, 3),  # not in the summary: the logged value stays
        "loss": (None, None),
        "top": (math.inf, None),
        "zero": (0.0, None),
    }
    zero = latest(store, run.id)["zero"][0]
    assert zero is not None
    assert math.copysign(1.0, zero) == 1.0  # no negative zero (SQLite cannot keep one)
    details = store.run_details(run.id)
    assert details["summary"] == summary  # the summary itself is kept as given
    assert details["metrics"]["loss"] == {"step": None, "value": None}
    assert details["metrics"]["acc"] == {"step": None, "value": 0.9}
    assert details["metrics"]["kept"] == {"step": 3, "value": 7.0}
    assert details["metric_points"] == 5
    assert resolve(store, run.ref).metrics["loss"] is None  # type: ignore[union-attr]
    assert_healthy(store)

    # a late batch is newer than the summary: it overrides it again
    lin.log_metrics(run, {"loss": 0.25}, step=2)
    assert latest(store, run.id)["loss"] == (0.25, 2)
    assert store.run_details(run.id)["metric_points"] == 6
    assert_healthy(store)


def test_metric_values_at_the_edges_of_float_verify(store: Store) -> None:
    """Values both backends must store exactly as the replay does (incl. NaN and -0.0)."""
    run = Lineal(store).start_run("edge-values")
    values = [
        -0.0,
        0.0,
        5e-324,
        -5e-324,
        2.2250738585072014e-308,
        1.7976931348623157e308,
        -1.7976931348623157e308,
        0.1,
        2**53 + 1,
        -(2**62),
        math.nan,
        -math.nan,
        math.inf,
        -math.inf,
    ]
    everything = series(
        "all",
        range(len(values)),
        values,
        [math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308, *values[6:]],
    )
    # each value once as the latest of its own key, so that run_metrics holds every one
    ones = [series(f"v{n}", [n], [value]) for n, value in enumerate(values)]
    steps = series("steps", [-(2**63), 0, 2**63 - 1], [1.0, 2.0, 3.0])
    op = MetricsBatch(run=run.id, series=(everything, *ones, steps))
    record = store.append(op)[0]
    assert_healthy(store)

    # the ledger keeps every bit, NaN and the sign of zero included
    payload = next(store.records(after=record.seq - 1)).payload
    assert payload is not None
    back = MetricsBatch.from_payload(canonical.decode(payload))
    assert back == op
    assert math.copysign(1.0, back.series[0].values[0]) == -1.0

    stored = latest(store, run.id)
    for n, value in enumerate(values):
        got, step = stored[f"v{n}"]
        assert step == n
        if math.isnan(value):
            assert got is None  # NaN is stored as NULL on both backends
        else:
            assert got == float(value)  # 2**53 + 1 travels as the nearest float64
            assert math.copysign(1.0, got) == math.copysign(1.0, value + 0.0)
    assert stored["all"] == (-math.inf, len(values) - 1)
    assert stored["steps"] == (3.0, 2**63 - 1)
    # the points come back bit for bit (Series compare by their bytes: NaN equals itself)
    found = store.metric_series(run.id)
    assert found["steps"] == steps
    assert found["all"] == everything
    assert list(found["steps"].steps) == [-(2**63), 0, 2**63 - 1]
    assert [found[f"v{n}"] for n in range(len(values))] == ones

    # the same edges as summary values (the strings stand for the non-finite ones)
    Lineal(store).finish_run(
        run,
        summary={"v0": -0.0, "v1": "nan", "v2": "-inf", "v3": 1.7976931348623157e308},
    )
    assert_healthy(store)


def test_metric_series_thinned_to_max_points_keeps_the_extremes(store: Store) -> None:
    lin = Lineal(store)
    run = lin.start_run("train")
    steps = list(range(1000))
    values = [math.sin(s / 50) for s in steps]
    values[137], values[801] = 9.5, -9.5  # a spike and a dip a plain stride would miss
    store.append(MetricsBatch(run=run.id, series=(series("loss", steps, values),)))
    thin = store.metric_series(run.id, "loss", max_points=40)["loss"]
    assert len(thin.steps) <= 40
    assert thin.steps[0] == 0
    assert thin.steps[-1] == 999
    assert list(thin.steps) == sorted(thin.steps)
    assert {137, 801} <= set(thin.steps)
    assert max(thin.values) == 9.5
    assert min(thin.values) == -9.5
    assert store.metric_series(run.id, "loss", max_points=5000) == store.metric_series(
        run.id, "loss"
    )  # a series that fits comes back whole


def test_a_thinned_read_equals_the_full_read_thinned(store: Store) -> None:
    """Thinning reads only the columns it needs (the values; steps for a range; the kept points'
    times), and answers exactly what thinning the whole read answers, across batches."""
    from lineal.model.series import between, downsample

    lin = Lineal(store)
    run = lin.start_run("train")
    step = 0
    for size in (7, 100, 1, 333, 50, 2):
        steps = list(range(step, step + size))
        loss = [math.nan if s % 17 == 3 else math.cos(s / 9) * (1 + s % 5) for s in steps]
        times = [1000.0 + s / 4 for s in steps]
        acc = [s / 500 for s in steps]
        store.append(
            MetricsBatch(
                run=run.id,
                series=(series("loss", steps, loss, times), series("acc", steps, acc, times)),
            )
        )
        step += size + (size % 3)  # some gaps between batches
    full = store.metric_series(run.id)
    for max_points in (1, 3, 4, 9, 40, 493, 1000):
        for first, last in ((None, None), (0, 99), (50, None), (None, 320), (106, 107), (900, 999)):
            want = {
                key: downsample(part, max_points)
                for key, one in full.items()
                if len(part := between(one, first, last))
            }
            got = store.metric_series(run.id, max_points=max_points, from_step=first, to_step=last)
            assert got == want, (max_points, first, last)
            assert store.metric_series(
                run.id, "loss", max_points=max_points, from_step=first, to_step=last
            ) == {k: v for k, v in want.items() if k == "loss"}
