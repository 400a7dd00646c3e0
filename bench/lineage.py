"""Lineage queries: upstream of 100 models (full depth and depth 2), side by side with a raw
CTE and MLMD.

The graph is the peers' (../shared/bench/peers/lineage_graph.py): 105,000 artifacts, 50,000
runs, ~232,000 edges, depth 20. It is written through lineal's own write path (signed ledger
records in transactions of 1,000, projections included; records/s reported), then for each
of the peers' 100 random models "ours" is timed (after the peers' warm-up query):
`lineal.lineage.queries.upstream(repo, digest, depth=…)` PLUS the JSON bytes the server would
send for it (Graph.to_json(), what `GET …/upstream` answers), and its artifacts are checked
against the reference answer (full depth: every artifact upstream; depth 2: the inputs of the
model's run). Ours and the raw CTE alternate, twice over. References, in the same run:
  raw CTE, our db   one WITH RECURSIVE ... UNION over our own edges table by node number,
                    the artifacts' digests and kinds fetched (the physical limit of the
                    walk lineal ran before the lineage index, on the same database); depth
                    2: the same walk carrying a depth
  raw CTE, peers    ../shared/bench/peers/bench_lineage_sqlite.py (integer ids, its schema)
  MLMD              ../shared/bench/peers/bench_lineage_mlmd.py --methods subgraph, in
                    PEERS_VENV_MLMD (default /tmp/peers-venv-mlmd), when it imports: --hops
                    100 (full depth) and --hops 2 (depth 2: a model, its run, the run's inputs;
                    MLMD's own check then counts every answer "wrong", being full-depth)
  PostgreSQL        (--postgres URI-of-an-admin-db) the same build and queries on PostgreSQL
Goals: full depth at least 5x faster than MLMD's subgraph and within 1.2x of the raw CTE;
depth 2 at least 10x faster than MLMD's.

    python bench/lineage.py [--no-mlmd] [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from lineal.client import Lineal
from lineal.ledger.keys import Signer
from lineal.lineage.queries import upstream
from lineal.model.digests import digest_bytes
from lineal.model.entities import artifact_node
from lineal.model.ops import AgentRegister, ArtifactRecord, EdgeRecord, Op, RunStart
from lineal.store.registry import open_store

REPO = Path(__file__).resolve().parents[1]
PEERS = Path(os.environ.get("PEERS_DIR", str(REPO.parent / "shared" / "bench" / "peers")))
TMP = Path(tempfile.gettempdir())
MLMD_VENV = Path(os.environ.get("PEERS_VENV_MLMD", str(TMP / "peers-venv-mlmd")))
BENCH_DIR = Path(os.environ.get("BENCH_DIR", str(TMP / "peers-bench")))
sys.path.insert(0, str(PEERS))
from lineage_graph import Graph  # noqa: E402

RAW = """
WITH RECURSIVE up(id) AS (
    SELECT id FROM node_ids WHERE node = ?
    UNION
    SELECT e.parent_id FROM edges e JOIN up ON e.child_id = up.id
)
SELECT a.node, a.kind FROM up JOIN node_ids n ON n.id = up.id
JOIN artifacts a ON a.node = n.node WHERE a.node <> ?
"""
RAW_DEPTH = """
WITH RECURSIVE up(id, depth) AS (
    SELECT id, 0 FROM node_ids WHERE node = ?
    UNION
    SELECT e.parent_id, up.depth + 1 FROM edges e JOIN up ON e.child_id = up.id
    WHERE up.depth < ?
)
SELECT DISTINCT a.node, a.kind FROM up JOIN node_ids n ON n.id = up.id
JOIN artifacts a ON a.node = n.node WHERE a.node <> ?
"""
T0 = "2026-11-25T00:00:00.000000Z"


def _ulid(n: int) -> str:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    digits = []
    for _ in range(16):
        n, r = divmod(n, 32)
        digits.append(alphabet[r])
    return "01JD3XQ4M0" + "".join(reversed(digits))


def ops(g: Graph) -> tuple[list[Op], list[str]]:
    """The graph as lineal ops, in an order a real history could have; artifact nodes."""
    digests = [digest_bytes(f"artifact {i}".encode()) for i in range(g.n_artifacts)]
    kinds = [
        {"Dataset": "dataset", "Model": "model"}.get(g.type_name(i), "file")
        for i in range(g.n_artifacts)
    ]
    nodes = [artifact_node(kinds[i], g.name(i), digests[i]) for i in range(g.n_artifacts)]

    def artifact(i: int) -> ArtifactRecord:
        name = g.name(i)
        return ArtifactRecord(kind=kinds[i], digest=digests[i], name=name, uri=f"/data/{name}")

    out: list[Op] = [artifact(i) for i in range(g.a)]
    for j in range(g.n_executions):
        run = f"run/{_ulid(j)}"
        out.append(RunStart(id=run[4:], name=f"e{j}", started=T0))
        out.extend(EdgeRecord(kind="used", parent=nodes[i], child=run) for i in g.exec_inputs[j])
        for o in g.exec_outputs[j]:
            out.append(artifact(o))
            out.append(EdgeRecord(kind="generated", parent=run, child=nodes[o]))
    return out, nodes


def build(uri: str, history: list[Op]) -> tuple[Lineal, float]:
    signer = Signer.generate("bench")
    store = open_store(uri, signer, create=True)
    store.append(AgentRegister(name="bench", public_key=signer.public_key))
    start = time.perf_counter()
    for i in range(0, len(history), 1000):
        store.append(history[i : i + 1000])
    return Lineal(store), time.perf_counter() - start


def expected(g: Graph, q: int, depth: int | None) -> set[int]:
    """The artifacts upstream of model ``q``: all of them, or within ``depth`` (2) steps."""
    if depth is None:
        return set(g.upstream(q))
    return set(g.exec_inputs[g.producer[q]])


def ours(
    repo: Lineal, g: Graph, digests: list[str], depth: int | None = None
) -> tuple[list[float], int]:
    """Each query's time: the answer and its JSON bytes, as the server sends them."""
    index = {d: i for i, d in enumerate(digests)}
    upstream(repo, digests[g.warmup_query], depth=depth).to_json()
    ms, wrong = [], 0
    for q in g.queries:
        start = time.perf_counter()
        found = upstream(repo, digests[q], depth=depth)
        body = found.to_json()
        ms.append((time.perf_counter() - start) * 1000)
        got = {index[n.id] for n in found.nodes.values() if n.type == "artifact"} - {q}
        wrong += got != expected(g, q, depth) or not body
    return ms, wrong


def raw(
    repo: Lineal, g: Graph, digests: list[str], depth: int | None = None
) -> tuple[list[float], int]:
    db = repo.store.sql()

    def args(q: int) -> tuple[Any, ...]:
        return (digests[q], digests[q]) if depth is None else (digests[q], depth, digests[q])

    sql = RAW if depth is None else RAW_DEPTH
    db.all(sql, args(g.warmup_query))
    index = {d: i for i, d in enumerate(digests)}
    ms, wrong = [], 0
    for q in g.queries:
        start = time.perf_counter()
        rows = db.all(sql, args(q))
        ms.append((time.perf_counter() - start) * 1000)
        wrong += {index[r[0]] for r in rows} != expected(g, q, depth)
    return ms, wrong


def alternate(
    repo: Lineal, g: Graph, digests: list[str], depth: int | None
) -> tuple[list[float], list[float], int]:
    """Ours and the raw CTE, alternating twice: (ours ms, raw ms, answers wrong)."""
    mine, floor, wrong = [], [], 0
    for _ in range(2):
        ms, bad = ours(repo, g, digests, depth)
        mine += ms
        wrong += bad
        ms, bad = raw(repo, g, digests, depth)
        floor += ms
        wrong += bad
    return mine, floor, wrong


def peer(python: str, script: str, *args: str) -> str:
    done = subprocess.run(
        [python, str(PEERS / script), *args], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"{script} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def median_of(output: str, label: str) -> float:
    match = re.search(rf"RESULT lineage \| {label}.*?\| median ([0-9.]+) ms", output)
    if match is None:
        raise SystemExit(f"no {label!r} result in:\n{output}")
    return float(match.group(1))


def line(name: str, mine: list[float], ref: float | None, goal: str = "") -> None:
    median = statistics.median(mine)
    text = f"{name:<52} ours {median:8.2f} ms"
    if ref is not None:
        text += f"   ref {ref:8.2f} ms   ratio {median / ref:6.2f}"
    print(f"{text}   {goal}".rstrip(), flush=True)


def pg_database(admin: str) -> tuple[str, Any]:
    import psycopg

    name = f"lineal_bench_{uuid.uuid4().hex[:8]}"
    conn = psycopg.connect(admin, autocommit=True)
    conn.execute(f'CREATE DATABASE "{name}"')
    return f"{admin.rsplit('/', 1)[0]}/{name}", (conn, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-mlmd", action="store_true")
    parser.add_argument("--postgres", metavar="ADMIN_URI", default=None)
    parser.add_argument("--skip-sqlite", action="store_true", help="only the PostgreSQL part")
    args = parser.parse_args()
    g = Graph()
    print(f"# graph: {g.describe()}", flush=True)
    history, digests = ops(g)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="lineage-", dir=BENCH_DIR))
    mlmd = mlmd_medians(not args.no_mlmd)
    for name, median in mlmd.items():
        print(f"# MLMD get_lineage_subgraph, {name} {'depth' if name == 'full' else 'hops'}: "
              f"median {median:.2f} ms", flush=True)  # fmt: skip
    try:
        if not args.skip_sqlite:
            sqlite_part(folder, g, history, digests, mlmd)
        if args.postgres:
            postgres_part(args.postgres, g, history, digests, mlmd)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def mlmd_medians(enabled: bool) -> dict[str, float]:
    """MLMD's get_lineage_subgraph median ms: full depth (--hops 100) and depth 2 (--hops 2)."""
    mlmd_python = MLMD_VENV / "bin" / "python"
    if not enabled or not mlmd_python.exists():
        return {}
    found = {}
    for name, hops in (("full", "100"), ("2", "2")):
        out = peer(
            str(mlmd_python), "bench_lineage_mlmd.py", "--methods", "subgraph", "--hops", hops
        )
        found[name] = median_of(out, "mlmd")
    return found


def report(
    where: str, mine: list[float], floor: list[float], mlmd: float | None, depth: int | None
) -> None:
    """The figures of one depth: against the raw CTE, then against MLMD."""
    label = "full depth" if depth is None else f"depth {depth}"
    ratio = statistics.median(mine) / statistics.median(floor)
    goal = 1.2 if depth is None else None
    line(
        f"upstream {label} + JSON vs raw CTE ({where})",
        mine,
        statistics.median(floor),
        "" if goal is None else f"goal <= {goal}x {'met' if ratio <= goal else 'MISSED'}",
    )
    if mlmd is not None:
        speedup = mlmd / statistics.median(mine)
        want = 5 if depth is None else 10
        line(
            f"upstream {label} + JSON vs MLMD subgraph ({where})",
            mine,
            mlmd,
            f"{speedup:.1f}x faster, goal >= {want}x {'met' if speedup >= want else 'MISSED'}",
        )


def sqlite_part(
    folder: Path, g: Graph, history: list[Op], digests: list[str], mlmd: dict[str, float]
) -> None:
    repo, took = build(f"sqlite:///{folder / 'lineal.db'}", history)
    print(f"build through lineal's write path (SQLite, txn 1000)   {len(history):,} records "
          f"in {took:.1f} s = {len(history) / took:,.0f} records/s", flush=True)  # fmt: skip
    start = time.perf_counter()
    repo.store.closure(digests[g.warmup_query], upstream=True)
    print(f"# lineage index built from the edges table in {time.perf_counter() - start:.2f} s")
    plain = median_of(peer(sys.executable, "bench_lineage_sqlite.py"), "sqlite")
    for depth in (None, 2):
        mine, floor, wrong = alternate(repo, g, digests, depth)
        print(f"# answers wrong (depth {depth or 'full'}): {wrong}/400", flush=True)
        report("SQLite", mine, floor, mlmd.get("full" if depth is None else "2"), depth)
        if depth is None:
            line("upstream full depth + JSON vs peers' plain-sqlite CTE", mine, plain)
    repo.close()


def postgres_part(
    admin_uri: str, g: Graph, history: list[Op], digests: list[str], mlmd: dict[str, float]
) -> None:
    uri, (admin, name) = pg_database(admin_uri)
    try:
        pg, took = build(uri, history)
        print(f"build through lineal's write path (PostgreSQL, txn 1000)  "
              f"{len(history) / took:,.0f} records/s", flush=True)  # fmt: skip
        # A bulk load leaves the planner without statistics until autovacuum gets to it.
        pg.store.sql().execute("ANALYZE")
        for depth in (None, 2):
            mine, floor, wrong = alternate(pg, g, digests, depth)
            print(f"# answers wrong (depth {depth or 'full'}): {wrong}/400", flush=True)
            report("PostgreSQL", mine, floor, mlmd.get("full" if depth is None else "2"), depth)
        pg.close()
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    main()
