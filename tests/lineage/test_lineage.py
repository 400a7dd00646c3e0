"""Lineage queries on real stores: upstream, downstream and path, depth and kind filters, time
travel over a scripted history, a property test against a breadth-first reference, and the
Graph's renderings. Store tests run on SQLite and PostgreSQL alike (the ``store`` fixture).
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lineage_reference import bfs, rows

from lineal.client import Lineal
from lineal.errors import InvalidInput, NotFound
from lineal.ledger.keys import Signer
from lineal.lineage import queries as lq
from lineal.lineage.graph import Graph, Node
from lineal.model.digests import digest_bytes
from lineal.model.entities import Edge, artifact_node, split_node
from lineal.model.ops import (
    AgentRegister,
    AliasSet,
    ArtifactRecord,
    EdgeRecord,
    RunFinish,
    RunStart,
)
from lineal.store.registry import open_store
from lineal.store.sql import lineage_queries as sql
from lineal.store.sql.base import SqlStore

#: Reads SQL internals: runs on the SQL backends of ``store_uri`` only (tests/conftest.py).
pytestmark = pytest.mark.sql

T0 = "2026-01-01T00:00:00.000000Z"
T1 = "2026-01-01T00:10:00.000000Z"


def blob(label: str) -> str:
    return digest_bytes(label.encode())


def rid(number: int) -> str:
    """A fixed run id, so that two stores can hold exactly the same history."""
    return f"01JD3XQ4M5N6P7Q8R9S0T1V2{number:02d}"


def labels(graph: Graph) -> dict[str, int]:
    """label -> depth of every node of an answer."""
    return {node.label: node.depth for node in graph.nodes.values()}


def through(graph: Graph) -> list[tuple[str, str, int]]:
    """(parent, child, hidden nodes between) of each Through link of a filtered answer."""
    return [(t.parent, t.child, t.hidden) for t in graph.through]


# -- a small hand-built graph ----------------------------------------------------------------
#
#   schema/coco ─labeled_with─┐
#   dataset/raw ─derived_from─┴─> dataset/clean ──used(train)──> run train ──> model/det
#   file (no name) ──used(config)──────────────────────────────^   ^            │ used(model)
#   agent/alice ──associated_with──────────────────────────────────┘            v
#                          dataset/clean ──used(eval)──────────────────────> run eval ──> report
TRAIN, EVAL = f"run/{rid(1)}", f"run/{rid(2)}"
CFG = blob("cfg")
#: The named versions of the small graph: each is its own node, KIND/NAME@DIGEST.
NAMED = {"raw": ("dataset", "raw"), "schema": ("schema", "coco"), "clean": ("dataset", "clean"),
         "det": ("model", "det"), "report": ("report", "metrics")}  # fmt: skip


def node(label: str) -> str:
    """The lineage node of a label of the small graph (an unnamed one: its digest)."""
    kind, name = NAMED.get(label, (None, None))
    return blob(label) if kind is None else artifact_node(kind, name, blob(label))


def build_small(store: SqlStore) -> None:
    def art(label: str, kind: str, name: str | None = None) -> None:
        store.append(ArtifactRecord(kind=kind, digest=blob(label), name=name))

    def edge(kind: str, parent: str, child: str, role: str | None = None) -> None:
        store.append(EdgeRecord(kind=kind, parent=parent, child=child, role=role))

    art("raw", "dataset", "raw")
    art("schema", "schema", "coco")
    art("clean", "dataset", "clean")
    art("cfg", "file")
    edge("derived_from", blob("raw"), blob("clean"))
    edge("labeled_with", blob("schema"), blob("clean"))
    store.append(RunStart(id=rid(1), name="train", started=T0))
    edge("used", blob("clean"), TRAIN, "train")
    edge("used", CFG, TRAIN, "config")
    edge("associated_with", "agent/alice", TRAIN)
    art("det", "model", "det")
    edge("generated", TRAIN, blob("det"))
    store.append(RunFinish(id=rid(1), status="finished", ended=T1))
    store.append(RunStart(id=rid(2), name="eval", started=T1))
    edge("used", blob("det"), EVAL, "model")
    edge("used", blob("clean"), EVAL, "eval")
    art("report", "report", "metrics")
    edge("generated", EVAL, blob("report"))
    store.append(AliasSet(kind="model", name="det", alias="production", digest=blob("det")))


UPSTREAM_DET = {
    "model/det@v1": 0,
    TRAIN: 1,
    "dataset/clean@v1": 2,
    CFG: 2,
    "agent/alice": 2,
    "dataset/raw@v1": 3,
    "schema/coco@v1": 3,
}
DOWNSTREAM_RAW = {
    "dataset/raw@v1": 0,
    "dataset/clean@v1": 1,
    TRAIN: 2,
    EVAL: 2,
    "model/det@v1": 3,
    "report/metrics@v1": 3,
}


def test_upstream_with_depth_limits_and_kind_filters(store: SqlStore) -> None:
    build_small(store)
    repo = Lineal(store)
    graph = lq.upstream(repo, "model/det")
    assert labels(graph) == UPSTREAM_DET
    assert graph.roots == (node("det"),)
    assert graph.direction == "upstream"
    assert len(graph.edges) == 6
    assert graph.nodes[TRAIN].status == "finished"
    assert graph.nodes[TRAIN].name == "train"
    assert graph.nodes[node("det")].aliases == ("model/det:production",)
    assert [n.label for n in graph.parents(TRAIN)] == ["agent/alice", "dataset/clean@v1", CFG]
    assert [n.label for n in graph.children(TRAIN)] == ["model/det@v1"]
    for depth in range(5):
        limited = lq.upstream(repo, "model/det:production", depth=depth)
        assert labels(limited) == {k: d for k, d in UPSTREAM_DET.items() if d <= depth}
    datasets = lq.upstream(repo, "model/det", kinds=["dataset"])
    assert labels(datasets) == {"model/det@v1": 0, "dataset/clean@v1": 2, "dataset/raw@v1": 3}
    assert [(e.parent, e.child) for e in datasets.edges] == [(node("raw"), node("clean"))]
    assert through(datasets) == [(node("clean"), node("det"), 1)]
    near = lq.upstream(repo, "model/det", kinds=["agent", "schema"], depth=2)
    assert labels(near) == {"model/det@v1": 0, "agent/alice": 2}
    assert through(near) == [("agent/alice", node("det"), 1)]
    assert labels(lq.upstream(repo, "dataset/raw")) == {"dataset/raw@v1": 0}
    assert labels(lq.upstream(repo, TRAIN, depth=1)) == {
        TRAIN: 0,
        "dataset/clean@v1": 1,
        CFG: 1,
        "agent/alice": 1,
    }


def test_downstream_with_depth_limits_and_kind_filters(store: SqlStore) -> None:
    build_small(store)
    repo = Lineal(store)
    assert labels(lq.downstream(repo, "dataset/raw")) == DOWNSTREAM_RAW
    assert labels(lq.downstream(repo, "dataset/raw", depth=2)) == {
        k: d for k, d in DOWNSTREAM_RAW.items() if d <= 2
    }
    models = lq.downstream(repo, "dataset/raw", kinds=["model"])
    assert labels(models) == {"dataset/raw@v1": 0, "model/det@v1": 3}
    assert models.edges == ()
    assert through(models) == [(node("raw"), node("det"), 2)]
    assert models.nodes[node("det")].aliases == ("model/det:production",)
    made = lq.downstream(repo, "agent/alice", kinds=["model", "report"])
    assert labels(made) == {"agent/alice": 0, "model/det@v1": 2, "report/metrics@v1": 4}
    assert through(made) == [("agent/alice", node("det"), 1), (node("det"), node("report"), 1)]
    assert labels(lq.downstream(repo, CFG[:20])) == {
        CFG: 0,
        TRAIN: 1,
        "model/det@v1": 2,
        EVAL: 3,
        "report/metrics@v1": 4,
    }


def test_path_keeps_only_nodes_between_the_ends(store: SqlStore) -> None:
    build_small(store)
    repo = Lineal(store)
    graph = lq.path(repo, "dataset/raw", "report/metrics")
    assert labels(graph) == DOWNSTREAM_RAW
    assert graph.direction == "path"
    assert labels(lq.path(repo, "schema/coco", "model/det:production")) == {
        "schema/coco@v1": 0,
        "dataset/clean@v1": 1,
        TRAIN: 2,
        "model/det@v1": 3,
    }
    assert len(lq.path(repo, "schema/coco", "model/det").edges) == 3
    assert lq.path(repo, "model/det", "dataset/raw").nodes == {}
    assert labels(lq.path(repo, "dataset/raw", "dataset/raw")) == {"dataset/raw@v1": 0}
    assert sql.path_nodes(store.sql(), blob("cfg"), EVAL) == sorted([CFG, TRAIN, node("det"), EVAL])


def test_edges_among_and_node_rows_as_of_a_seq(store: SqlStore) -> None:
    build_small(store)
    db = store.sql()
    among = sql.edges_among(db, [node("raw"), node("clean"), TRAIN, node("schema")])
    assert [(e.kind, e.parent, e.child, e.role) for e in among] == [
        ("derived_from", node("raw"), node("clean"), None),
        ("labeled_with", node("schema"), node("clean"), None),
        ("used", node("clean"), TRAIN, "train"),
    ]
    assert [e.seq for e in sql.edges_among(db, [node("raw"), node("clean")], as_of=5)] == []
    ids = [node("det"), TRAIN, EVAL, "agent/alice", CFG]
    then = sql.node_rows(db, ids, as_of=13)  # det generated, train not finished, no eval yet
    assert then == {
        node("det"): sql.NodeRow(node("det"), "artifact", "model", "det", 1, None, ()),
        TRAIN: sql.NodeRow(TRAIN, "run", "run", "train", None, "running"),
        "agent/alice": sql.NodeRow("agent/alice", "agent", "agent", "alice"),
        CFG: sql.NodeRow(CFG, "artifact", "file"),
    }
    now = sql.node_rows(db, ids)
    assert now[node("det")].aliases == ("model/det:production",)
    assert (now[TRAIN].status, now[EVAL].status) == ("finished", "running")


def test_bad_queries_say_what_to_do(store: SqlStore) -> None:
    build_small(store)
    repo = Lineal(store)
    with pytest.raises(NotFound, match="no dataset named 'nope'"):
        lq.upstream(repo, "dataset/nope")
    with pytest.raises(
        NotFound, match="has no alias 'staging'; it has model/det:production"
    ) as unknown:
        lq.downstream(repo, "model/det:staging")
    assert unknown.value.hint == "set it with `lineal alias set model/det@vN staging`"
    with pytest.raises(NotFound, match="no agent/bob"):
        lq.downstream(repo, "agent/bob")
    with pytest.raises(InvalidInput, match="bad reference"):
        lq.upstream(repo, "datset/raw")
    with pytest.raises(InvalidInput, match="bad kind 'modle'") as caught:
        lq.downstream(repo, "dataset/raw", kinds=["modle"])
    assert caught.value.hint
    for digest in ("sha256:" + "ab" * 32, "sha256:" + "ab" * 31 + "cd"):
        store.append(ArtifactRecord(kind="file", digest=digest))
    with pytest.raises(InvalidInput, match="ambiguous"):
        lq.upstream(repo, "sha256:abababab")
    assert lq.upstream(repo, "sha256:" + "ab" * 31 + "c").roots == ("sha256:" + "ab" * 31 + "cd",)
    with pytest.raises(InvalidInput, match="bad depth -1"):
        lq.upstream(repo, "model/det", depth=-1)
    for moment in ("yesterday", "2026-13-01", -1, 10_000, True, 1.5):
        with pytest.raises(InvalidInput, match="bad as-of") as bad:
            lq.upstream(repo, "model/det", as_of=moment)  # type: ignore[arg-type]
        assert bad.value.hint


def test_sqlite_and_postgres_give_identical_answers(
    tmp_path: Path, pg_uri: str, signer: Signer
) -> None:
    answers = []
    for uri in (f"sqlite:///{tmp_path / 'lineal.db'}", pg_uri):
        store = open_store(uri, signer, create=True)
        try:
            store.append(AgentRegister(name=signer.name, public_key=signer.public_key))
            build_small(store)
            repo = Lineal(store)
            graphs = [
                lq.upstream(repo, "model/det"),
                lq.upstream(repo, "report/metrics", depth=3, kinds=["run", "dataset"]),
                lq.downstream(repo, "dataset/raw"),
                lq.downstream(repo, "agent/alice", as_of=12),
                lq.path(repo, "dataset/raw", "report/metrics"),
            ]
            answers.append([(g.as_dict(), g.to_tree(), g.to_dot(), g.to_mermaid()) for g in graphs])
        finally:
            store.close()
    assert answers[0] == answers[1]


# -- time travel -----------------------------------------------------------------------------
class History:
    """A scripted history and a plain-Python model of what held after each seq."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.repo = Lineal(store)
        self.versions: list[tuple[int, str, str]] = []  # (seq, name, node)
        self.edges: list[tuple[int, str, str]] = []  # (seq, parent, child)
        self.aliases: list[tuple[int, str, str | None]] = []  # (seq, alias, node)
        self.finished: dict[str, int] = {}  # run node -> seq

    def head(self) -> int:
        return self.store.head()[0]

    def artifact(self, kind: str, name: str, label: str) -> str:
        made = self.repo.record_artifact(kind, digest=blob(label), name=name)
        self.versions.append((self.head(), f"{kind}/{name}", made.node))
        return made.node

    def run(self) -> str:
        return f"run/{self.repo.start_run('train').id}"

    def link(self, kind: str, parent: str, child: str) -> None:
        self.repo.link(kind, parent, child)
        self.edges.append((self.head(), parent, child))

    def finish(self, run: str) -> None:
        self.repo.finish_run(run)
        self.finished[run] = self.head()

    def alias(self, alias: str, node: str | None) -> None:
        digest = None if node is None else split_node(node)[2]
        self.store.append(AliasSet(kind="model", name="m", alias=alias, digest=digest))
        self.aliases.append((self.head(), alias, node))

    # -- the model ------------------------------------------------------------------------
    def versions_at(self, name: str, seq: int) -> list[str]:
        return [d for s, n, d in self.versions if n == name and s <= seq]

    def alias_at(self, alias: str, seq: int) -> str | None:
        held = [d for s, a, d in self.aliases if a == alias and s <= seq]
        return held[-1] if held else None

    def reach(self, starts: Iterable[str], seq: int, *, up: bool) -> set[str]:
        found, queue = set(starts), deque(starts)
        while queue:
            node = queue.popleft()
            for s, parent, child in self.edges:
                near, far = (child, parent) if up else (parent, child)
                if s <= seq and near == node and far not in found:
                    found.add(far)
                    queue.append(far)
        return found


def script(h: History) -> dict[str, str]:
    d1 = h.artifact("dataset", "d", "d1")
    run1 = h.run()
    h.link("used", d1, run1)
    m1 = h.artifact("model", "m", "m1")
    h.link("generated", run1, m1)
    h.finish(run1)
    h.alias("production", m1)
    h.repo.set_tag(m1, "stage", "prod")
    d2 = h.artifact("dataset", "d", "d2")
    h.link("derived_from", d1, d2)
    run2 = h.run()
    h.link("used", d2, run2)
    m2 = h.artifact("model", "m", "m2")
    h.link("generated", run2, m2)
    h.link("derived_from", m1, m2)
    h.finish(run2)
    h.alias("production", m2)
    h.alias("staging", m1)
    h.repo.set_tag(m1, "stage", "archived")
    h.alias("staging", None)
    return {"d1": d1, "d2": d2, "m1": m1, "m2": m2, "run1": run1, "run2": run2}


def test_time_travel_replays_every_step_of_a_history(store: SqlStore) -> None:
    h = History(store)
    ids = script(h)
    repo = h.repo
    for seq in range(h.head() + 1):
        production = h.alias_at("production", seq)
        if production is None:
            with pytest.raises(NotFound, match=r"did not exist yet|does not exist|no model"):
                lq.upstream(repo, "model/m:production", as_of=seq)
        else:
            answer = lq.upstream(repo, "model/m:production", as_of=seq)
            assert answer.roots == (production,)
            assert set(answer.nodes) == h.reach([production], seq, up=True)
            assert answer.as_of == seq
        models = h.versions_at("model/m", seq)
        if models:
            up = lq.upstream(repo, "model/m", as_of=seq)
            assert up.roots == (models[-1],)
            assert set(up.nodes) == h.reach([models[-1]], seq, up=True)
            assert {e.seq for e in up.edges} <= set(range(seq + 1))
        else:
            with pytest.raises(NotFound):
                lq.upstream(repo, "model/m", as_of=seq)
        datasets = h.versions_at("dataset/d", seq)
        if not datasets:
            with pytest.raises(NotFound):
                lq.downstream(repo, "dataset/d", as_of=seq)
            continue
        down = lq.downstream(repo, "dataset/d", as_of=seq)
        assert down.roots == tuple(datasets)
        assert set(down.nodes) == h.reach(datasets, seq, up=False)
        for node in down.nodes.values():
            if node.kind == "model":
                held = [f"model/m:{a}" for a in ("production", "staging")]
                expected = tuple(a for a in held if h.alias_at(a[8:], seq) == node.id)
                assert node.aliases == expected, (seq, node)
                assert node.label == f"model/m@v{h.versions_at('model/m', seq).index(node.id) + 1}"
            if node.type == "run":
                done = h.finished.get(node.id, seq + 1) <= seq
                assert node.status == ("finished" if done else "running"), (seq, node)
    # Spot checks against the story as told.
    first_alias = next(s for s, a, _ in h.aliases if a == "production")
    before_v2 = next(s for s, n, d in h.versions if d == ids["m2"]) - 1
    graph = lq.downstream(repo, "dataset/d@v1", kinds=["model"], as_of=before_v2)
    assert labels(graph) == {"dataset/d@v1": 0, "model/m@v1": 2}
    assert graph.nodes[ids["m1"]].aliases == ("model/m:production",)
    now = lq.downstream(repo, "dataset/d@v1", kinds=["model"])
    assert labels(now) == {"dataset/d@v1": 0, "model/m@v1": 2, "model/m@v2": 3}
    assert now.nodes[ids["m1"]].aliases == ()
    assert now.nodes[ids["m2"]].aliases == ("model/m:production",)
    assert lq.upstream(repo, "model/m:production", as_of=first_alias).roots == (ids["m1"],)
    with pytest.raises(NotFound, match="did not exist yet at seq 3"):
        lq.upstream(repo, "model/m@v1", as_of=3)


def test_as_of_reads_seqs_and_times(store: SqlStore) -> None:
    h = History(store)
    script(h)
    repo = h.repo
    head = h.head()
    assert lq.as_of_seq(repo, None) is None
    assert lq.as_of_seq(repo, 0) == 0
    assert lq.as_of_seq(repo, head) == head
    assert lq.as_of_seq(repo, f" {head} ") == head
    assert lq.as_of_seq(repo, "1999-01-01") == 0
    assert lq.as_of_seq(repo, "2999-01-01T00:00:00+02:00") == head
    records = list(store.records())
    for record in records:
        found = lq.as_of_seq(repo, record.time)
        assert found is not None
        assert found >= record.seq
        assert records[found - 1].time == record.time  # the last record of that moment
        assert lq.as_of_seq(repo, record.time.replace("Z", "+00:00")) == found


def test_a_plain_date_means_the_end_of_that_day(store: SqlStore) -> None:
    # It meant the day's first moment: a store written that day looked empty as of that day.
    h = History(store)
    script(h)
    records = list(store.records())
    for record in records:
        day = record.time[:10]
        last = max(r.seq for r in records if r.time[:10] <= day)
        assert lq.as_of_seq(h.repo, day) == last
        assert lq.as_of_seq(h.repo, f" {day} ") == last
    first = records[0].time[:10]
    before = (date.fromisoformat(first) - timedelta(days=1)).isoformat()
    assert lq.as_of_seq(h.repo, before) == 0
    # A time of day is still that moment, to the microsecond.
    assert lq.as_of_seq(h.repo, f"{first}T00:00:00Z") == sum(
        r.time < f"{first}T00:00:00.000001Z" for r in records
    )


# -- the property: the SQL agrees with a breadth-first walk in Python -------------------------
_counter = itertools.count()

dags = st.integers(min_value=1, max_value=12).flatmap(
    lambda n: st.tuples(
        st.lists(st.booleans(), min_size=n, max_size=n),  # is each node a run?
        st.lists(  # is there an edge i -> j, for each i < j (half of them: long paths)
            st.booleans(), min_size=n * (n - 1) // 2, max_size=n * (n - 1) // 2
        ).map(
            lambda bits: {
                pair
                for pair, bit in zip(itertools.combinations(range(n), 2), bits, strict=True)
                if bit
            }
        ),
        st.integers(0, n - 1),
        st.integers(0, n - 1),
        st.one_of(st.none(), st.integers(0, 4)),
        st.integers(0, 70),  # how many of the edges are visible (by seq)
    )
)

_EDGE_KIND = {
    (False, False): "derived_from",
    (False, True): "used",
    (True, False): "generated",
    (True, True): "informed_by",
}


def test_closures_agree_with_a_python_bfs(store: SqlStore) -> None:
    repo = Lineal(store)

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(dags)
    def check(case: tuple[list[bool], set[tuple[int, int]], int, int, int | None, int]) -> None:
        runs, pairs, a, b, depth, visible = case
        tag = next(_counter)
        ids = [
            f"run/01JD3XQ4M5{tag:014d}{i:02d}" if is_run else blob(f"{tag}-{i}")
            for i, is_run in enumerate(runs)
        ]
        ops: list[RunStart | ArtifactRecord | EdgeRecord] = [
            RunStart(id=node[4:], name="r", started=T0)
            if node.startswith("run/")
            else ArtifactRecord(kind="file", digest=node)
            for node in ids
        ]
        ordered = sorted(pairs)
        ops += [
            EdgeRecord(kind=_EDGE_KIND[runs[p], runs[c]], parent=ids[p], child=ids[c])
            for p, c in ordered
        ]
        records = store.append(ops)
        cutoff = records[len(ids) - 1 + min(visible, len(ordered))].seq
        edges = [(ids[p], ids[c]) for p, c in ordered[: min(visible, len(ordered))]]
        flipped = [(c, p) for p, c in edges]
        db = store.sql()
        for as_of in (cutoff, None if visible >= len(ordered) else cutoff):
            down = sql.downstream_nodes(db, [ids[a]], depth=depth, as_of=as_of)
            assert dict(down) == bfs([ids[a]], edges, depth)
            up = sql.upstream_nodes(db, [ids[b]], depth=depth, as_of=as_of)
            assert dict(up) == bfs([ids[b]], flipped, depth)
            assert down == sorted(down, key=lambda item: (item[1], item[0]))
        on_path = set(bfs([ids[a]], edges, None)) & set(bfs([ids[b]], flipped, None))
        assert set(sql.path_nodes(db, ids[a], ids[b], cutoff)) == on_path
        graph = lq.downstream(repo, ids[a], depth=depth, as_of=cutoff)
        assert {i: n.depth for i, n in graph.nodes.items()} == bfs([ids[a]], edges, depth)
        expected_edges = {(p, c) for p, c in edges if p in graph.nodes and c in graph.nodes}
        assert {(e.parent, e.child) for e in graph.edges} == expected_edges

    check()


# -- the Graph and its renderings ------------------------------------------------------------
def _node(node_id: str, label: str, depth: int, kind: str = "dataset") -> Node:
    node_type = "run" if node_id.startswith("run/") else "artifact"
    return Node(
        id=node_id,
        type=node_type,
        kind="run" if node_type == "run" else kind,
        label=label,
        name="r" if node_type == "run" else label.partition("/")[2].partition("@")[0],
        status="finished" if node_type == "run" else None,
        depth=depth,
    )


def diamond() -> Graph:
    """model <- run <- (a, b), a <- raw, b <- raw, raw <- src: raw's subtree is shared."""
    model, run, a, b, raw, src = blob("model"), TRAIN, blob("a"), blob("b"), blob("r"), blob("s")
    nodes = [
        _node(model, "model/m@v1", 0, "model"),
        _node(run, run, 1),
        _node(a, "dataset/a@v1", 2),
        _node(b, "dataset/b@v1", 2),
        _node(raw, "dataset/raw@v1", 3),
        _node(src, "dataset/src@v1", 4),
    ]
    edges = [
        Edge(kind="generated", parent=run, child=model, seq=9),
        Edge(kind="used", parent=a, child=run, role="train", seq=8),
        Edge(kind="used", parent=b, child=run, role="eval", seq=7),
        Edge(kind="derived_from", parent=raw, child=a, seq=6),
        Edge(kind="derived_from", parent=raw, child=b, seq=5),
        Edge(kind="derived_from", parent=src, child=raw, seq=4),
    ]
    return Graph(
        roots=(model,), direction="upstream", nodes={n.id: n for n in nodes}, edges=tuple(edges)
    )


def test_tree_prints_a_shared_subtree_once() -> None:
    assert diamond().to_tree() == [
        "model/m@v1",
        f"└── generated: {TRAIN} r (finished)",
        "    ├── used (train): dataset/a@v1",
        "    │   └── derived_from: dataset/raw@v1",
        "    │       └── derived_from: dataset/src@v1",
        "    └── used (eval): dataset/b@v1",
        "        └── derived_from: (see above: dataset/raw@v1)",
        "6 nodes (4 dataset, 1 model, 1 run), 6 edges",
    ]


def test_graph_helpers_and_renderings() -> None:
    graph = diamond()
    assert [n.label for n in graph.walk()] == [
        "model/m@v1",
        TRAIN,
        "dataset/a@v1",
        "dataset/b@v1",
        "dataset/raw@v1",
        "dataset/src@v1",
    ]
    assert graph.counts() == {"dataset": 4, "model": 1, "run": 1}
    assert [n.label for n in graph.parents(TRAIN)] == ["dataset/a@v1", "dataset/b@v1"]
    assert [n.label for n in graph.children(blob("r"))] == ["dataset/a@v1", "dataset/b@v1"]
    data = graph.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert [n["label"] for n in data["nodes"]][:2] == ["model/m@v1", TRAIN]
    assert len(data["edges"]) == 6
    dot = graph.to_dot()
    assert dot.startswith("digraph lineage {")
    assert dot.count(" -> ") == 6
    assert f'"{TRAIN}" -> "{blob("model")}" [label="generated"];' in dot
    mermaid = graph.to_mermaid()
    assert mermaid.startswith("flowchart LR\n")
    assert '  n0["model/m@v1"]' in mermaid
    assert mermaid.count(" -->|") == 6
    only = graph.only(["dataset"])
    assert set(only.nodes) == {blob(x) for x in ("model", "a", "b", "r", "s")}
    assert len(only.edges) == 3
    assert through(only) == [(blob("a"), blob("model"), 1), (blob("b"), blob("model"), 1)]
    assert only.to_tree() == [
        "model/m@v1",
        "├── ⋯ via 1 hidden: dataset/a@v1",
        "│   └── derived_from: dataset/raw@v1",
        "│       └── derived_from: dataset/src@v1",
        "└── ⋯ via 1 hidden: dataset/b@v1",
        "    └── derived_from: (see above: dataset/raw@v1)",
        "5 nodes (4 dataset, 1 model), 5 edges (3 real, 2 through hidden nodes)",
    ]
    assert [n.label for n in only.parents(blob("model"))] == ["dataset/a@v1", "dataset/b@v1"]
    assert only.as_dict()["edges"][-1] == {
        "kind": "via",
        "parent": blob("b"),
        "child": blob("model"),
        "role": None,
        "seq": None,
        "through": 1,
    }
    dashed = f'"{blob("a")}" -> "{blob("model")}" [label="via 1 hidden", style=dashed];'
    assert dashed in only.to_dot()
    assert only.to_dot().count(" -> ") == 5
    assert only.to_mermaid().count(' -.->|"via 1 hidden"| n0') == 2
    for shown in (graph, only):  # real edges, then edges and Through links
        columns = shown.as_columns()
        assert rows(columns) == shown.as_dict()
        assert json.loads(json.dumps(columns)) == columns
    assert only.as_columns()["edges"]["through"] == [None, None, None, 1, 1]
    assert only.as_columns()["edges"]["parent"][-1] == [n.id for n in only.walk()].index(blob("b"))
    with pytest.raises(InvalidInput, match="does not hold"):
        Graph(roots=("x",), direction="upstream", nodes={})
    with pytest.raises(InvalidInput, match="bad direction"):
        Graph(roots=(), direction="sideways", nodes={})


def test_a_thousand_node_tree_stays_readable() -> None:
    root = blob("root")
    nodes = {root: _node(root, "dataset/root@v1", 0)}
    edges = []
    parents = [root]
    for i in range(1000):  # a wide and deep answer: each node feeds the next few
        node_id = blob(f"n{i}")
        nodes[node_id] = _node(node_id, f"dataset/n{i}@v1", 1 + i // 10)
        parent = parents[max(0, len(parents) - 1 - i % 3)]
        edges.append(Edge(kind="derived_from", parent=parent, child=node_id, seq=i + 1))
        parents.append(node_id)
    graph = Graph(roots=(root,), direction="downstream", nodes=nodes, edges=tuple(edges))
    lines = graph.to_tree()
    assert len(lines) <= 202
    assert max(len(line) for line in lines) < 200
    assert lines[-1] == "1001 nodes (1001 dataset), 1000 edges"
    assert lines[-2].startswith("… ")
    assert "more nodes not shown" in lines[-2]
    wide = Graph(
        roots=(root,),
        direction="downstream",
        nodes={root: nodes[root], **{blob(f"n{i}"): nodes[blob(f"n{i}")] for i in range(100)}},
        edges=tuple(
            Edge(kind="derived_from", parent=root, child=blob(f"n{i}"), seq=i) for i in range(100)
        ),
    )
    assert "└── … 60 more" in wide.to_tree()


def test_long_id_lists_are_chunked_without_changing_answers(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_small(store)
    for label in ("raw2", "raw3"):
        store.append(ArtifactRecord(kind="dataset", digest=blob(label), name="raw"))
        store.append(EdgeRecord(kind="derived_from", parent=blob(label), child=blob("clean")))
    repo = Lineal(store)

    def answers() -> list[dict[str, object]]:
        return [
            lq.downstream(repo, "dataset/raw").as_dict(),
            lq.downstream(repo, "dataset/raw", depth=2, as_of=20).as_dict(),
            lq.upstream(repo, "report/metrics").as_dict(),
            lq.path(repo, "dataset/raw", "model/det").as_dict(),
        ]

    expected = answers()
    assert expected[0]["roots"] == [
        node("raw"),
        *(f"dataset/raw@{blob(x)}" for x in ("raw2", "raw3")),
    ]
    monkeypatch.setattr(sql, "CHUNK", 1)
    assert answers() == expected
