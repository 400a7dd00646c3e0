"""The Store contract, runs: searching with a parsed filter (latest values, values at a step,
what a run used), liveness and crashed runs, runs and nodes found by their tags.

Runs on every backend of the ``store`` fixture (tests/conftest.py) through the Store protocol
alone; the store starts with alice's ``agent.register`` (record ``origin.seq(1)``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from contract_helpers import T0, T1, assert_healthy, new_run_id, series

from lineal.client import Lineal
from lineal.errors import NotFound
from lineal.model.filters import Field
from lineal.model.filters import parse as parse_filter
from lineal.model.ops import EdgeRecord, MetricsBatch, RunFinish, RunStart, TagSet
from lineal.store import liveness
from lineal.store.base import Store

T2 = "2026-01-01T00:00:02.000000Z"
LATER = "2026-01-01T01:00:00.000000Z"


@pytest.fixture
def runs(store: Store) -> dict[str, str]:
    """Three runs, oldest first: ``a`` used coco@v1 and logged loss at steps 0..10 (0.5 at 5);
    ``b`` used coco@v2, loss 0.3 at step 5, reviewed; ``c`` used nothing, loss at steps 0 and
    10 only, still running. All three are tagged stage=eval; a and b are finished."""
    lin = Lineal(store)
    v1 = lin.record_artifact("dataset", data=b"raw", name="coco")
    v2 = lin.record_artifact("dataset", data=b"clean", name="coco")
    a, b, c = new_run_id(), new_run_id(), new_run_id()
    loss = [1.0 - step / 10 for step in range(11)]
    store.append(
        [
            RunStart(id=a, name="train-a", started=T0, params={"lr": 0.1}, meta={"gpu": "a100"}),
            EdgeRecord(kind="used", parent=v1.node, child=f"run/{a}"),
            MetricsBatch(run=a, series=(series("loss", range(5), loss[:5]),)),
            MetricsBatch(run=a, series=(series("loss", range(5, 11), loss[5:]),)),
            RunFinish(id=a, status="finished", ended=LATER),
            RunStart(id=b, name="train-b", started=T1, params={"lr": 0.01}),
            EdgeRecord(kind="used", parent=v2.node, child=f"run/{b}", role="train"),
            MetricsBatch(run=b, series=(series("loss", [0, 5, 9], [1.0, 0.3, 0.1]),)),
            RunFinish(id=b, status="finished", ended=LATER),
            RunStart(id=c, name="eval-c", started=T2),
            MetricsBatch(run=c, series=(series("loss", [0, 10], [0.9, 0.05]),)),
        ]
    )
    for run in (a, b, c):
        store.append(TagSet(target=f"run/{run}", key="stage", value="eval"))
    store.append(TagSet(target=f"run/{b}", key="reviewed", value="yes"))
    return {"a": a, "b": b, "c": c}


def found(store: Store, text: str | None, **options: Any) -> list[str]:
    expr = None if text is None else parse_filter(text)
    return [run.id for run in store.search_runs(expr, **options)[0]]


def test_search_runs(store: Store, runs: dict[str, str]) -> None:
    a, b, c = runs["a"], runs["b"], runs["c"]
    assert found(store, None) == [c, b, a]  # newest first
    assert found(store, None, limit=2) == [c, b]
    assert found(store, "metrics.loss > 0.01 and metrics.loss < 0.2") == [c, b]  # latest values
    assert found(store, "params.lr = 0.1 and status = finished") == [a]
    assert found(store, 'name ~ "train-*" and tags.stage = eval') == [b, a]
    assert found(store, "tags.reviewed = null") == [c, a]
    assert found(store, "uses(dataset/coco@v1)") == [a]
    assert found(store, "uses(dataset/coco)") == [b, a]  # a bare name: any version
    assert found(store, "uses(dataset/coco, train)") == [b]
    assert found(store, "not uses(dataset/coco)") == [c]
    with pytest.raises(NotFound):
        found(store, "uses(dataset/nope)")

    everything = store.search_runs(None)[0]
    assert [r.metrics for r in everything] == [{"loss": 0.05}, {"loss": 0.1}, {"loss": 0.0}]
    assert everything[2].params == {"lr": 0.1}
    assert everything[2].meta == {"gpu": "a100"}
    assert everything[2].tags == {"stage": "eval"}
    assert store.search_runs(None, with_meta=False)[0][2].meta == {}


def test_search_runs_at_a_step(store: Store, runs: dict[str, str]) -> None:
    a, b, c = runs["a"], runs["b"], runs["c"]
    at_five = Field(scope="metrics", name="loss", step=5)
    matched, values = store.search_runs(parse_filter("metrics.loss@5 < 0.6"))
    assert [r.id for r in matched] == [b, a]
    # c's batch spans step 5 but holds no point there: it has no value at that step
    assert values == {at_five: {a: 0.5, b: 0.3}}
    assert found(store, "metrics.loss@5 < 0.6 and uses(dataset/coco@v1)") == [a]
    assert found(store, "metrics.loss@5 < 0.6 or metrics.loss < 0.07") == [c, b, a]
    assert found(store, "not metrics.loss@5 < 0.4") == [c, a]  # no point: not matches
    assert found(store, "metrics.loss@10 = 0.05") == [c]
    assert found(store, "metrics.loss@10 <= 0.0 and metrics.loss@9 > 0.05") == [a]
    assert found(store, "metrics.loss@11 > 0") == []
    assert found(store, "metrics.loss@5 < 0.6", limit=1) == [b]


def test_crashed_runs_from_heartbeats(store: Store, runs: dict[str, str]) -> None:
    a, c = runs["a"], runs["c"]
    assert store.crashed_runs() == []
    here = liveness.host()
    store.beat(c, here, os.getpid(), liveness.process_start(os.getpid()))
    assert store.crashed_runs() == []  # this process is alive
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    store.forget_beat(c)
    assert store.crashed_runs() == []
    store.beat(c, here, gone.pid, None)
    store.beat(a, here, gone.pid, None)  # a finished run is never crashed
    assert store.crashed_runs() == [c]
    assert found(store, "status = crashed") == [c]
    assert store.search_runs(None)[0][0].status == "crashed"
    assert store.get_run(c).status == "running"  # the record says running: liveness is a view
    store.forget_beat(c)
    assert store.crashed_runs() == []
    assert found(store, "status = running") == [c]
    assert_healthy(store)  # beats are outside the ledger


def test_runs_and_nodes_by_their_tags(store: Store, runs: dict[str, str]) -> None:
    a, b = runs["a"], runs["b"]
    assert store.finished_runs_tagged("stage", "eval", without="reviewed") == [a]
    assert store.finished_runs_tagged("stage", "eval", without="nothing") == [b, a]
    assert store.finished_runs_tagged("stage", "train", without="nothing") == []
    assert store.tag_values_beside("reviewed", where_key="stage", where_value="eval") == ["yes"]
    assert store.tag_values_beside("stage", where_key="stage", where_value="eval") == ["eval"] * 3
    assert store.tag_values_beside("stage", where_key="reviewed", where_value="no") == []
    # current tags only: a removed tag no longer counts
    store.append(TagSet(target=f"run/{b}", key="reviewed", value=None))
    assert store.finished_runs_tagged("stage", "eval", without="reviewed") == [b, a]
    assert store.tag_values_beside("reviewed", where_key="stage", where_value="eval") == []
