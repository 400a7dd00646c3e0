"""Dataset snapshots: `lineal add` and `lineal status` side by side with DVC, hashlib and openssl.

Every figure is the wall time of a whole process, start-up included, as the peers in
../shared/bench/peers/ are measured. Ours and the reference alternate within each repetition
(the machine is shared and noisy) and medians are reported. Each `lineal` run gets a fresh
workspace (`lineal init --agent bench` in a new folder; the data is passed as an absolute path
and stays where it is); each DVC run gets a fresh `dvc init --no-scm` repo holding a copy of the
data, exactly as the peers' bench_hash.py does (the copy is not timed). Data sit in the page
cache (warm cache), so this measures hashing, copying and file-system cost, not the disk.

Data (generated once, reused; BENCH_DIR, default /tmp/peers-bench):
  hash/small, hash/big.bin   the peers' set: 20,000 x 4 KiB files in nested folders, one 1 GiB file
  snapshot-200k/tree         200,000 x 1 KiB files in 10 parts of 20,000 (p00 is the 20k subset)

Floors, measured in the same run: a plain Python process that walks the tree and stats every
file (what any status must do), `dd bs=1M conv=fdatasync` (a durable copy of the same bytes),
and the peers' single-threaded hashlib loop (hash_files.py); a one-file add shows start-up.

Prints one line per figure: name, ours, reference, ratio (ours / reference), the issue's goal,
then the spread of the runs and our peak RSS.

    python bench/snapshot.py [--runs 3] [--quick] [--skip-dvc] [--skip-many]
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TypeVar

REPO = Path(__file__).resolve().parents[1]
PEERS = Path(os.environ.get("PEERS_DIR", str(REPO.parent / "shared" / "bench" / "peers")))
PEERS_VENV = Path(os.environ.get("PEERS_VENV", str(Path(tempfile.gettempdir()) / "peers-venv")))

SMALL_FILES, SMALL_KIB, BIG_MIB = 20_000, 4, 1024
MANY_FILES, MANY_KIB, PART = 200_000, 1, 20_000
RSS_LIMIT_MB = 400

A = TypeVar("A")
B = TypeVar("B")


def _peers() -> tuple[ModuleType, ModuleType]:
    """The shared helpers, imported by path (the shared folder is read-only and not copied)."""
    if str(PEERS) not in sys.path:
        sys.path.insert(0, str(PEERS))
    return importlib.import_module("benchlib"), importlib.import_module("bench_hash")


benchlib, bench_hash = _peers()
BENCH_DIR = Path(benchlib.BENCH_DIR)
HASH_FILES = PEERS / "hash_files.py"


def _lineal_bin() -> Path:
    if "LINEAL_BIN" in os.environ:
        return Path(os.environ["LINEAL_BIN"])
    beside = Path(sys.executable).parent / "lineal"
    return beside if beside.exists() else REPO / ".venv" / "bin" / "lineal"


LINEAL = _lineal_bin()
DVC = PEERS_VENV / "bin" / "dvc"
# Our runs must find the temp workspace, not a store named by the caller's environment.
LINEAL_ENV = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}


# --- running and timing -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    seconds: float
    rss_mb: float  # the child's peak resident set (ru_maxrss)
    out: str


def run(cmd: list[str | Path], cwd: Path | None = None, env: dict[str, str] | None = None) -> Run:
    """One whole process, timed from spawn to exit; its peak RSS from wait4."""
    subprocess.run(["sync"], check=True)  # the previous step's dirty pages are not charged here
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(c) for c in cmd],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, problem = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(
            f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{problem[-3000:]}"
        )
    return Run(seconds, usage.ru_maxrss / 1024, text)


def expect(result: Run, text: str, what: str) -> Run:
    """A figure counts only if the command did the work it was asked to do."""
    if text not in result.out:
        raise SystemExit(f"{what}: expected {text!r} in its output, got:\n{result.out[-2000:]}")
    return result


def alternate(runs: int, ours: Callable[[], A], ref: Callable[[], B]) -> tuple[list[A], list[B]]:
    """Ours and the reference in turn, swapping who goes first, so drift hits both alike."""
    mine: list[A] = []
    theirs: list[B] = []
    for i in range(runs):
        if i % 2:
            theirs.append(ref())
            mine.append(ours())
        else:
            mine.append(ours())
            theirs.append(ref())
    return mine, theirs


class Scratch:
    """Temp workspaces and DVC repos of this run, on the same file system as the data."""

    def __init__(self) -> None:
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix="snapshot-tmp-", dir=BENCH_DIR))

    def folder(self, prefix: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.root))

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def lineal_add(
    scratch: Scratch,
    target: Path,
    name: str,
    files: int,
    *,
    ref_only: bool = False,
    then_status: bool = False,
) -> list[Run]:
    """`lineal add` (and `lineal status`) in a fresh workspace; the data stays where it is."""
    ws = scratch.folder("ws-")
    try:
        subprocess.run(
            [str(LINEAL), "init", "--agent", "bench"],
            cwd=ws,
            env=LINEAL_ENV,
            check=True,
            capture_output=True,
        )
        cmd: list[str | Path] = [LINEAL, "add", target.resolve(), "--name", f"dataset/{name}"]
        if ref_only:
            cmd.append("--ref-only")
        runs = [expect(run(cmd, ws, LINEAL_ENV), f"{files:,} files", "lineal add")]
        if then_status:
            runs.append(expect(run([LINEAL, "status"], ws, LINEAL_ENV), "up to date", "status"))
        return runs
    finally:
        shutil.rmtree(ws, ignore_errors=True)


def dvc_add(scratch: Scratch, src: Path) -> list[Run]:
    """`dvc add` (first) then `dvc status`, in a fresh repo with a copy of the data."""
    env = bench_hash.dvc_env(str(src.parent))
    shutil.rmtree(env["DVC_SITE_CACHE_DIR"], ignore_errors=True)
    repo = scratch.folder("dvc-")
    try:
        subprocess.run([str(DVC), "init", "--no-scm", "-q"], cwd=repo, env=env, check=True)
        shutil.copytree(src, repo / src.name)
        added = run([DVC, "add", "-q", src.name], repo, env)
        return [added, run([DVC, "status", "-q"], repo, env)]
    finally:
        shutil.rmtree(repo, ignore_errors=True)


def hashlib_sha256(target: Path, files: int) -> Run:
    """The peers' plain-Python reference: one thread, hashlib sha256, 1 MiB buffer."""
    return expect(
        run([sys.executable, HASH_FILES, "--algo", "sha256", target]), f"files={files}", "hashlib"
    )


#: The least a `status` in Python does on an unchanged tree: walk it, stat every file, print.
_STAT_FLOOR = """
import os, sys
stack, count = [sys.argv[1]], 0
while stack:
    with os.scandir(stack.pop()) as found:
        for entry in found:
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
            else:
                os.stat(entry.path)
                count += 1
print(f"files={count}")
"""


def stat_floor(target: Path, files: int) -> Run:
    """A plain Python process that walks ``target`` and stats every file (no lineal)."""
    return expect(run([sys.executable, "-c", _STAT_FLOOR, target]), f"files={files}", "floor")


def dd_copy(scratch: Scratch, src: Path) -> Run:
    """The durable-copy floor: ``dd bs=1M conv=fdatasync`` of the same bytes, a new file."""
    folder = scratch.folder("dd-")
    try:
        return run(["dd", f"if={src}", f"of={folder / 'copy'}", "bs=1M", "conv=fdatasync"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- reporting ----------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


def _num(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:>8.3f} s"
    return f"{value:>8,.0f} {unit}"


def _short(value: float, unit: str) -> str:
    return f"{value:.3g}" if unit == "s" else f"{value:,.0f}"


def line(
    name: str,
    ours: list[float],
    ref: list[float] | None,
    unit: str,
    *,
    goal: str = "",
    met: bool | None = None,
    rss: list[float] | None = None,
) -> None:
    """One figure: medians of ours and the reference, their ratio, the goal, the spread."""
    mine = median(ours)
    text = f"{name:<51} ours {_num(mine, unit)}"
    spread = f"n={len(ours)} ours {_short(min(ours), unit)}-{_short(max(ours), unit)}"
    if ref:
        theirs = median(ref)
        text += f"   ref {_num(theirs, unit)}   ratio {mine / theirs:6.3f}"
        spread += f", ref {_short(min(ref), unit)}-{_short(max(ref), unit)}"
    else:
        text += f"   ref {'-':>{len(_num(0, unit))}}   ratio {'-':>6}"
    if goal:
        text += f"   goal {goal}" + ("" if met is None else (" met" if met else " MISSED"))
    if rss:
        spread += f"; our peak RSS {max(rss):,.0f} MB"
    print(f"{text}   [{spread}]", flush=True)


def ratio_goal(ours: list[float], ref: list[float] | None, limit: float) -> bool | None:
    return None if not ref else median(ours) / median(ref) <= limit


# --- data ---------------------------------------------------------------------------------


def peers_data() -> tuple[Path, Path]:
    """The peers' data set, shared with bench_hash.py (generated once; marker file)."""
    small, big = bench_hash.gen_data(str(BENCH_DIR / "hash"), SMALL_FILES, SMALL_KIB, BIG_MIB)
    return Path(small), Path(big)


def many_files() -> Path:
    """200,000 x 1 KiB in parts of 20,000 laid out like the peers' set (20 x 20 x 50)."""
    root = BENCH_DIR / "snapshot-200k"
    tree = root / "tree"
    marker = root / f".done-{MANY_FILES}-{MANY_KIB}"
    if marker.exists():
        return tree
    print(f"# generating {MANY_FILES:,} x {MANY_KIB} KiB files in {tree}", flush=True)
    shutil.rmtree(root, ignore_errors=True)
    for k in range(MANY_FILES):
        part, rest = divmod(k, PART)
        leaf, slot = divmod(rest, 50)
        folder = tree / f"p{part:02d}" / f"d{leaf // 20:02d}" / f"s{leaf % 20:02d}"
        if slot == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{k:06d}.bin").write_bytes(os.urandom(MANY_KIB * 1024))
    subprocess.run(["sync"], check=True)
    marker.touch()
    return tree


def warm(target: Path, files: int) -> None:
    """Read the data once so every timed run sees the same warm page and dentry caches."""
    hashlib_sha256(target, files)


# --- the figures --------------------------------------------------------------------------


def bench_small(scratch: Scratch, small: Path, runs: int, skip_dvc: bool) -> None:
    n = SMALL_FILES
    warm(small, n)
    ours, ref = alternate(
        runs,
        lambda: lineal_add(scratch, small, "small", n, then_status=True),
        (lambda: dvc_add(scratch, small)) if not skip_dvc else (lambda: []),
    )
    add = [r[0].seconds for r in ours]
    status = [r[1].seconds for r in ours]
    rss = [r[0].rss_mb for r in ours]
    dvc_first = [r[0].seconds for r in ref if r] or None
    dvc_status = [r[1].seconds for r in ref if r] or None
    label = "20k x 4 KiB"
    line(
        f"{label}: add (hash+cache) vs dvc add",
        add,
        dvc_first,
        "s",
        goal="<= 0.10",
        met=ratio_goal(add, dvc_first, 0.10),
        rss=rss,
    )
    line(
        f"{label}: status (no change) vs dvc status",
        status,
        dvc_status,
        "s",
        goal="<= 0.10",
        met=ratio_goal(status, dvc_status, 0.10),
        rss=[r[1].rss_mb for r in ours],
    )
    floor = [stat_floor(small, n) for _ in range(runs)]
    line(
        f"{label}: status (no change) vs its floor",
        status,
        [r.seconds for r in floor],
        "s",
    )
    one = small / "d00" / "s00" / "f00000.bin"
    start, base_start = alternate(
        runs,
        lambda: lineal_add(scratch, one, "one", 1, ref_only=True)[0],
        lambda: hashlib_sha256(one, 1),
    )
    line(
        "1 file: add --ref-only (start-up) vs hashlib sha256",
        [r.seconds for r in start],
        [r.seconds for r in base_start],
        "s",
        rss=[r.rss_mb for r in start],
    )
    mine, plain = alternate(
        runs,
        lambda: lineal_add(scratch, small, "small", n, ref_only=True)[0],
        lambda: hashlib_sha256(small, n),
    )
    secs, base = [r.seconds for r in mine], [r.seconds for r in plain]
    line(
        f"{label}: add --ref-only vs hashlib sha256",
        secs,
        base,
        "s",
        goal="<= 1.5",
        met=ratio_goal(secs, base, 1.5),
        rss=[r.rss_mb for r in mine],
    )


def bench_big(scratch: Scratch, big: Path, runs: int) -> None:
    warm(big, 1)
    mine, floor = alternate(
        runs,
        lambda: lineal_add(scratch, big, "big", 1)[0],
        lambda: dd_copy(scratch, big),
    )
    secs, ref = [r.seconds for r in mine], [r.seconds for r in floor]
    line(
        "1 GiB file: add (hash+cache) vs dd conv=fdatasync",
        secs,
        ref,
        "s",
        goal="<= 1.1",
        met=ratio_goal(secs, ref, 1.1),
        rss=[r.rss_mb for r in mine],
    )
    openssl = ["openssl", "dgst", "-sha256", big]
    for ref_only, label in ((False, "add (hash+cache)"), (True, "add --ref-only")):
        mine, base = alternate(
            runs,
            lambda ref_only=ref_only: lineal_add(scratch, big, "big", 1, ref_only=ref_only)[0],
            lambda: expect(run(openssl), "SHA2-256", "openssl"),
        )
        secs, ref = [r.seconds for r in mine], [r.seconds for r in base]
        line(
            f"1 GiB file: {label} vs openssl dgst",
            secs,
            ref,
            "s",
            goal="<= 1.2" if not ref_only else "",
            met=ratio_goal(secs, ref, 1.2) if not ref_only else None,
            rss=[r.rss_mb for r in mine],
        )


def _scaling(label: str, large: list[Run], small: list[Run], fixed: list[Run]) -> None:
    """files/s at 200k against 20k; linear growth means the same time per file at both sizes."""
    rate_large = [MANY_FILES / r.seconds for r in large]
    rate_small = [PART / r.seconds for r in small]
    raw = median(rate_small) / median(rate_large)  # per-file time, 200k over 20k
    # Whole-process times carry a fixed start-up cost that flatters the larger run; net of the
    # cost of adding one file, the per-file times compare the work itself.
    base = median([r.seconds for r in fixed])
    net_large = (median([r.seconds for r in large]) - base) / MANY_FILES
    net_small = (median([r.seconds for r in small]) - base) / PART
    net = net_large / net_small
    line(
        f"200k x 1 KiB: {label} files/s, 200k vs 20k",
        rate_large,
        rate_small,
        "files/s",
        goal=f"linear: per-file time x{net:.2f} net of {base:.2f} s start-up "
        f"(x{raw:.2f} raw), <= 1.2",
        met=net <= 1.2,
    )
    peak = [r.rss_mb for r in large]
    line(
        f"200k x 1 KiB: {label} peak RSS, 200k vs 20k",
        peak,
        [r.rss_mb for r in small],
        "MB",
        goal=f"< {RSS_LIMIT_MB} MB",
        met=max(peak) < RSS_LIMIT_MB,
    )


def bench_many(scratch: Scratch, tree: Path, runs: int) -> None:
    subset = tree / "p00"
    one = subset / "d00" / "s00" / "f000000.bin"
    warm(tree, MANY_FILES)
    warm(subset, PART)
    for ref_only, label in ((True, "add --ref-only"), (False, "add (hash+cache)")):

        def at(path: Path, files: int, ref_only: bool = ref_only) -> Run:
            return lineal_add(scratch, path, "many", files, ref_only=ref_only)[0]

        large, small = alternate(
            runs, lambda at=at: at(tree, MANY_FILES), lambda at=at: at(subset, PART)
        )
        fixed = [at(one, 1) for _ in range(runs)]
        _scaling(label, large, small, fixed)
        if ref_only:
            mine, base = alternate(
                runs, lambda at=at: at(tree, MANY_FILES), lambda: hashlib_sha256(tree, MANY_FILES)
            )
            line(
                f"200k x 1 KiB: {label} vs hashlib sha256",
                [r.seconds for r in mine],
                [r.seconds for r in base],
                "s",
                rss=[r.rss_mb for r in mine],
            )


def compile_ours() -> None:
    """Write our modules' bytecode, as installing a wheel does (pip compiles what it installs).

    An editable install runs from the sources, and with PYTHONDONTWRITEBYTECODE set (as on
    this machine) every `lineal` process would compile all it imports (~75 ms), a cost no
    installed copy pays and the peers, installed from wheels, do not pay either.
    """
    python = LINEAL.parent / "python"
    where = subprocess.run(
        [str(python), "-c", "import lineal, os; print(os.path.dirname(lineal.__file__))"],
        env=LINEAL_ENV,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run([str(python), "-m", "compileall", "-q", where], check=True)


def _version(cmd: list[str | Path], env: dict[str, str] | None = None) -> str:
    try:
        found = subprocess.run(
            [str(c) for c in cmd], capture_output=True, text=True, env=env, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return found.stdout.strip().splitlines()[0] if found.stdout.strip() else "?"


def header(skip_dvc: bool) -> None:
    rev = _version(["git", "-C", REPO, "describe", "--always", "--dirty"])
    dvc = "skipped" if skip_dvc else _version([DVC, "--version"])
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"# lineal snapshot bench: {benchlib.machine_line()}; lineal {rev}; dvc {dvc}; "
        f"{_version(['openssl', 'version']).split(' (')[0]}; data in {BENCH_DIR}; load {load}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions per figure (median)")
    parser.add_argument("--quick", action="store_true", help="skip the 1 GiB and 200k parts, 1 run")
    parser.add_argument("--skip-dvc", action="store_true", help="no DVC side (no peers venv)")
    parser.add_argument("--skip-many", action="store_true", help="skip the 200k part")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    if not args.skip_dvc and not DVC.exists():
        raise SystemExit(f"{DVC} not found: run ../shared/bench/peers/setup_venvs.sh or --skip-dvc")
    header(args.skip_dvc)
    started = time.perf_counter()
    small, big = peers_data()
    tree = None if args.quick or args.skip_many else many_files()
    compile_ours()
    if not args.skip_dvc:
        run([DVC, "version"], env=bench_hash.dvc_env(str(small.parent)))
    scratch = Scratch()
    try:
        bench_small(scratch, small, runs, args.skip_dvc)
        if not args.quick:
            bench_big(scratch, big, runs)
        if tree is not None:
            bench_many(scratch, tree, runs)
    finally:
        scratch.close()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"# done in {time.perf_counter() - started:.0f} s; load {load}", flush=True)


if __name__ == "__main__":
    main()
