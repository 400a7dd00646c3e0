"""Train/eval leakage on a 100,000-file training set against a 20,000-file eval set (5,000
files shared, under other names), checked as `lineal show RUN` and `lineal check RUN` do.

The datasets are recorded as `lineal add` records them: a manifest in the object cache and a
version naming it. By default the manifests list made-up contents (the snapshot is not what
is measured: hashing 120,000 files costs what `bench/snapshot.py` says); ``--snapshot``
writes the files and adds them for real. Figures, best of ``--repeat``, one line each:

    name ours reference ratio

- ``leakage_check_vs_manifest_read``: the whole check (inputs, both manifests read, the
  join, examples) against reading and decoding the two manifests alone;
- ``leakage_check_vs_set_floor``: the same check against a plain Python set intersection of
  the two digest lists already in memory (the floor of any digest join).

Goal: the check under 1 s beyond the snapshot itself.

    PYTHONPATH=src python bench/quality_leakage.py [--train 100000] [--eval 20000] [--shared 5000]
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import lineal
from lineal import datasets
from lineal.cas.manifest import Manifest, trusted_entry
from lineal.client import Lineal
from lineal.model.entities import Artifact, Run
from lineal.quality.leakage import run_leaks
from lineal.tracking.runs import start


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _made_up(repo: Lineal, name: str, contents: range, folder: str) -> Artifact:
    entries = [
        trusted_entry(f"{folder}/{i:07d}.jpg", _digest(f"image {i}"), 40_000) for i in contents
    ]
    manifest = Manifest.from_entries(entries)
    cache = datasets.objects(repo)
    cache.add_bytes(manifest.encode())
    cache.sync()
    meta = {"files": len(manifest)}
    return repo.record_artifact(
        "dataset", digest=manifest.digest, name=name, size=manifest.size, meta=meta
    )


def _written(repo: Lineal, root: Path, name: str, contents: range) -> Artifact:
    folder = root / name
    folder.mkdir()
    for i in contents:
        (folder / f"{name}-{i:07d}.jpg").write_text(f"image {i}")
    return datasets.add(repo, [folder], name=name).artifact


def _best(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=100_000)
    parser.add_argument("--eval", type=int, default=20_000)
    parser.add_argument("--shared", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--snapshot", action="store_true", help="write and add real files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        lineal.init(root, agent="bench")
        with Lineal.open(path=root) as repo:
            first_eval = args.train - args.shared  # the last `shared` training contents
            train_range = range(args.train)
            eval_range = range(first_eval, first_eval + args.eval)
            started = time.perf_counter()
            if args.snapshot:
                train = _written(repo, root, "train", train_range)
                held_out = _written(repo, root, "held-out", eval_range)
            else:
                train = _made_up(repo, "train", train_range, "train")
                held_out = _made_up(repo, "held-out", eval_range, "held-out/renamed")
            print(f"# recorded the two datasets in {time.perf_counter() - started:.2f}s")
            active = start(repo, "train", capture_env=False)
            active.use(train, role="train")
            active.use(held_out, role="eval")
            active.finish()
            run = repo.resolve(active.ref)
            assert isinstance(run, Run)
            (leak,) = run_leaks(repo, run)
            assert leak.shared == args.shared, leak.shared
            check = _best(args.repeat, lambda: run_leaks(repo, run))
            read = _best(
                args.repeat,
                lambda: (datasets.manifest_of(repo, train), datasets.manifest_of(repo, held_out)),
            )
            train_digests = [e.digest for e in datasets.manifest_of(repo, train).entries]
            eval_digests = [e.digest for e in datasets.manifest_of(repo, held_out).entries]
            floor = _best(args.repeat, lambda: set(train_digests).intersection(eval_digests))
    print(f"# {args.train:,} train files, {args.eval:,} eval files, {leak.shared:,} shared")
    print("name ours reference ratio")
    for name, reference in (
        ("leakage_check_vs_manifest_read", read),
        ("leakage_check_vs_set_floor", floor),
    ):
        print(f"{name} {check:.4f} {reference:.4f} {check / reference:.2f}")


if __name__ == "__main__":
    main()
