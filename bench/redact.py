"""What scrubbing costs a redaction: one tag erased in a SQLite store of N records, with the
store's scrub (VACUUM, then the WAL truncated) against the same redaction without it (the
reference: the erased bytes stay in free pages and the WAL).

    python bench/redact.py [--records 200000]

Prints one line per figure: name, ours (with scrub), reference (without), ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from lineal.client import Lineal
from lineal.ledger.keys import Signer
from lineal.model.ops import AgentRegister, TagSet
from lineal.store.registry import open_store
from lineal.store.sql.sqlite import SqliteStore


def _store(folder: Path, records: int) -> tuple[SqliteStore, int]:
    signer = Signer.generate("bench")
    store = open_store(f"sqlite:///{folder / 'l.db'}", signer, create=True)
    assert isinstance(store, SqliteStore)
    store.append(AgentRegister(name="bench", public_key=signer.public_key))
    secret = store.append(TagSet(target="agent/bench", key="owner", value="jane@example.com"))
    chunk = 5_000
    for start in range(0, records, chunk):
        store.append(
            TagSet(target="agent/bench", key=f"k{n}", value=f"value {n} " + "x" * 100)
            for n in range(start, min(records, start + chunk))
        )
    return store, secret[0].seq


def _redact(folder: Path, records: int, *, scrub: bool) -> tuple[float, int]:
    store, seq = _store(folder, records)
    if not scrub:
        store._scrub = lambda: None  # type: ignore[method-assign]  # the reference
    size = sum(path.stat().st_size for path in folder.glob("l.db*"))
    started = time.perf_counter()
    Lineal(store).redact(seq, "bench")
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        ours, size = _redact(Path(a), args.records, scrub=True)
        reference, _ = _redact(Path(b), args.records, scrub=False)
    name = f"redact one tag, {args.records} records, {size / 1e6:.0f} MB database (s)"
    print(f"{name}\t{ours:.3f}\t{reference:.3f}\t{ours / reference:.1f}")


if __name__ == "__main__":
    main()
