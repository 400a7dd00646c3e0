"""Kind filters on big lineage answers: how long `Graph.only(kinds)` takes to keep reachability.

The graph is the peers' (../shared/bench/peers/lineage_graph.py: 105,000 artifacts, 50,000 runs,
~232,000 edges, depth 20), built as Graph values (no store: this times the filter alone):
  whole     the whole graph as one downstream answer from its 5,000 source datasets (every
            version of a name as roots, taken to the extreme)
  hub       the downstream answer of one of the 50 hub datasets (most of the graph)
  upstream  the upstream answers of the peers' 100 query models (median time of the 100)
For each, `only` with several kinds: the CPU time, and how many links through hidden nodes it
drew.

    python bench/kind_filter.py [--layers 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import deque
from pathlib import Path

from lineal.lineage.graph import Graph, Node
from lineal.model.digests import digest_bytes
from lineal.model.entities import Edge

REPO = Path(__file__).resolve().parents[1]
PEERS = Path(os.environ.get("PEERS_DIR", str(REPO.parent / "shared" / "bench" / "peers")))
sys.path.insert(0, str(PEERS))
from lineage_graph import Graph as Peers  # noqa: E402

KINDS = {"Dataset": "dataset", "Model": "model", "Intermediate": "file"}


def links(g: Peers) -> tuple[dict[str, tuple[str, str]], list[Edge]]:
    """node id -> (kind, label), and the edges parent -> child."""
    digests = [digest_bytes(f"artifact {i}".encode()) for i in range(g.n_artifacts)]
    nodes = {d: (KINDS[g.type_name(i)], f"{KINDS[g.type_name(i)]}/{g.name(i)}@v1")
             for i, d in enumerate(digests)}  # fmt: skip
    edges = []
    for j, (ins, outs) in enumerate(zip(g.exec_inputs, g.exec_outputs, strict=True)):
        run = f"run/01JD3XQ4M0{j:016d}"
        nodes[run] = ("run", run)
        edges += [Edge(kind="used", parent=digests[i], child=run) for i in ins]
        edges += [Edge(kind="generated", parent=run, child=digests[o]) for o in outs]
    return nodes, edges


def answer(
    nodes: dict[str, tuple[str, str]], edges: list[Edge], roots: list[str], direction: str
) -> Graph:
    onward: dict[str, list[str]] = {}
    for e in edges:
        a, b = (e.parent, e.child) if direction == "downstream" else (e.child, e.parent)
        onward.setdefault(a, []).append(b)
    depths = dict.fromkeys(roots, 0)
    queue = deque(roots)
    while queue:
        node = queue.popleft()
        for nxt in onward.get(node, ()):
            if nxt not in depths:
                depths[nxt] = depths[node] + 1
                queue.append(nxt)
    held = {
        i: Node(id=i, type="run" if k == "run" else "artifact", kind=k, label=label, depth=d,
                name="r" if k == "run" else label, status="finished" if k == "run" else None)
        for i, d in depths.items()
        for k, label in [nodes[i]]
    }  # fmt: skip
    among = tuple(e for e in edges if e.parent in held and e.child in held)
    return Graph(roots=tuple(roots), direction=direction, nodes=held, edges=among)


def timed(graph: Graph, kinds: list[str]) -> tuple[float, int]:
    """CPU seconds (this process: steadier than the clock on a shared machine), links drawn."""
    start = time.process_time()
    through = len(graph.only(kinds).through)
    return time.process_time() - start, through


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=20)
    args = parser.parse_args()
    g = Peers(depth=args.layers)
    nodes, edges = links(g)
    digest = {i: digest_bytes(f"artifact {i}".encode()) for i in range(g.n_artifacts)}
    whole = answer(nodes, edges, [digest[i] for i in range(g.a)], "downstream")
    print(f"# whole graph: {len(whole.nodes):,} nodes, {len(whole.edges):,} edges", flush=True)
    for kinds in (["model"], ["dataset"], ["run"], ["file"], ["dataset", "model"]):
        took, through = timed(whole, kinds)
        name = f"only({kinds}) on the whole graph, downstream"
        print(f"{name:<60} {took * 1000:10.1f} ms   {through:>9,} through links", flush=True)
    hub = answer(nodes, edges, [digest[0]], "downstream")
    print(f"# downstream of hub dataset 0: {len(hub.nodes):,} nodes", flush=True)
    for kinds in (["model"], ["run"], ["dataset", "model"]):
        took, through = timed(hub, kinds)
        name = f"only({kinds}) on a hub's downstream"
        print(f"{name:<60} {took * 1000:10.1f} ms   {through:>9,} through links", flush=True)
    ups = [answer(nodes, edges, [digest[q]], "upstream") for q in g.queries]
    sizes = sorted(len(u.nodes) for u in ups)
    print(f"# upstream of 100 models: median {sizes[50]:,} nodes, max {sizes[-1]:,}", flush=True)
    for kinds in (["dataset"], ["run"], ["file"], ["dataset", "file"]):
        results = [timed(u, kinds) for u in ups]
        took = statistics.median(r[0] for r in results)
        through = statistics.median(r[1] for r in results)
        name = f"only({kinds}) on upstream answers, median"
        print(f"{name:<60} {took * 1000:10.1f} ms   {through:>9,.0f} through links", flush=True)


if __name__ == "__main__":
    main()
