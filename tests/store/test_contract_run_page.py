"""The Store contract, runs tables: a page of runs in any order with the total count, the keys
a runs table can show, and metric points between two steps.

Runs on every backend of the ``store`` fixture (tests/conftest.py) through the Store protocol
alone.
"""

from __future__ import annotations

import math

import pytest
from contract_helpers import series

from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.model import filters
from lineal.model.ops import MetricsBatch
from lineal.registry.aliases import unset_alias
from lineal.store.base import Store


def _runs(store: Store) -> dict[str, str]:
    """Five runs, oldest first: a..e, with lr, acc and a tag on some of them."""
    lin = Lineal(store)
    made: dict[str, str] = {}
    for name, lr, acc, team in (
        ("a", 0.1, 0.5, "x"),
        ("b", 0.3, 0.9, None),
        ("c", None, 0.7, "y"),
        ("d", 0.2, None, "x"),
        ("e", "auto", math.nan, None),
    ):
        run = lin.start_run(name, params={} if lr is None else {"lr": lr})
        if acc is not None:
            lin.log_metrics(run, {"acc": acc}, step=1)
            lin.log_metrics(run, {"acc": acc}, step=2)
        if team is not None:
            lin.set_tag(run, "team", team)
        if name != "e":
            lin.finish_run(run)
        made[name] = run.id
    return made


def names(page: tuple[list, int]) -> list[str]:
    return [run.name for run in page[0]]


def test_a_page_of_runs_in_any_order_with_the_total(store: Store) -> None:
    _runs(store)
    assert names(store.runs_page(None)) == ["e", "d", "c", "b", "a"]  # newest first
    assert store.runs_page(None)[1] == 5
    assert names(store.runs_page(None, sort="started")) == ["a", "b", "c", "d", "e"]
    # missing (and NaN, stored as no value) sort last either way
    assert names(store.runs_page(None, sort="-metrics.acc")) == ["b", "c", "a", "e", "d"]
    assert names(store.runs_page(None, sort="metrics.acc"))[:3] == ["a", "c", "b"]
    # params: numbers in order, then other values, then runs without the param
    assert names(store.runs_page(None, sort="params.lr")) == ["a", "d", "b", "e", "c"]
    assert names(store.runs_page(None, sort="-params.lr")) == ["b", "d", "a", "e", "c"]
    assert names(store.runs_page(None, sort="tags.team"))[:3] == ["d", "a", "c"]  # ties: newest
    assert names(store.runs_page(None, sort="-name")) == ["e", "d", "c", "b", "a"]
    assert names(store.runs_page(None, sort="status"))[-1] == "e"  # finished < running
    # paging: the total stays, the slice moves
    page, total = store.runs_page(None, sort="-metrics.acc", offset=1, limit=2)
    assert ([run.name for run in page], total) == (["c", "a"], 5)
    assert store.runs_page(None, offset=5) == ([], 5)
    assert store.runs_page(None, offset=50, limit=3) == ([], 5)
    # with a filter, and with a step filter matched exactly
    found = store.runs_page(filters.parse("tags.team = x"), sort="params.lr")
    assert (names(found), found[1]) == (["a", "d"], 2)
    stepped = store.runs_page(filters.parse("metrics.acc@2 > 0.6"), sort="metrics.acc", limit=1)
    assert (names(stepped), stepped[1]) == (["c"], 2)
    # a page holds the runs in full, as search_runs lists them
    listed = {run.id: run for run in store.search_runs(None)[0]}
    assert all(run == listed[run.id] for run in store.runs_page(None, sort="params.lr")[0])


def test_the_keys_a_runs_table_can_show(store: Store) -> None:
    assert store.run_keys() == {"params": [], "metrics": [], "tags": []}
    _runs(store)
    assert store.run_keys() == {"params": ["lr"], "metrics": ["acc"], "tags": ["team"]}


@pytest.mark.parametrize(
    ("sort", "problem"), [("colour", "not a run column"), ("metrics.", "no metrics key")]
)
def test_a_bad_sort_or_offset_is_refused(store: Store, sort: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        store.runs_page(None, sort=sort)


def test_metric_points_between_two_steps(store: Store) -> None:
    lin = Lineal(store)
    run = lin.start_run("long")
    for first in range(0, 300, 100):  # three batches: steps 0-99, 100-199, 200-299
        steps = list(range(first, first + 100))
        store.append(
            MetricsBatch(
                run=run.id,
                series=(
                    series("loss", steps, [float(s) for s in steps], [1.0] * 100),
                    series("acc", steps[:1], [0.5], [1.0]),
                ),
            )
        )
    part = store.metric_series(run.id, "loss", from_step=150, to_step=210)
    assert list(part["loss"].steps) == list(range(150, 211))
    assert list(part["loss"].values) == [float(s) for s in range(150, 211)]
    assert list(store.metric_series(run.id, from_step=295)["loss"].steps) == list(range(295, 300))
    assert list(store.metric_series(run.id, to_step=2)["loss"].steps) == [0, 1, 2]
    # a key without points in the range is left out; thinning applies within the range
    assert set(store.metric_series(run.id, from_step=1, to_step=99)) == {"loss"}
    assert set(store.metric_series(run.id, from_step=100, to_step=100)) == {"loss", "acc"}
    thin = store.metric_series(run.id, "loss", max_points=10, from_step=100, to_step=299)
    assert len(thin["loss"]) == 10
    assert (thin["loss"].steps[0], thin["loss"].steps[-1]) == (100, 299)
    assert store.metric_series(run.id, from_step=400) == {}


def test_the_timeline_events_newest_first(store: Store) -> None:
    lin = Lineal(store)
    first = lin.record_artifact("dataset", data=b"one", name="raw")
    lin.record_artifact("file", data=b"unnamed")  # no version: no event
    lin.record_artifact("dataset", data=b"two", name="raw")
    lin.record_artifact("dataset", data=b"one", name="raw")  # the same bytes: no new version
    lin.set_alias("dataset/raw@v1", "good")
    lin.set_alias("dataset/raw@v2", "good")
    unset_alias(lin, "dataset/raw", "good")
    cleared = store.head()[0]
    run = lin.start_run("train")
    events = store.timeline_events(["versions", "aliases", "promotions", "approvals", "runs"], 50)
    seqs = [row["seq"] for row in events]
    assert seqs == sorted(seqs, reverse=True)
    assert [(r["event"], r.get("version"), r.get("alias"), r.get("digest")) for r in events] == [
        ("runs", None, None, None),
        ("aliases", None, "good", None),  # cleared
        ("aliases", None, "good", events[2]["digest"]),
        ("aliases", None, "good", first.digest),
        ("versions", 2, None, events[4]["digest"]),
        ("versions", 1, None, first.digest),
    ]
    assert events[0]["id"] == run.id
    assert events[1]["seq"] == cleared
    assert all(row["author"] == "alice" and row["time"] for row in events)
    assert len(store.timeline_events(["versions"], 1)) == 1
    with pytest.raises(InvalidInput, match="unknown timeline event 'weather'"):
        store.timeline_events(["weather"], 5)
