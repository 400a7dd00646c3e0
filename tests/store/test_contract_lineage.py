"""The Store contract, lineage: edges, what is up- and downstream, paths, and every question
asked as of an earlier seq (references, aliases, agents, a run's status, a moment in time).

Runs on every backend of the ``store`` fixture (tests/conftest.py) through the Store protocol
alone; the store starts with alice's ``agent.register`` (record ``origin.seq(1)``).
"""

from __future__ import annotations

from typing import Any

import pytest
from contract_helpers import alias_at, assert_healthy

from lineal.client import Lineal
from lineal.errors import NotFound
from lineal.model.refs import parse
from lineal.store.base import NodeRow, Store
from store_origin import Origin


@pytest.fixture
def graph(store: Store) -> dict[str, Any]:
    """raw -derived_from-> clean -used-> run -generated-> model, alice associated with the run;
    then (after ``mid``) an alias on raw, a third coco version and the run finished."""
    lin = Lineal(store)
    raw = lin.record_artifact("dataset", data=b"raw", name="coco")
    clean = lin.record_artifact("dataset", data=b"clean", name="coco")
    run = lin.start_run("train")
    edges = [
        lin.link("derived_from", raw, clean),
        lin.link("used", clean, run, role="train"),
    ]
    model = lin.record_artifact("model", data=b"weights", name="det")
    edges += [lin.link("generated", run, model), lin.link("associated_with", "agent/alice", run)]
    mid = store.head()[0]
    lin.set_alias("dataset/coco@v1", "prod")
    third = lin.record_artifact("dataset", data=b"third", name="coco")
    lin.finish_run(run)
    return {
        "raw": raw.node,
        "clean": clean.node,
        "run": run.ref,
        "model": model.node,
        "third": third.node,
        "edges": edges,
        "mid": mid,
        "run_seq": run.seq,
    }


def test_edges_of_a_node(store: Store, graph: dict[str, Any]) -> None:
    e = graph["edges"]
    assert store.edges(graph["run"]) == [e[1], e[2], e[3]]
    assert store.edges(graph["raw"]) == [e[0]]
    assert e[1].role == "train"
    assert store.edges(graph["third"]) == []


def test_subgraph_up_and_down(store: Store, graph: dict[str, Any]) -> None:
    g, e = graph, graph["edges"]
    depths, edges, nodes = store.subgraph([g["model"]], upstream=True)
    assert depths == {g["model"]: 0, g["run"]: 1, g["clean"]: 2, "agent/alice": 2, g["raw"]: 3}
    assert edges == e  # in recording order
    assert nodes[g["model"]] == NodeRow(g["model"], "artifact", "model", "det", 1)
    assert nodes[g["raw"]] == NodeRow(
        g["raw"], "artifact", "dataset", "coco", 1, None, ("dataset/coco:prod",)
    )
    assert nodes[g["run"]] == NodeRow(g["run"], "run", "run", "train", None, "finished")
    assert nodes["agent/alice"] == NodeRow("agent/alice", "agent", "agent", "alice")

    depths, edges, _ = store.subgraph([g["model"]], upstream=True, depth=1)
    assert depths == {g["model"]: 0, g["run"]: 1}
    assert edges == [e[2]]

    depths, edges, nodes = store.subgraph([g["raw"]], upstream=False)
    assert depths == {g["raw"]: 0, g["clean"]: 1, g["run"]: 2, g["model"]: 3}
    assert edges == e[:3]
    assert set(nodes) == set(depths)
    # several roots, a node unknown to the graph comes back alone
    depths, _, _ = store.subgraph([g["third"], g["clean"]], upstream=False)
    assert depths == {g["third"]: 0, g["clean"]: 0, g["run"]: 1, g["model"]: 2}


def test_closure_is_one_read_of_roots_subgraph_and_crashed_runs(
    store: Store, graph: dict[str, Any]
) -> None:
    g = graph
    roots, answer, crashed = store.closure("model/det", upstream=True)
    assert roots == [g["model"]]
    assert answer.answer() == store.subgraph([g["model"]], upstream=True)
    assert crashed == []  # the run finished: no liveness asked
    roots, answer, _ = store.closure("dataset/coco", upstream=False, depth=1)
    assert roots == store.resolve_at(parse("dataset/coco"), every_version=True)
    assert len(roots) == 3
    assert answer.answer() == store.subgraph(roots, upstream=False, depth=1)
    roots, answer, _ = store.closure("agent/alice", upstream=False)
    assert roots == ["agent/alice"]
    assert set(answer.id) == {"agent/alice", g["run"], g["model"]}
    # as of an earlier seq: an alias not yet set is not found, the run was still running
    mid = g["mid"]
    roots, answer, crashed = store.closure("dataset/coco@v2", upstream=False, as_of=mid)
    assert answer.answer() == store.subgraph(roots, upstream=False, as_of=mid)
    assert answer.answer()[2][g["run"]].status == "running"
    assert crashed == []  # a past moment asks no liveness
    with pytest.raises(NotFound):
        store.closure("dataset/coco:prod", upstream=True, as_of=mid)


def test_closure_names_the_crashed_runs_of_its_answer(store: Store) -> None:
    import subprocess
    import sys

    from lineal.store import liveness

    lin = Lineal(store)
    run = lin.start_run("train")
    model = lin.record_artifact("model", data=b"half", name="half")
    lin.link("generated", run, model)
    assert store.closure("model/half", upstream=True)[2] == []
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    store.beat(run.id, liveness.host(), gone.pid, None)
    try:
        assert store.closure("model/half", upstream=True)[2] == [run.id]
    finally:
        store.forget_beat(run.id)


def test_subgraph_as_of_an_earlier_seq(store: Store, graph: dict[str, Any]) -> None:
    g, e = graph, graph["edges"]
    depths, edges, nodes = store.subgraph([g["run"]], upstream=True, as_of=e[1].seq)
    assert depths == {g["run"]: 0, g["clean"]: 1, g["raw"]: 2}  # alice came later
    assert edges == e[:2]
    # as it was then: no alias yet, the run not finished yet
    assert nodes[g["raw"]].aliases == ()
    assert nodes[g["run"]].status == "running"
    _, _, now = store.subgraph([g["run"]], upstream=True)
    assert now[g["run"]].status == "finished"
    assert now[g["raw"]].aliases == ("dataset/coco:prod",)


def test_path_subgraph(store: Store, graph: dict[str, Any]) -> None:
    g, e = graph, graph["edges"]
    depths, edges, nodes = store.path_subgraph([g["raw"]], g["model"]).answer()
    assert depths == {g["raw"]: 0, g["clean"]: 1, g["run"]: 2, g["model"]: 3}
    assert edges == e[:3]  # alice is upstream of the model but on no path from raw
    assert set(nodes) == set(depths)
    depths, edges, _ = store.path_subgraph([g["raw"], "agent/alice"], g["model"]).answer()
    assert set(depths) == {g["raw"], g["clean"], g["run"], g["model"], "agent/alice"}
    assert edges == e
    assert store.path_subgraph([g["model"]], g["raw"]).answer() == ({}, [], {})  # no path upward
    depths, _, _ = store.path_subgraph([g["raw"]], g["model"], as_of=e[1].seq).answer()
    assert depths == {}  # the model was not generated yet


def test_resolve_at(store: Store, graph: dict[str, Any]) -> None:
    g = graph
    assert store.resolve_at(parse("dataset/coco")) == [g["third"]]
    assert store.resolve_at(parse("dataset/coco"), g["mid"]) == [g["clean"]]
    assert store.resolve_at(parse("dataset/coco"), g["mid"], every_version=True) == [
        g["raw"],
        g["clean"],
    ]
    assert store.resolve_at(parse("dataset/coco"), every_version=True)[-1] == g["third"]
    assert store.resolve_at(parse("dataset/coco@v1"), g["mid"]) == [g["raw"]]
    assert store.resolve_at(parse(g["run"]), g["run_seq"]) == [g["run"]]
    with pytest.raises(NotFound, match="did not exist yet"):
        store.resolve_at(parse("dataset/coco@v3"), g["mid"])
    with pytest.raises(NotFound, match="did not exist yet"):
        store.resolve_at(parse(g["run"]), g["run_seq"] - 1)
    with pytest.raises(NotFound):
        store.resolve_at(parse("dataset/voc"))
    # an alias as of each moment
    assert alias_at(store, "dataset", "coco", "prod", g["mid"]) is None
    assert alias_at(store, "dataset", "coco", "prod", None) == g["raw"].split("@")[1]
    with pytest.raises(NotFound, match="did not exist yet"):
        store.resolve_at(parse("dataset/coco:prod"), g["mid"])


def test_agent_at(store: Store, origin: Origin) -> None:
    assert store.agent_at("alice") == "agent/alice"
    assert store.agent_at("alice", origin.seq(1)) == "agent/alice"
    with pytest.raises(NotFound, match="did not exist yet"):
        store.agent_at("alice", origin.before)
    with pytest.raises(NotFound):
        store.agent_at("bob")


def test_seq_at_time(store: Store, graph: dict[str, Any]) -> None:
    records = list(store.records())
    assert store.seq_at_time("2000-01-01T00:00:00.000000Z") == 0
    assert store.seq_at_time("9999-12-31T23:59:59.999999Z") == store.head()[0]
    for record in records:
        expected = max(r.seq for r in records if r.time <= record.time)
        assert store.seq_at_time(record.time) == expected >= record.seq
    assert_healthy(store)


def test_answers_follow_every_write_and_past_moments_stay(
    store: Store, graph: dict[str, Any]
) -> None:
    """A walk after new edges sees them (the lineage index catches up, on a server too);
    a walk as of an earlier seq still answers as it did then; verify agrees afterwards."""
    g = graph
    before = store.closure("model/det", upstream=True)[1]
    lin = Lineal(store)
    better = lin.record_artifact("model", data=b"better", name="det")
    tune = lin.start_run("tune")
    lin.link("used", g["model"], tune)
    lin.link("generated", tune, better)
    roots, now, _ = store.closure("model/det", upstream=True)
    assert roots == [better.node]
    assert set(now.id) == {better.node, tune.ref, *before.id}
    assert len(now.seq) == len(before.seq) + 2
    assert now.answer() == store.subgraph([better.node], upstream=True)
    head = store.head()[0]
    then = store.closure("model/det@v1", upstream=True, as_of=g["mid"])[1]
    assert then.answer()[0] == before.answer()[0]
    assert store.closure("model/det@v1", upstream=False)[1].id == [
        g["model"],
        tune.ref,
        better.node,
    ]
    depths = store.path_subgraph([g["raw"]], better.node).answer()[0]
    assert depths[better.node] == 5
    assert store.path_subgraph([g["raw"]], better.node, g["mid"]).answer() == ({}, [], {})
    assert store.head()[0] == head
    assert store.verify().ok
