"""Kind-filtered lineage answers keep what descends from what exactly: a property test over random
DAGs (reachability among the shown nodes, fewest hidden nodes on each Through link, the tree hangs
every node under one it descends from), and the bug as a user met it, through the real CLI.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lineage_reference import bfs

from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.lineage.graph import Graph, Node
from lineal.lineage.through import Through
from lineal.model.digests import digest_bytes
from lineal.model.entities import Edge

if TYPE_CHECKING:
    from conftest import Cli

KINDS = ("dataset", "model", "schema", "file", "run", "agent")
MIX = (*KINDS, "dataset", "model", "run", "run", "run")  # mostly data, models and runs
EDGE_KIND = {
    ("artifact", "artifact"): "derived_from",
    ("artifact", "run"): "used",
    ("run", "artifact"): "generated",
    ("run", "run"): "informed_by",
    ("agent", "run"): "associated_with",
}
Pair = tuple[str, str]


def _type(kind: str) -> str:
    return kind if kind in ("run", "agent") else "artifact"


def _id(i: int, kind: str) -> str:
    if kind == "run":
        return f"run/01JD3XQ4M5N6P7Q8R9S0T1V2{i:02d}"
    return f"agent/a{i}" if kind == "agent" else digest_bytes(f"n{i}".encode())


def _node(node_id: str, kind: str, i: int, depth: int) -> Node:
    node_type = _type(kind)
    label = f"{kind}/n{i}@v1" if node_type == "artifact" else node_id
    name = {"artifact": f"n{i}", "run": "r", "agent": f"a{i}"}[node_type]
    status = "finished" if node_type == "run" else None
    return Node(
        id=node_id, type=node_type, kind=kind, label=label, name=name, status=status, depth=depth
    )


@st.composite
def answers(draw: st.DrawFn) -> tuple[Graph, set[str], set[str]]:
    """A random lineage answer (upstream or downstream of one or two roots, all the way or to a
    depth) of a random DAG over artifacts of several kinds, runs and agents; two sets of kinds
    to show, the second within the first."""
    n = draw(st.integers(3, 18))
    kinds = draw(st.lists(st.sampled_from(MIX), min_size=n, max_size=n))
    ids = [_id(i, kind) for i, kind in enumerate(kinds)]
    edges: dict[Pair, Edge] = {}
    for c in range(1, n):  # parents come before their children: the graph is acyclic
        for p in draw(st.sets(st.integers(0, c - 1), min_size=1, max_size=3)):
            kind = EDGE_KIND.get((_type(kinds[p]), _type(kinds[c])))
            if kind is not None:
                edges[ids[p], ids[c]] = Edge(kind=kind, parent=ids[p], child=ids[c], seq=len(edges))
    direction = draw(st.sampled_from(["upstream", "downstream"]))
    # Roots near the start of a downstream walk (or the end of an upstream one) reach far.
    near = range(n // 2 + 1) if direction == "downstream" else range(n // 2, n)
    roots = [ids[i] for i in draw(st.sets(st.sampled_from(near), min_size=1, max_size=2))]
    depth = draw(st.one_of(st.none(), st.none(), st.integers(0, 6)))
    onward = [(p, c) if direction == "downstream" else (c, p) for p, c in edges]
    depths = bfs(roots, onward, depth)
    nodes = {i: _node(i, kinds[ids.index(i)], ids.index(i), d) for i, d in depths.items()}
    among = [e for e in edges.values() if e.parent in nodes and e.child in nodes]
    graph = Graph(roots=tuple(roots), direction=direction, nodes=nodes, edges=tuple(among))
    shown = draw(st.sets(st.sampled_from(KINDS), min_size=1, max_size=4))
    narrower = draw(st.sets(st.sampled_from(sorted(shown)))) if shown else set()
    return graph, shown, narrower


def _reach(nodes: Iterable[str], pairs: list[Pair]) -> set[Pair]:
    """Every (ancestor, descendant) pair the parent -> child ``pairs`` join."""
    return {(a, d) for a in nodes for d in bfs([a], pairs, None) if d != a}


def _fewest_hidden(graph: Graph, kept: set[str], p: str, c: str) -> int | None:
    """The fewest nodes on a path from p down to c whose inner nodes are all hidden (None: no
    such path), by a breadth-first search over the hidden nodes and c alone."""
    pairs = [(e.parent, e.child) for e in graph.edges if e.child == c or e.child not in kept]
    length = bfs([p], pairs, None).get(c)
    return None if length is None else length - 1


def _tree_links(lines: list[str]) -> list[tuple[str, str, str]]:
    """(label above, how the line says it is joined, label) for each line hung under another."""
    found, above = [], {}
    for line in lines:
        body = line.lstrip("│├└─ ")
        level = (len(line) - len(body)) // 4
        via, _, rest = body.rpartition(": ") if level else ("", "", body)
        if rest.endswith(")") and via.endswith("(see above"):
            via, rest = via.removesuffix(": (see above").removesuffix("(see above"), rest[:-1]
        label = rest.split(" ")[0]
        above[level] = label
        if level:
            found.append((above[level - 1], via, label))
    return found


@settings(max_examples=400, deadline=None)
@given(answers())
def test_filtered_answers_keep_reachability_exactly(case: tuple[Graph, set[str], set[str]]) -> None:
    graph, shown, narrower = case
    filtered = graph.only(shown)
    kept = {i for i, n in graph.nodes.items() if n.kind in shown or i in graph.roots}
    assert set(filtered.nodes) == kept
    assert filtered.edges == tuple(e for e in graph.edges if {e.parent, e.child} <= kept)
    # No pair missing, no pair added.
    whole = _reach(graph.nodes, [(e.parent, e.child) for e in graph.edges])
    links = [(link.parent, link.child) for link in filtered.links]
    assert _reach(kept, links) == {(a, d) for a, d in whole if a in kept and d in kept}
    # One Through link per pair joined only through hidden nodes, counting the fewest of them.
    expected = {}
    for p in kept:
        for c in kept - {p}:
            hidden = _fewest_hidden(graph, kept, p, c)
            if hidden:
                expected[p, c] = hidden
    assert {(t.parent, t.child): t.hidden for t in filtered.through} == expected
    assert len(filtered.through) == len(expected)
    # Filtering twice is filtering once.
    again, once = filtered.only(narrower), graph.only(narrower)
    assert (again.edges, again.through) == (once.edges, once.through)
    # The tree hangs every node, under nodes it descends from (or ascends to), and says how.
    lines = filtered.to_tree(max_lines=10_000, max_depth=100, max_children=100)
    labels = {n.label: n.id for n in filtered.nodes.values()}
    joined = {(link.parent, link.child): link for link in filtered.links}
    for above, via, label in _tree_links(lines[:-1]):
        ends = (labels[above], labels[label])
        link = joined[ends if graph.direction == "downstream" else ends[::-1]]
        hidden = link.hidden if isinstance(link, Through) else 0
        assert via == (f"⋯ via {hidden} hidden" if hidden else link.kind), (lines, link)
    assert "not shown" not in "\n".join(lines)
    assert len({n["id"] for n in filtered.as_dict()["nodes"]}) == len(kept)
    vias = [e for e in filtered.as_dict()["edges"] if e["kind"] == "via"]
    assert [(e["parent"], e["child"], e["through"]) for e in vias] == [
        (t.parent, t.child, t.hidden) for t in filtered.through
    ]


def test_through_links_are_checked() -> None:
    a, b = digest_bytes(b"a"), digest_bytes(b"b")
    with pytest.raises(InvalidInput, match="bad hidden count 0"):
        Through(parent=a, child=b, hidden=0)
    with pytest.raises(InvalidInput, match="to itself"):
        Through(parent=a, child=a, hidden=1)
    node = _node(a, "dataset", 0, 0)
    with pytest.raises(InvalidInput, match="does not hold"):
        Graph(
            roots=(a,),
            direction="downstream",
            nodes={a: node},
            through=(Through(parent=a, child=b, hidden=2),),
        )


# -- through a real store and the real CLI ----------------------------------------------------
def test_downstream_by_kind_hangs_each_model_under_the_version_it_came_from(
    repo: Lineal, ws: Path, lineal_cli: Cli
) -> None:
    """dataset/x v1 and v2; detector v1 trained on v2 only, v2 fine-tuned from it (also
    derived_from it), v3 distilled from v2. v1 fed nothing."""
    repo.record_artifact("dataset", data=b"x1", name="x")
    x2 = repo.record_artifact("dataset", data=b"x2", name="x")
    models = []
    for step, (name, base) in enumerate([("train", x2), ("finetune", None), ("distill", None)]):
        run = repo.start_run(name)
        repo.link("used", base or models[-1], run, role="train" if step == 0 else "base")
        models.append(repo.record_artifact("model", data=f"det{step}".encode(), name="detector"))
        repo.link("generated", run, models[-1])
        repo.finish_run(run)
        if name == "finetune":
            repo.link("derived_from", models[0], models[1])
    x, (m1, m2, m3) = repo.node(x2), [repo.node(m) for m in models]

    def ok(*args: str) -> str:
        done = lineal_cli(*args, cwd=ws)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    assert ok("downstream", "dataset/x", "--kind", "model").splitlines() == [
        "dataset/x@v1",
        "dataset/x@v2",
        "└── ⋯ via 1 hidden: model/detector@v1",
        "    └── derived_from: model/detector@v2",
        "        └── ⋯ via 1 hidden: model/detector@v3",
        "5 nodes (2 dataset, 3 model), 3 edges (1 real, 2 through hidden nodes)",
    ]
    assert lineal_cli("path", "dataset/x@v1", "model/detector@v1", cwd=ws).returncode == 1
    # Upstream: the fewest hidden nodes between, over the derived_from shortcut.
    assert ok("upstream", "model/detector@v2", "--kind", "dataset").splitlines() == [
        "model/detector@v2",
        "└── ⋯ via 2 hidden: dataset/x@v2",
        "2 nodes (1 dataset, 1 model), 1 edge (0 real, 1 through hidden nodes)",
    ]
    data = json.loads(ok("downstream", "dataset/x", "--kind", "model", "--json"))
    assert [(e["kind"], e["parent"], e["child"], e.get("through")) for e in data["edges"]] == [
        ("derived_from", m1, m2, None),
        ("via", x, m1, 1),
        ("via", m2, m3, 1),
    ]
    dot = ok("downstream", "dataset/x", "--kind", "model", "--format", "dot")
    assert f'"{x}" -> "{m1}" [label="via 1 hidden", style=dashed];' in dot
    assert f'"{m1}" -> "{m2}" [label="derived_from"];' in dot
    mermaid = ok("downstream", "dataset/x", "--kind", "model", "--format", "mermaid")
    assert mermaid.count(' -.->|"via 1 hidden"| ') == 2
    assert mermaid.count(' -->|"derived_from"| ') == 1
