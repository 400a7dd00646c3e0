"""PostgreSQL write path against SQLite's, in the same run (issue 18).

Two figures, one line each (name, ours = PostgreSQL, reference = SQLite, ratio):
  8x1000 runs wall s         8 processes at once, each recording --runs tracked runs through
                             the SDK in a workspace: ``lineal.start_run`` with 3 params
                             (capture off: the environment capture costs both backends the
                             same), ``run.use`` of a dataset, 10 steps of 2 metrics,
                             ``run.log_artifact`` of a small output file, ended: four
                             transactions a run (start, use, output, finish with the last
                             points), as the SDK commits them. Goal: PG <= 2x SQLite.
                             ``log_artifact``'s object cache costs both backends the same,
                             and no more per run as runs add up: each pack index is read once
                             per process and small packs are merged as they pile up (it read
                             every index again per output, which made 1,000 runs a worker
                             take 20 minutes on both). Its fsyncs (the output's pack, the
                             manifest) remain, on both backends, before the transaction (with
                             the chain head held, every writer waited through them). A
                             commit no longer holds the head through its flush to disk (about
                             3 ms here): it commits without waiting, frees the head for the
                             next writer, then waits for the flush before it returns, so the
                             writers' flushes overlap. What remains on PostgreSQL: each
                             transaction's few round trips, slow under CPU contention.
  lineage write records/s    bench/lineage.py's history (artifacts, runs, used/generated edges)
                             appended by one writer in transactions of 1,000; the graph is the
                             peers' at --layer-size artifacts per layer (default 1,000: about
                             78,000 records, 44,000 edges; 5000 is lineage.py's full graph).
                             Goal: PG >= 0.5x SQLite.
  lineage write vs COPY floor
                             the same PostgreSQL figure against its floor: the rows that write
                             left in every table (ledger, commits, projections), COPYed into a
                             fresh store's empty tables (same indexes) in the same transactions,
                             each committed (records/s).

    python bench/pg_write.py [--runs 1000] [--workers 8] [--layer-size 1000]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres] [--only runs|lineage]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lineage
import lineal
from lineal.client import Lineal
from lineal.ledger.keys import Signer
from lineal.model.digests import digest_bytes
from lineal.model.ops import ArtifactRecord, Op
from lineal.store.registry import open_store

# Run as `python pg_write.py --worker WORKSPACE GOFILE N COUNT`.
WORKER_USAGE = "--worker"


def worker(ws: str, go: str, n: int, count: int) -> None:
    repo = Lineal.open(path=ws)
    out = Path(ws) / f"out-{n}"
    out.mkdir()
    print("ready", flush=True)
    go_file = Path(go)
    while not go_file.exists():
        time.sleep(0.001)
    for i in range(count):
        params = {"lr": 0.001 * (i % 7 + 1), "batch": 32, "worker": n}
        with lineal.start_run(f"w{n}-{i}", params=params, repo=repo, capture=False) as run:
            run.use("dataset/train")
            for step in range(10):
                run.log({"loss": 1.0 / (step + 1), "acc": step / 10}, step=step)
            model = out / f"model-{i}.txt"
            model.write_text(f"weights of run {n}/{i}\n")
            run.log_artifact(model, name=f"model-w{n}")
    repo.close()
    print("done", count, flush=True)


def _cpu() -> list[int]:
    """The machine's CPU time counters (Linux /proc/stat; none elsewhere)."""
    try:
        with Path("/proc/stat").open() as stat:
            return [int(n) for n in stat.readline().split()[1:8]]
    except OSError:
        return []


def _busy(before: list[int], after: list[int]) -> str:
    spent = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(spent) or 1
    return f"cpu busy {1 - (spent[3] + spent[4]) / total:.0%}" if spent else "cpu busy ?"


def runs_wall(uri: str | None, folder: Path, workers: int, count: int) -> float:
    """Seconds for ``workers`` processes to record ``count`` runs each (after all are ready)."""
    ws = folder / uuid.uuid4().hex[:8]
    ws.mkdir()
    lineal.init(ws, uri=uri, agent="bench")
    with Lineal.open(path=ws) as repo:
        repo.store.append(
            ArtifactRecord(kind="dataset", name="train", digest=digest_bytes(b"train set"))
        )
    go = ws / "go"
    with ExitStack() as stack:
        procs = []
        for n in range(workers):
            argv = [sys.executable, __file__, WORKER_USAGE, str(ws), str(go), str(n), str(count)]
            proc = stack.enter_context(subprocess.Popen(argv, stdout=subprocess.PIPE, text=True))
            procs.append(proc)
        for proc in procs:
            assert proc.stdout is not None
            if proc.stdout.readline() != "ready\n":
                raise SystemExit("a worker failed to start")
        start, cpu = time.perf_counter(), _cpu()
        go.touch()
        for proc in procs:
            out, _ = proc.communicate(timeout=3600)
            if proc.returncode or out != f"done {count}\n":
                raise SystemExit(f"a worker failed: {out}")
        took = time.perf_counter() - start
        print(f"# {'PostgreSQL' if uri else 'SQLite'}: {took:.1f} s, {_busy(cpu, _cpu())}")
    with Lineal.open(path=ws, write=False) as repo:
        found = repo.store.sql().one("SELECT COUNT(*) FROM runs WHERE status = 'finished'")
    if found is None or found[0] != workers * count:
        raise SystemExit(f"expected {workers * count} finished runs, found {found}")
    return took


def lineage_rate(uri: str, history: list[Op]) -> float:
    repo, took = lineage.build(uri, history)
    repo.close()
    return len(history) / took


#: Tables a write of bench/lineage.py's history fills, and the column naming each row's record.
_FILLED = {
    "ledger": "seq",
    "commits": "last_seq",
    "agents": "seq",
    "artifacts": "seq",
    "versions": "seq",
    "runs": "seq",
    "edges": "seq",
    "node_ids": "seq",
}


def copy_floor(built: str, admin_uri: str) -> float:
    """Records/s of COPYing the rows ``built`` holds into a fresh store, transaction by
    transaction as they were written (the first, the agent's, before the clock starts)."""
    import psycopg

    uri, admin = lineage.pg_database(admin_uri)
    try:
        open_store(uri, Signer.generate("floor"), create=True).close()
        with psycopg.connect(built) as source:
            bounds = [r[0] for r in source.execute("SELECT last_seq FROM commits ORDER BY 1")]
            tables = {
                table: source.execute(f"SELECT * FROM {table} ORDER BY {seq}").fetchall()
                for table, seq in _FILLED.items()
            }
            columns = {
                table: [
                    c.name for c in source.execute(f"SELECT * FROM {table} LIMIT 0").description
                ]
                for table in _FILLED
            }
        with psycopg.connect(uri, autocommit=True) as conn:
            positions = dict.fromkeys(_FILLED, 0)
            start = 0.0
            for n, last in enumerate(bounds):
                if n == 1:
                    start = time.perf_counter()
                with conn.transaction():
                    for table, seq in _FILLED.items():
                        rows, at = tables[table], positions[table]
                        seq_at = columns[table].index(seq)
                        end = at
                        while end < len(rows) and rows[end][seq_at] <= last:
                            end += 1
                        positions[table] = end
                        if end > at:
                            names = ", ".join(columns[table])
                            with conn.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                                for row in rows[at:end]:
                                    copy.write_row(row)
            took = time.perf_counter() - start
        return (bounds[-1] - bounds[0]) / took
    finally:
        _drop(admin)


def figure(name: str, ours: float, ref: float, unit: str, goal: str) -> None:
    print(
        f"{name:<28} ours {ours:10.1f} {unit}   ref {ref:10.1f} {unit}   "
        f"ratio {ours / ref:5.2f}   {goal}",
        flush=True,
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == WORKER_USAGE:
        ws, go, n, count = sys.argv[2:6]
        worker(ws, go, int(n), int(count))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs per worker process")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--layer-size", type=int, default=1000, help="artifacts per layer")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--only", choices=("runs", "lineage"), default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="pg-write-"))
    admin = None
    try:
        if args.only != "lineage":
            pg, admin = lineage.pg_database(args.postgres)
            wall_pg = runs_wall(pg, folder, args.workers, args.runs)
            wall_sqlite = runs_wall(None, folder, args.workers, args.runs)
            ratio = wall_pg / wall_sqlite
            figure(
                f"{args.workers}x{args.runs} runs wall s",
                wall_pg,
                wall_sqlite,
                "s",
                f"goal <= 2x {'met' if ratio <= 2 else 'MISSED'}",
            )
            _drop(admin)
            admin = None
        if args.only != "runs":
            g = lineage.Graph(a=args.layer_size)
            history, _ = lineage.ops(g)
            print(f"# lineage history: {len(history):,} records, {g.describe()}", flush=True)
            pg, admin = lineage.pg_database(args.postgres)
            rate_pg = lineage_rate(pg, history)
            rate_sqlite = lineage_rate(f"sqlite:///{folder / 'lineage.db'}", history)
            ratio = rate_pg / rate_sqlite
            figure(
                "lineage write records/s",
                rate_pg,
                rate_sqlite,
                "rec/s",
                f"goal >= 0.5x {'met' if ratio >= 0.5 else 'MISSED'}",
            )
            figure(
                "lineage write vs COPY floor",
                rate_pg,
                copy_floor(pg, args.postgres),
                "rec/s",
                "(floor: the same rows COPYed into the same tables)",
            )
    finally:
        if admin is not None:
            _drop(admin)
        shutil.rmtree(folder, ignore_errors=True)


def _drop(admin: tuple[object, str]) -> None:
    conn, name = admin
    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[attr-defined]
    conn.close()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
