"""Ledger throughput: appends (transactions of 1 and 1,000) and verification, against floors.

Each figure is measured next to a reference in the same run (this machine is shared and noisy):
the raw-sqlite3 / raw-psycopg floor that inserts the same rows with no hashing, signing or
validation, and for verification the bare sha256 cost of the same bytes. Prints one line per
figure: name, ours, reference, ratio (ours / reference), and the issue's goal where it has one.

    python bench/ledger.py [--quick] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from lineal.ledger.keys import Signer
from lineal.ledger.verify import verify_chain
from lineal.model.digests import digest_bytes
from lineal.model.ops import AgentRegister, ArtifactRecord
from lineal.store.registry import open_store
from lineal.store.sql.base import SqlStore
from lineal.store.sql.sqlite import connect

REPEATS = 3


def _ops(n: int, salt: str) -> list[ArtifactRecord]:
    # A realistic write: a named artifact version with a little metadata, 100 names in play.
    return [
        ArtifactRecord(
            kind="file",
            digest=digest_bytes(f"{salt}-{i}".encode()),
            name=f"file-{i % 100}",
            size=i,
            meta={"path": f"images/{i:08d}.png"},
        )
        for i in range(n)
    ]


def _timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _median_rate(n: int, runs: list[float]) -> float:
    return n / statistics.median(runs)


def _fresh_store(kind: str, workdir: Path, pg: str | None, signer: Signer) -> SqlStore:
    if kind == "sqlite":
        uri = f"sqlite:///{workdir / uuid.uuid4().hex}.db"
    else:
        assert pg is not None
        uri = _pg_database(pg)
    store = open_store(uri, signer, create=True)
    store.append(AgentRegister(name=signer.name, public_key=signer.public_key))
    return store


_PG_CREATED: list[str] = []


def _pg_database(admin_uri: str) -> str:
    import psycopg

    name = f"lineal_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_uri, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    _PG_CREATED.append(name)
    return f"{admin_uri.rsplit('/', 1)[0]}/{name}"


def _drop_pg(admin_uri: str) -> None:
    import psycopg

    with psycopg.connect(admin_uri, autocommit=True) as admin:
        for name in _PG_CREATED:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _raw_rows(ops: list[ArtifactRecord]) -> list[tuple[tuple[object, ...], ...]]:
    rows = []
    for seq, op in enumerate(ops, start=2):
        payload = f'{{"digest":"{op.digest}","kind":"file"}}'.encode()
        rows.append(
            (
                (seq, "2026-01-01T00:00:00.000000Z", "a", op.OP, op.digest, op.digest, payload),
                (op.digest, op.digest, op.kind, None, op.size, None, '{"path":"x"}', seq),
                (op.kind, op.name, seq, op.digest, seq),
            )
        )
    return rows


_RAW_SQL = (
    "INSERT INTO ledger (seq, time, author, op, payload_digest, hash, payload) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO artifacts (node, digest, kind, name, size, uri, meta, seq) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO versions (kind, name, version, digest, seq) VALUES (?, ?, ?, ?, ?)",
)


def _raw_sqlite(workdir: Path, ops: list[ArtifactRecord], batch: int) -> float:
    """The floor: the same rows into the same schema, same pragmas, nothing else."""
    path = workdir / f"raw-{uuid.uuid4().hex}.db"
    open_store(f"sqlite:///{path}", None, create=True).close()
    conn = connect(str(path))
    rows = _raw_rows(ops)

    def run() -> None:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            conn.execute("BEGIN IMMEDIATE")
            for sql, column in zip(_RAW_SQL, range(3), strict=True):
                conn.executemany(sql, [r[column] for r in chunk])
            conn.execute("COMMIT")

    elapsed = _timed(run)
    conn.close()
    return elapsed


def _raw_postgres(uri: str, ops: list[ArtifactRecord], batch: int) -> float:
    import psycopg

    open_store(uri, None, create=True).close()
    rows = _raw_rows(ops)
    with psycopg.connect(uri, autocommit=True) as conn:

        def run() -> None:
            for start in range(0, len(rows), batch):
                chunk = rows[start : start + batch]
                with conn.transaction(), conn.cursor() as cursor:
                    for sql, column in zip(_RAW_SQL, range(3), strict=True):
                        cursor.executemany(sql.replace("?", "%s"), [r[column] for r in chunk])

        return _timed(run)


def _append(store: SqlStore, ops: list[ArtifactRecord], batch: int) -> float:
    def run() -> None:
        for start in range(0, len(ops), batch):
            store.append(ops[start : start + batch])

    return _timed(run)


def _line(name: str, ours: float, ref: float, unit: str, goal: str = "") -> None:
    ratio = ours / ref if ref else float("nan")
    text = f"{name:<34} ours {ours:>11,.0f} {unit}   ref {ref:>11,.0f} {unit}   ratio {ratio:5.2f}"
    print(text + (f"   goal {goal}" if goal else ""), flush=True)


def bench_backend(kind: str, workdir: Path, pg: str | None, quick: bool) -> None:
    signer = Signer.generate("bench")
    sizes = {1: 300 if quick else 2_000, 1000: 10_000 if quick else 50_000}
    if kind == "postgres":
        sizes = {1: 300 if quick else 1_000, 1000: 5_000 if quick else 20_000}
    for batch, n in sizes.items():
        ours, ref = [], []
        for rep in range(REPEATS):
            ops = _ops(n, f"{kind}-{batch}-{rep}")
            store = _fresh_store(kind, workdir, pg, signer)
            ours.append(_append(store, ops, batch))
            store.close()
            if kind == "sqlite":
                ref.append(_raw_sqlite(workdir, ops, batch))
            else:
                assert pg is not None
                ref.append(_raw_postgres(_pg_database(pg), ops, batch))
        goal = ">= 50,000 rec/s" if (kind, batch) == ("sqlite", 1000) else ""
        _line(
            f"{kind} append, txn of {batch}",
            _median_rate(n, ours),
            _median_rate(n, ref),
            "rec/s",
            goal,
        )
    # Verification of the store the batched run left behind (n records).
    n = sizes[1000]
    store = _fresh_store(kind, workdir, pg, signer)
    _append(store, _ops(n, f"{kind}-verify"), 1000)
    total = store.head()[0]
    chain, full, floor = [], [], []
    for _ in range(REPEATS):
        chain.append(_timed(lambda: _chain_only(store)))
        full.append(_timed(lambda: _check_ok(store)))
        floor.append(_timed(lambda: _hash_floor(store)))
    _line(
        f"{kind} verify chain+sigs+digests",
        _median_rate(total, chain),
        _median_rate(total, floor),
        "rec/s",
        ">= 300,000 rec/s" if kind == "sqlite" else "",
    )
    _line(
        f"{kind} verify incl. projection replay",
        _median_rate(total, full),
        _median_rate(total, floor),
        "rec/s",
    )
    store.close()


def _check_ok(store: SqlStore) -> None:
    report = store.verify()
    if not report.ok:
        raise SystemExit(f"verify failed: {report.problem}")


def _chain_only(store: SqlStore) -> None:
    """What `verify` does before the projection replay: sequence, hashes, digests, signatures."""
    from lineal.store.sql.replay import _redacted

    store._begin_read()
    try:
        stream = store._stream
        commits = list(store.commits())
        rows = stream(
            "SELECT seq, time, author, op, payload_digest, hash, payload FROM ledger ORDER BY seq"
        )
        problem, _ = verify_chain(rows, commits, _redacted(stream))
        if problem:
            raise SystemExit(f"chain failed: {problem}")
    finally:
        store._end(commit=False)


def _hash_floor(store: SqlStore) -> None:
    """The physical floor of the chain walk: read the rows, sha256 the same bytes twice."""
    sha = hashlib.sha256
    store._begin_read()
    try:
        for row in store._stream(
            "SELECT seq, time, author, op, payload_digest, hash, payload FROM ledger ORDER BY seq"
        ):
            sha(row[5].encode()).digest()
            sha(row[6]).digest()
    finally:
        store._end(commit=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="admin URI of a PostgreSQL server ('' to skip PostgreSQL)",
    )
    args = parser.parse_args()
    print(
        f"# lineal ledger bench, Python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        bench_backend("sqlite", Path(tmp), None, args.quick)
        if args.pg:
            try:
                bench_backend("postgres", Path(tmp), args.pg, args.quick)
            finally:
                _drop_pg(args.pg)


if __name__ == "__main__":
    main()
