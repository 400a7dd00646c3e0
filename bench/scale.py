"""Snapshots at scale: `lineal add` and `lineal status` on a million small files, against the
same commands on 20,000 of them and against DVC on the same tree.

Every figure is the wall time of a whole process, start-up included (as bench/snapshot.py). The
data (``--files`` files of ``--kib`` KiB in nested folders: parts of 20,000 laid out 20 x 20 x
50, like the peers' set) is generated under ``--dir`` (default a new folder in /tmp, which must
have room: about 6 KiB of disk per file for the tree, our cache and DVC's) and removed at the
end unless ``--keep``. The first part is the 20,000-file baseline.

Figures, one line each (name, ours, reference, ratio, goal):
  add, per-file time at N files against 20,000 (net of a one-file add's start-up) <= 1.2
  add, our peak RSS at N files (the child's ru_maxrss, from wait4) < 400 MB
  status (nothing changed; median of --runs) at N files against `dvc status` <= 0.10, DVC
  given --dvc-timeout seconds for each of `dvc add` and `dvc status` (a time-out is reported)

    python bench/scale.py [--files 1000000] [--kib 1] [--runs 3] [--dvc-timeout 600] [--skip-dvc]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import snapshot as bench  # the sibling bench: its runner, printer and paths

PART = 20_000


def generate(root: Path, files: int, kib: int) -> Path:
    """``files`` files of ``kib`` KiB under ``root/tree``, in parts of 20,000 (p000 first)."""
    tree = root / "tree"
    started = time.perf_counter()
    print(f"# generating {files:,} x {kib} KiB files in {tree}", flush=True)
    payload = os.urandom(kib * 1024 * 64)
    for k in range(files):
        part, rest = divmod(k, PART)
        leaf, slot = divmod(rest, 50)
        folder = f"{tree}/p{part:03d}/d{leaf // 20:02d}/s{leaf % 20:02d}"
        if slot == 0:
            os.makedirs(folder, exist_ok=True)  # noqa: PTH103 (str paths, a million files)
        at = (k * 7919) % 63 * 1024  # distinct bytes per file: a slice plus the file's number
        with open(f"{folder}/f{k:07d}.bin", "wb") as f:  # noqa: PTH123 (a million of them)
            f.write(payload[at : at + kib * 1024 - 8] + k.to_bytes(8, "little"))
    subprocess.run(["sync"], check=True)
    print(f"# generated in {time.perf_counter() - started:.0f} s", flush=True)
    return tree


def add_then_status(
    scratch: bench.Scratch, tree: Path, files: int, runs: int
) -> tuple[bench.Run, bench.Run]:
    """`lineal add` of ``tree`` in a new workspace, then ``runs`` times `lineal status`: the
    add and the median status."""
    ws = scratch.folder("ws-")
    env = bench.LINEAL_ENV
    try:
        subprocess.run(
            [str(bench.LINEAL), "init", "--agent", "bench"],
            cwd=ws,
            env=env,
            check=True,
            capture_output=True,
        )
        add = [bench.LINEAL, "add", tree.resolve(), "--name", "dataset/scale"]
        added = bench.expect(bench.run(add, ws, env), f"{files:,} files", "add")
        status = [bench.run([bench.LINEAL, "status"], ws, env) for _ in range(runs)]
        for one in status:
            bench.expect(one, "up to date", "status")
        status.sort(key=lambda r: r.seconds)
        return added, status[len(status) // 2]
    finally:
        shutil.rmtree(ws, ignore_errors=True)


def timed_out(cmd: list[str | Path], cwd: Path, env: dict[str, str], limit: float) -> bool:
    """Run ``cmd``; True if it was still running after ``limit`` seconds (then killed)."""
    proc = subprocess.Popen(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, problem = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return True
    if proc.returncode != 0:
        raise SystemExit(
            f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{problem[-3000:]}"
        )
    return False


def dvc_side(tree: Path, limit: float) -> tuple[float | None, float | None, str]:
    """`dvc add` then `dvc status` of ``tree`` in a new repo beside it: their times (None if
    the step timed out or did not run) and a note."""
    env = bench.bench_hash.dvc_env(str(tree.parent))
    shutil.rmtree(env["DVC_SITE_CACHE_DIR"], ignore_errors=True)
    repo = tree.parent  # the tree is in the repo already: no copy of a million files
    subprocess.run([str(bench.DVC), "init", "--no-scm", "-q", "-f"], cwd=repo, env=env, check=True)
    started = time.perf_counter()
    if timed_out([bench.DVC, "add", "-q", tree.name], repo, env, limit):
        return None, None, f"dvc add timed out after {limit:.0f} s: no dvc status to compare"
    added = time.perf_counter() - started
    started = time.perf_counter()
    if timed_out([bench.DVC, "status", "-q"], repo, env, limit):
        return added, None, f"dvc status timed out after {limit:.0f} s"
    return added, time.perf_counter() - started, ""


def figures(scratch: bench.Scratch, root: Path, args: argparse.Namespace) -> None:
    """Generate the tree, then time and print every figure."""
    tree = generate(root, args.files, args.kib)
    subset = tree / "p000"
    one = subset / "d00" / "s00" / "f0000000.bin"
    bench.compile_ours()
    bench.warm(subset, PART)
    small, fixed = [], []
    for _ in range(args.runs):
        small.append(bench.lineal_add(scratch, subset, "scale", PART)[0])
        fixed.append(bench.lineal_add(scratch, one, "scale", 1)[0])
    bench.warm(tree, args.files)
    large = add_then_status(scratch, tree, args.files, args.runs)
    net_small = (
        bench.median([r.seconds for r in small]) - bench.median([r.seconds for r in fixed])
    ) / PART
    net_large = (large[0].seconds - bench.median([r.seconds for r in fixed])) / args.files
    label = f"{args.files // 1000:,}k x {args.kib} KiB"
    bench.line(
        f"{label}: add per-file time net of start-up, vs 20k",
        [net_large * 1e6],
        [net_small * 1e6],
        "us/file",
        goal="<= 1.2",
        met=net_large / net_small <= 1.2,
    )
    bench.line(
        f"{label}: add wall time, vs 20k x (files / 20k)",
        [large[0].seconds],
        [bench.median([r.seconds for r in small]) * args.files / PART],
        "s",
    )
    bench.line(
        f"{label}: add peak RSS, vs the 20k add",
        [large[0].rss_mb],
        [bench.median([r.rss_mb for r in small])],
        "MB",
        goal=f"< {bench.RSS_LIMIT_MB} MB",
        met=large[0].rss_mb < bench.RSS_LIMIT_MB,
    )
    if args.skip_dvc:
        bench.line(
            f"{label}: status (no change)", [large[1].seconds], None, "s", rss=[large[1].rss_mb]
        )
    else:
        dvc_add, dvc_status, note = dvc_side(tree, args.dvc_timeout)
        if dvc_add is not None:
            bench.line(f"{label}: add vs dvc add", [large[0].seconds], [dvc_add], "s")
        bench.line(
            f"{label}: status (no change) vs dvc status",
            [large[1].seconds],
            [dvc_status] if dvc_status is not None else None,
            "s",
            goal="<= 0.10" + (f" ({note})" if note else ""),
            met=bench.ratio_goal([large[1].seconds], [dvc_status], 0.10)
            if dvc_status is not None
            else None,
            rss=[large[1].rss_mb],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1_000_000, help="files in the big tree")
    parser.add_argument("--kib", type=int, default=1, help="size of each file, KiB (1-63)")
    parser.add_argument("--runs", type=int, default=3, help="repetitions of the 20k figures")
    parser.add_argument("--dir", type=Path, default=None, help="where to generate (default /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    parser.add_argument("--dvc-timeout", type=float, default=600.0, help="seconds per DVC step")
    parser.add_argument("--skip-dvc", action="store_true", help="no DVC side")
    args = parser.parse_args()
    if args.files < PART or not 1 <= args.kib <= 63:
        raise SystemExit(f"--files must be at least {PART:,} and --kib 1 to 63")
    if not args.skip_dvc and not bench.DVC.exists():
        raise SystemExit(f"{bench.DVC} not found: run setup_venvs.sh or pass --skip-dvc")
    root = Path(tempfile.mkdtemp(prefix="lineal-scale-", dir=args.dir))
    need = args.files * 6 * 1024
    free = shutil.disk_usage(root).free
    if free < need:
        shutil.rmtree(root)
        raise SystemExit(f"{root}: {free >> 30} GiB free, need about {need >> 30} GiB")
    bench.header(args.skip_dvc)
    started = time.perf_counter()
    scratch = bench.Scratch()
    try:
        figures(scratch, root, args)
    finally:
        scratch.close()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(f"# done in {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
