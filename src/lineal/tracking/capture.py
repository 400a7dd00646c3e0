"""Automatic run capture: the software environment, the hardware, the git state and the context.

Never records a secret (env vars are allowlisted and secret names dropped; argv and values are
masked by lineal.model.masking) and never raises because of the machine: unknowns become None.
"""

from __future__ import annotations

import fnmatch
import getpass
import hashlib
import os
import platform
import re
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lineal.model.masking import (
    anonymize_url,
    is_secret_name,
    mask_argv,
    mask_text,
    secret_values,
)

#: Environment variables recorded by :func:`context` (plus the caller's ``allow``): the ones that
#: change what a training run computes or say where it ran, never the ones that hold secrets.
ENV_ALLOWLIST: frozenset[str] = frozenset({
    # devices, threads and determinism
    "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES",
    "CUDA_LAUNCH_BLOCKING", "CUBLAS_WORKSPACE_CONFIG", "PYTORCH_CUDA_ALLOC_CONF", "OMP_NUM_THREADS",
    "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS", "TF_DETERMINISTIC_OPS",
    "TF_CUDNN_DETERMINISTIC", "PYTHONHASHSEED", "PYTHONOPTIMIZE", "XLA_FLAGS", "NCCL_DEBUG",
    # distributed launchers and schedulers
    "WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_PORT", "SLURM_JOB_ID",
    "SLURM_JOB_NAME", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_PROCID", "SLURM_NTASKS",
    "SLURM_CLUSTER_NAME", "PBS_JOBID", "LSB_JOBID",
    # CI systems
    "CI", "GITHUB_ACTIONS", "GITHUB_SHA", "GITHUB_REF", "GITHUB_REPOSITORY", "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT", "GITHUB_WORKFLOW", "GITLAB_CI", "CI_PIPELINE_ID", "CI_JOB_ID",
    "CI_COMMIT_SHA", "BUILDKITE_BUILD_ID", "BUILD_NUMBER",
    # where and how the interpreter runs
    "HOSTNAME", "LANG", "LC_ALL", "TZ", "VIRTUAL_ENV", "CONDA_DEFAULT_ENV", "CONDA_PREFIX",
})  # fmt: skip

_NON_WORD = re.compile(r"[^A-Za-z0-9]+")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MOUNTED_ID = re.compile(r"containers/([0-9a-f]{64})/")  # docker's and podman's storage paths
_GIT_TIMEOUT = 10.0
_GPU_TIMEOUT = 2.0
_BIG_FILE = 8 << 20  # untracked files above this are hashed by size and mtime, to stay cheap
# Pin every option a user's config could change, so equal changes give equal digests anywhere.
_DIFF = ("-c", "core.quotePath=true", "diff", "HEAD", "--binary", "--full-index", "--no-color",
         "--no-ext-diff", "--no-textconv", "--no-renames", "--no-relative", "--src-prefix=a/",
         "--dst-prefix=b/", "-U3", "--inter-hunk-context=0", "--diff-algorithm=myers",
         "--indent-heuristic", "-O/dev/null", "--ignore-submodules=none")  # fmt: skip
_STATUS = ("status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all", "--no-renames")


def scrub_argv(argv: Sequence[str], found: list[str] | None = None) -> list[str]:
    """``argv`` made storable, with its secrets hidden (see lineal.model.masking.mask_argv);
    the values hidden go into ``found``."""
    return mask_argv([_text(str(arg)) for arg in argv], found)


def _text(value: str) -> str:
    """``value`` storable: no NUL, no lone surrogate (an undecodable byte becomes ``\\udcff``)."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\ufffd")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except (OSError, ValueError):
        return ""


def _run(args: Sequence[str], timeout: float, env: Mapping[str, str] | None = None) -> bytes | None:
    """The stdout of a finished command, or None if it could not run, failed or timed out."""
    try:
        done = subprocess.run(  # noqa: S603 - fixed argument lists, never a shell
            list(args), check=False, capture_output=True, stdin=subprocess.DEVNULL,
            timeout=timeout, env=env,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return done.stdout if done.returncode == 0 else None


def environment() -> dict[str, Any]:
    """What is identical for runs in the same software environment: Python, OS, installed
    packages and container image. Deterministic: no times, pids, ids or per-run paths."""
    try:
        libc = " ".join(platform.libc_ver()).strip()
    except (OSError, ValueError):
        libc = ""
    return {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
        },
        "os": {
            "system": _text(platform.system()) or None,
            "release": _text(platform.release()) or None,
            "machine": _text(platform.machine()) or None,
            "libc": _text(libc) or None,
        },
        "packages": _packages(),
        "container": _container(Path("/"), os.environ),
    }


def _packages() -> dict[str, str]:
    """Every installed distribution by PEP 503 name; the first on ``sys.path`` wins."""
    from importlib import metadata  # ~10 ms to import, and only this function needs it

    try:
        dists = list(metadata.distributions())
    except (OSError, ValueError):  # an unreadable sys.path entry
        dists = []
    found: dict[str, str] = {}
    for dist in dists:
        try:  # two headers read by hand: ~5x faster than dist.metadata's full email parse
            text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
        except (OSError, ValueError):  # a damaged install is left out, not fatal
            continue
        fields: dict[str, str] = {}
        for line in text.partition("\n\n")[0].splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() in ("name", "version"):
                fields.setdefault(key.strip().lower(), value.strip())
        if fields.get("name") and fields.get("version"):
            name = _NON_WORD.sub("-", fields["name"]).lower()  # runs of -_. are all it has
            found.setdefault(_text(name), _text(fields["version"]))
    return dict(sorted(found.items()))


def _container(root: Path, environ: Mapping[str, str]) -> dict[str, str] | None:
    """The container this process runs in, as far as the system says; None outside one.

    Holds no container id (see :func:`context`): a new container of one image is one environment.
    """
    found: dict[str, str] = {}
    if os.access(root / "run/.containerenv", os.F_OK):  # unlike Path.exists, never raises
        found["runtime"] = "podman"
        fields = _podman_fields(root)
        found.update({k: fields[f] for k, f in (("image", "image"), ("image_id", "imageid"))
                      if fields.get(f)})  # fmt: skip
    elif os.access(root / ".dockerenv", os.F_OK):
        found["runtime"] = "docker"
    if environ.get("CONTAINER_IMAGE"):
        found.setdefault("image", environ["CONTAINER_IMAGE"])
    if "@sha256:" in found.get("image", ""):
        found["image_digest"] = "sha256:" + found["image"].rsplit("@sha256:", 1)[1]
    if "KUBERNETES_SERVICE_HOST" in environ:
        found["orchestrator"] = "kubernetes"
    return {key: _text(value) for key, value in sorted(found.items())} or None


def _podman_fields(root: Path) -> dict[str, str]:
    pairs = (line.partition("=") for line in _read(root / "run/.containerenv").splitlines())
    return {key.strip(): value.strip().strip('"') for key, sep, value in pairs if sep}


def _container_id(root: Path) -> str | None:
    """The id of the container this process runs in, when the system says it; else None."""
    if podman := _podman_fields(root).get("id"):
        return _text(podman)
    for line in _read(root / "proc/self/cgroup").splitlines():
        if ids := _HEX64.findall(line.rpartition(":")[2]):
            return str(ids[-1])
    mounted = _MOUNTED_ID.search(_read(root / "proc/self/mountinfo"))
    return mounted[1] if mounted else None


def hardware() -> dict[str, Any]:
    """The CPU model and core count, total memory, and NVIDIA GPUs (via nvidia-smi, if any)."""
    cpuinfo = (line.partition(":") for line in _read(Path("/proc/cpuinfo")).splitlines())
    model = next((_text(v.strip()) for k, _, v in cpuinfo if k.strip() == "model name"), None)
    if model is None:
        try:  # costs a subprocess on Linux, so it is only the fallback
            model = _text(platform.processor()) or None
        except (OSError, ValueError):
            model = None
    try:  # on Linux the same figure as /proc/meminfo's MemTotal, without reading a file
        memory: int | None = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        memory = None
    return {"cpu": {"model": model, "cores": os.cpu_count()}, "memory_bytes": memory,
            "gpus": _gpus()}  # fmt: skip


def _gpus() -> list[dict[str, Any]]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    query = "--query-gpu=name,memory.total,driver_version,uuid"
    out = _run([smi, query, "--format=csv,noheader,nounits"], _GPU_TIMEOUT) or b""
    gpus: list[dict[str, Any]] = []
    for line in out.decode("utf-8", "replace").splitlines():
        fields = [_text(field.strip()) for field in line.rsplit(",", 3)]  # a name may hold ","
        if len(fields) == 4 and fields[0]:
            name, memory, driver, uuid = fields
            gpus.append({"name": name, "memory_mib": int(memory) if memory.isdecimal() else None,
                         "driver": driver or None, "uuid": uuid or None})  # fmt: skip
    return gpus


def code(path: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The git state of the repository containing ``path`` (default: the working directory),
    or None outside a git work tree or without git.

    ``diff_digest`` covers ``git diff HEAD --binary`` plus each untracked, non-ignored file's
    path and content; before the first commit (or if the diff fails) the changed files' contents.
    """
    git = shutil.which("git")
    try:
        start = Path.cwd() if path is None else Path(path)
        start = start if start.is_dir() else start.parent
    except OSError:
        return None
    # Status must not take the index lock: another git command may be running in this repo.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}
    if git is None:
        return None
    top = _run([git, "-C", str(start), "rev-parse", "--show-toplevel"], _GIT_TIMEOUT, env)
    if not top:
        return None
    root = Path(os.fsdecode(top.rstrip(b"\r\n")))
    in_root = [git, "-C", str(root)]
    status = _run([*in_root, *_STATUS], _GIT_TIMEOUT, env)
    if status is None:
        return None
    commit, branch, changed, untracked = _parse_status(status)
    digest = None
    if changed or untracked:
        hashed = hashlib.sha256()
        diff = _run([*in_root, *_DIFF], _GIT_TIMEOUT, env) if commit and changed else None
        if diff is None:  # nothing to diff, no commit to diff against, or git diff failed
            _hash_files(hashed, root, changed, b"tracked")
        else:
            hashed.update(diff)
        _hash_files(hashed, root, untracked, b"untracked")
        digest = f"sha256:{hashed.hexdigest()}"
    # The branch's upstream remote, else origin (or the only remote): from config, no network.
    remote = _run([*in_root, "ls-remote", "--get-url"], _GIT_TIMEOUT, env)
    return {
        "commit": commit,
        "branch": branch,
        "remote": anonymize_url(_text(os.fsdecode(remote.strip()))) if remote else None,
        "dirty": bool(changed or untracked),
        "diff_digest": digest,
        "root": _text(str(root)),
    }


def _parse_status(out: bytes) -> tuple[str | None, str | None, list[bytes], list[bytes]]:
    """Commit, branch, changed tracked paths and untracked paths from porcelain v2 -z output."""
    commit = branch = None
    changed: list[bytes] = []
    untracked: list[bytes] = []
    fields = iter(out.split(b"\0"))
    for field in fields:
        kind = field[:2]
        if field.startswith(b"# branch.oid "):
            commit = _text(field[13:].decode("utf-8", "replace"))
        elif field.startswith(b"# branch.head "):
            branch = _text(field[14:].decode("utf-8", "surrogateescape"))
        elif kind in (b"1 ", b"2 ", b"u "):
            # Fields before the path: 8 for changed, 9 for renamed, 10 for unmerged entries.
            changed.append(field.split(b" ", {b"1 ": 8, b"2 ": 9, b"u ": 10}[kind])[-1])
            if kind == b"2 ":
                next(fields, None)  # the rename's original path
        elif kind == b"? ":
            untracked.append(field[2:])
    commit = None if commit == "(initial)" else commit
    return commit, None if branch == "(detached)" else branch, changed, untracked


def _hash_files(into: Any, root: Path, paths: Iterable[bytes], label: bytes) -> None:
    """Feed each path and a digest of what is there now (content, link target, or a marker)."""
    for raw in sorted(paths):
        into.update(b"\0%s\0%s\0" % (label, raw))
        path = root / os.fsdecode(raw)
        try:
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                into.update(b"link:" + os.fsencode(path.readlink()))
            elif not stat.S_ISREG(info.st_mode):
                into.update(b"not a file")  # a nested repository shows as one untracked folder
            elif info.st_size > _BIG_FILE:
                into.update(b"size:%d mtime:%d" % (info.st_size, info.st_mtime_ns))
            else:
                with path.open("rb") as handle:
                    into.update(hashlib.file_digest(handle, "sha256").digest())
        except FileNotFoundError:
            into.update(b"missing")
        except OSError:
            into.update(b"unreadable")


def context(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    allow: Iterable[str] = (),
) -> dict[str, Any]:
    """What varies per run: who, where, which process, the scrubbed command line and the
    allowlisted environment (``ENV_ALLOWLIST`` plus ``allow``'s names or fnmatch patterns).

    A secret-looking variable name is never recorded, not even when allowed, and the values
    recorded are masked (a DSN's ``password=``, URL credentials, the value of a secret variable
    quoted in another); ``container_id`` is there only inside a container whose id shows.
    """
    patterns = [allow] if isinstance(allow, str) else list(allow)  # a bare "X_*" is one pattern
    allowed: dict[str, str] = {}
    environ = os.environ if env is None else env
    known = secret_values({k: v for k, v in environ.items() if isinstance(v, str)})
    for name, value in environ.items():
        if not isinstance(name, str) or not isinstance(value, str) or is_secret_name(name):
            continue
        if name in ENV_ALLOWLIST or any(fnmatch.fnmatchcase(name, p) for p in patterns):
            allowed[_text(name)] = mask_text(_text(value), known)
    found: dict[str, Any] = {
        "user": _attempt(getpass.getuser),
        "host": _attempt(socket.gethostname),
        "pid": os.getpid(),
        "argv": scrub_argv(sys.argv if argv is None else argv),
        "cwd": _attempt(os.getcwd),
        "executable": _text(sys.executable or "") or None,
        "env": dict(sorted(allowed.items())),
    }
    if (container_id := _container_id(Path("/"))) is not None:
        found["container_id"] = container_id
    return found


def _attempt(read: Callable[[], str]) -> str | None:
    try:
        return _text(read()) or None
    except (OSError, KeyError, ImportError):  # no login name, a deleted working directory
        return None
