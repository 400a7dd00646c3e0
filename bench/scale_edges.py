"""Lineage at scale on PostgreSQL: a store of N edges (default 10,000,000) built through
lineal's write path, then depth-2 and full-depth upstream of 100 models, p50 and p99.

The graph follows the pattern of the peers' lineage benchmark graph, grown wider: DEPTH (20)
layers of artifacts, each layer's runs reading 1 to 4 artifacts of the layer below near their
own position (a window of +-8), with p=0.10 one more from an older layer and p=0.05 one of 50
shared source datasets, and writing 2 artifacts each (every artifact but a source has one
maker). The layer width is chosen for about N edges (about 4.65 edges a run). Generated here,
deterministically (seed 20261208).

Reported: records and edges written and the build time (records/s); the lineage index's first
build from the edges table (s) and its size (bytes of its arrays); then for 100 random models
of the top layer, the time of `upstream(repo, model, depth=…)` plus its JSON bytes
(Graph.to_json(), what the server sends), p50 and p99, each answer's artifacts checked against
the generator's own reference; and the catch-up after one more run is written.

    python bench/scale_edges.py [--edges N] [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

from lineal.client import Lineal
from lineal.ledger.keys import Signer
from lineal.lineage.queries import upstream
from lineal.model.digests import digest_bytes
from lineal.model.entities import artifact_node
from lineal.model.ops import AgentRegister, ArtifactRecord, EdgeRecord, Op, RunStart
from lineal.store.registry import open_store

DEPTH = 20
WINDOW = 8
HUBS = 50
SEED = 20261208
EDGES_PER_RUN = 4.65  # 2.5 inputs + 0.10 skip + 0.05 hub + 2 outputs, on average
T0 = "2026-12-08T00:00:00.000000Z"


class Layers:
    """The graph: ``width`` artifacts per layer (0..DEPTH), width/2 runs per layer 1..DEPTH.
    Artifact i of layer l is number l * width + i; run j of layer l reads ``inputs[r]`` and
    writes artifacts 2j and 2j + 1 of layer l (r = (l - 1) * width/2 + j)."""

    def __init__(self, edges: int) -> None:
        self.width = max(2 * WINDOW + 2, 2 * round(edges / (DEPTH * EDGES_PER_RUN)))
        runs = self.width // 2
        rnd = random.Random(SEED)
        self.inputs: list[list[int]] = []
        for layer in range(1, DEPTH + 1):
            below = (layer - 1) * self.width
            for j in range(runs):
                near = [
                    below + p % self.width
                    for p in rnd.sample(
                        range(2 * j - WINDOW, 2 * j + WINDOW + 1), rnd.randint(1, 4)
                    )
                ]
                if layer > 1 and rnd.random() < 0.10:
                    older = rnd.randrange(layer - 1)
                    near.append(
                        older * self.width + (2 * j + rnd.randint(-WINDOW, WINDOW)) % self.width
                    )
                if rnd.random() < 0.05:
                    near.append(rnd.randrange(HUBS))
                self.inputs.append(sorted(set(near)))
        self.artifacts = (DEPTH + 1) * self.width
        self.edges = sum(len(i) for i in self.inputs) + 2 * len(self.inputs)
        top = DEPTH * self.width
        self.queries = random.Random(SEED + 1).sample(range(top, top + self.width), 100)

    def maker(self, artifact: int) -> int:
        """The run that wrote an artifact above layer 0."""
        layer, i = divmod(artifact, self.width)
        return (layer - 1) * (self.width // 2) + i // 2

    def upstream(self, artifact: int, depth: int | None) -> set[int]:
        """Every artifact upstream of ``artifact`` (within ``depth`` edges: 2 per run)."""
        seen: set[int] = set()
        frontier, hops = [artifact], 0
        while frontier and (depth is None or hops + 2 <= depth):
            reached = []
            for a in frontier:
                if a >= self.width:
                    reached += [i for i in self.inputs[self.maker(a)] if i not in seen]
            seen.update(reached)
            frontier, hops = list(dict.fromkeys(reached)), hops + 2
        return seen

    def digest(self, artifact: int) -> str:
        return digest_bytes(f"scale artifact {artifact}".encode())

    def name(self, artifact: int) -> str:
        layer, i = divmod(artifact, self.width)
        return f"a{layer}_{i}"

    def kind(self, artifact: int) -> str:
        layer = artifact // self.width
        return "dataset" if layer == 0 else ("model" if layer == DEPTH else "file")

    def node(self, artifact: int) -> str:
        return artifact_node(self.kind(artifact), self.name(artifact), self.digest(artifact))

    def ops(self) -> Iterator[Op]:
        """The history: layer 0's artifacts, then each run, its inputs, its two outputs."""

        def record(a: int) -> ArtifactRecord:
            name = self.name(a)
            return ArtifactRecord(
                kind=self.kind(a), digest=self.digest(a), name=name, uri=f"/d/{name}"
            )

        for a in range(self.width):
            yield record(a)
        for r, ins in enumerate(self.inputs):
            layer, j = divmod(r, self.width // 2)
            run = f"run/{_ulid(r)}"
            yield RunStart(id=run[4:], name=f"r{r}", started=T0)
            for i in ins:
                yield EdgeRecord(kind="used", parent=self.node(i), child=run)
            for out in ((layer + 1) * self.width + 2 * j, (layer + 1) * self.width + 2 * j + 1):
                yield record(out)
                yield EdgeRecord(kind="generated", parent=run, child=self.node(out))


def _ulid(n: int) -> str:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    digits = []
    for _ in range(16):
        n, rest = divmod(n, 32)
        digits.append(alphabet[rest])
    return "01JEZ00000" + "".join(reversed(digits))


def build(uri: str, layers: Layers) -> tuple[Lineal, int, float]:
    signer = Signer.generate("bench")
    store = open_store(uri, signer, create=True)
    store.append(AgentRegister(name="bench", public_key=signer.public_key))
    start, batch, written, shown = time.perf_counter(), [], 0, time.perf_counter()
    for op in layers.ops():
        batch.append(op)
        if len(batch) == 1000:
            store.append(batch)
            written += len(batch)
            batch = []
            if time.perf_counter() - shown > 60:
                rate = written / (time.perf_counter() - start)
                print(f"#   {written:,} records, {rate:,.0f} records/s", flush=True)
                shown = time.perf_counter()
    if batch:
        store.append(batch)
        written += len(batch)
    return Lineal(store), written, time.perf_counter() - start


def timed(repo: Lineal, layers: Layers, depth: int | None) -> tuple[list[float], int]:
    wrong, ms = 0, []
    upstream(repo, layers.node(layers.queries[0]), depth=depth).to_json()
    for q in layers.queries:
        start = time.perf_counter()
        found = upstream(repo, layers.node(q), depth=depth)
        body = found.to_json()
        ms.append((time.perf_counter() - start) * 1000)
        got = {n.id for n in found.nodes.values() if n.type == "artifact"} - {layers.node(q)}
        want = {layers.node(a) for a in layers.upstream(q, depth)}
        wrong += got != want or not body
    return ms, wrong


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, default=10_000_000, help="about how many edges")
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="an admin database URI (a scratch database is made and dropped)",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    import psycopg

    layers = Layers(args.edges)
    records = layers.artifacts + len(layers.inputs) + layers.edges + 1
    print(f"# graph: {layers.artifacts:,} artifacts, {len(layers.inputs):,} runs, "
          f"{layers.edges:,} edges, depth {DEPTH}, {records:,} records", flush=True)  # fmt: skip
    name = f"lineal_scale_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(args.postgres, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    uri = f"{args.postgres.rsplit('/', 1)[0]}/{name}"
    try:
        repo, written, took = build(uri, layers)
        print(f"build through lineal's write path (PostgreSQL, txn 1000)   {written:,} records "
              f"in {took:.0f} s = {written / took:,.0f} records/s", flush=True)  # fmt: skip
        repo.store.sql().execute("ANALYZE")
        store: Any = repo.store
        start = time.perf_counter()
        with store._lock:
            index = store.lineage_index()
            index.refresh(store.sql())
        size = sum(a.nbytes for a in index._arrays().values())
        print(f"lineage index: built from the edges table in {time.perf_counter() - start:.1f} s, "
              f"{index.edges:,} edges, {index.nodes:,} node numbers, {size / 1e6:.0f} MB",
              flush=True)  # fmt: skip
        for depth in (2, None):
            ms, wrong = timed(repo, layers, depth)
            label = "full depth" if depth is None else f"depth {depth}"
            print(f"upstream {label} + JSON   p50 {pct(ms, 50):8.2f} ms   p99 {pct(ms, 99):8.2f} ms"
                  f"   (answers wrong: {wrong}/100)", flush=True)  # fmt: skip
        lin = Lineal(repo.store)
        run = lin.start_run("one-more")
        lin.link("used", layers.node(layers.queries[0]), run)
        start = time.perf_counter()
        upstream(repo, run.ref, depth=2)
        took_ms = 1000 * (time.perf_counter() - start)
        print(f"first walk after one more run (catch-up)   {took_ms:.1f} ms   ({index.last})",
              flush=True)  # fmt: skip
        repo.close()
    finally:
        if not args.keep:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
