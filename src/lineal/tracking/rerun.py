"""Replay a recorded command run: check its inputs out of the cache into a sandbox, run the
same command there, and compare every output's digest with the recorded one.

Reads the store and the cache and writes only inside the sandbox; records nothing, never
prints (the caller decides where the child's output goes).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lineal import datasets
from lineal.cas.manifest import Entry, Manifest
from lineal.cas.progress import Progress, stage
from lineal.cas.scan import snapshot
from lineal.client import Lineal
from lineal.errors import Conflict, InvalidInput, NotFound
from lineal.model import canonical
from lineal.model.entities import Artifact, Run
from lineal.model.masking import HIDDEN
from lineal.worktree import materialise

NOT_RECORDED = "nothing was recorded; the sandbox is removed"

Echo = Callable[[str, bytes], None]


@dataclass(frozen=True, slots=True)
class OutputCheck:
    path: str
    recorded: str
    replayed: str | None  # None: the replay did not create it
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    @property
    def same(self) -> bool:
        return self.recorded == self.replayed


@dataclass(frozen=True, slots=True)
class ReplayResult:
    run: Run
    sandbox: Path
    kept: bool
    exit_code: int
    recorded_status: str
    outputs: tuple[OutputCheck, ...] = field(default_factory=tuple)

    @property
    def reproducible(self) -> bool:
        return self.exit_code == 0 and all(o.same for o in self.outputs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.ref,
            "reproducible": self.reproducible,
            "exit_code": self.exit_code,
            "sandbox": str(self.sandbox) if self.kept else None,
            "outputs": [
                {
                    "path": o.path,
                    "same": o.same,
                    "recorded": o.recorded,
                    "replayed": o.replayed,
                    "added": list(o.added),
                    "removed": list(o.removed),
                    "changed": list(o.changed),
                }
                for o in self.outputs
            ],
        }


def command_spec(repo: Lineal, run: Run) -> dict[str, Any]:
    """What the run recorded for a replay (see lineal.tracking.command), or InvalidInput."""
    for edge in repo.edges(run):
        if edge.kind == "used" and edge.child == f"run/{run.id}" and edge.role == "command":
            found = repo.resolve(edge.parent)
            if isinstance(found, Artifact) and found.meta.get("type") == "command":
                return dict(found.meta)
    raise InvalidInput(
        f"{run.ref} has no recorded command to re-execute",
        hint="replay works on runs recorded by `lineal run -- CMD` or lineal.scenes.generation_run",
    )


def _inside(sandbox: Path, work: Path, relative: str) -> Path:
    target = (work / relative).resolve()
    if not target.is_relative_to(sandbox.resolve()):
        raise InvalidInput(f"recorded path {relative!r} leaves the sandbox")
    return target


def _entries(repo: Lineal, artifact: Artifact) -> tuple[list[Entry], bool]:
    """The files an input holds: a scene's layers and assets, a config's canonical bytes, or
    a snapshot's manifest; and whether the artifact is the bytes of one file."""
    cache = datasets.objects(repo)
    if not cache.has(artifact.digest):
        raise NotFound(
            f"{artifact.ref} is not in the local cache",
            hint=f"run `lineal pull {artifact.ref}` to fetch it from a remote",
        )
    if artifact.kind == "scene":
        listing = canonical.decode(cache.read_bytes(artifact.digest))
        sizes = {e["path"]: e["size"] for e in artifact.meta.get("layers", [])}
        sizes.update({e["path"]: e["size"] for e in artifact.meta.get("assets", [])})
        entries = [
            Entry(path=path, digest=digest, size=sizes.get(path, 0))
            for path, _, digest in listing["files"]
        ]
        return entries, False
    if "files" in artifact.meta:
        manifest = Manifest.decode(cache.read_bytes(artifact.digest), expected=artifact.digest)
        return list(manifest.entries), False
    return [Entry(path="content", digest=artifact.digest, size=artifact.size or 0)], True


def _recorded(repo: Lineal, one: dict[str, Any]) -> Artifact:
    """The artifact a spec entry recorded: its node, or (specs recorded before entries named
    their node) any artifact holding its bytes, which are all a replay needs of it."""
    if "node" in one:
        found = repo.resolve(one["node"])
        if isinstance(found, Artifact):
            return found
    holders = repo.holders(one["digest"])
    if not holders:
        raise NotFound(f"no artifact holds {one['digest']}", hint="`lineal verify` the store")
    return holders[0]


def _check_out(
    repo: Lineal, spec: dict[str, Any], sandbox: Path, work: Path, progress: Progress | None
) -> None:
    cache = datasets.objects(repo)
    planned: list[tuple[Entry, Path]] = []
    for one in spec["inputs"]:
        artifact = _recorded(repo, one)
        entries, whole = _entries(repo, artifact)
        missing = cache.missing(e.digest for e in entries)
        if missing:
            raise NotFound(
                f"{len(missing)} files of {artifact.ref} are not in the local cache",
                hint="`lineal pull` them from a remote, then replay again",
            )
        target = _inside(sandbox, work, one["path"])
        single = whole or one.get("type") == "file"
        planned.extend((entry, target if single else target / entry.path) for entry in entries)
    for done, (entry, dest) in enumerate(planned, start=1):
        materialise(cache, entry, dest)
        if progress is not None:
            progress(done, len(planned))


def _depth(spec: dict[str, Any]) -> int:
    """How far above the working folder the recorded paths reach (``../`` levels)."""
    deepest = 0
    for one in [*spec["inputs"], *spec["outputs"]]:
        parts = Path(one["path"]).parts
        deepest = max(deepest, next((i for i, p in enumerate(parts) if p != ".."), len(parts)))
    return deepest


def _compare(repo: Lineal, one: dict[str, Any], work: Path) -> OutputCheck:
    from lineal.cas.manifest import diff

    target = work / one["path"]
    if not target.exists():
        return OutputCheck(one["path"], one["digest"], None)
    made = snapshot([target], objects=None, stat_cache=None).manifest
    if made.digest == one["digest"]:
        return OutputCheck(one["path"], one["digest"], made.digest)
    recorded = _recorded(repo, one)
    try:
        changes = diff(datasets.manifest_of(repo, recorded), made)
    except NotFound:
        return OutputCheck(one["path"], one["digest"], made.digest)
    return OutputCheck(
        one["path"],
        one["digest"],
        made.digest,
        added=tuple(e.path for e in changes.added),
        removed=tuple(e.path for e in changes.removed),
        changed=tuple(old.path for old, _ in changes.modified),
    )


def _not_recorded(spec: Mapping[str, Any]) -> str:
    """Why a command spec cannot be replayed: what of its command line was not recorded."""
    import shlex

    argv = [str(arg) for arg in spec.get("argv", [])]
    withheld = list(spec.get("withheld", []))
    if any(HIDDEN in arg for arg in argv):
        return f"its command line held secrets, recorded masked: {shlex.join(argv)}"
    if withheld:
        return f"it named files that hold secrets, never recorded ({', '.join(withheld)})"
    return "its command line was not recorded exactly (it held bytes that are not text)"


def replay(
    repo: Lineal,
    ref: str,
    *,
    keep: Path | None = None,
    echo: Echo,
    progress: Progress | None = None,
) -> ReplayResult:
    """Re-execute ``ref``'s command in a sandbox (``keep``, or a temporary folder removed
    afterwards) and compare its outputs with the recorded ones."""
    from lineal.tracking.child import execute

    run = repo.resolve(ref if ref.startswith("run/") else f"run/{ref}")
    if not isinstance(run, Run):
        raise InvalidInput(f"{ref} is an artifact, not a run", hint="pass run/ULID")
    spec = command_spec(repo, run)
    if not spec.get("replayable", False):
        raise InvalidInput(
            f"{run.ref} cannot be replayed: {_not_recorded(spec)}",
            hint="pass secrets through the environment (or a file the command finds itself), "
            "not on the command line",
        )
    if keep is not None and keep.exists() and any(keep.iterdir()):
        raise Conflict(f"{keep} is not empty", hint="pass a new or empty folder to --keep")
    sandbox = keep if keep is not None else Path(tempfile.mkdtemp(prefix="lineal-replay-"))
    work = sandbox.joinpath(*(["work"] * (_depth(spec) + 1)))
    left = (
        f"nothing was recorded; {keep} holds the replay as far as it got" if keep else NOT_RECORDED
    )
    try:
        work.mkdir(parents=True, exist_ok=True)
        stage(progress, "checking out inputs", "checked out", unit="files", after=left)
        _check_out(repo, spec, sandbox, work, progress)
        seed = run.meta.get("seed")
        env = {"LINEAL_REPLAY": run.ref, **({"LINEAL_SEED": str(seed)} if seed is not None else {})}
        # The command's output goes to the terminal: no progress bar over it meanwhile.
        stage(progress, f"running {spec['argv'][0]}", after=left, live=False)
        code, _ = execute(spec["argv"], echo, cwd=work, env={**os.environ, **env})
        outputs = spec["outputs"]
        stage(progress, "comparing outputs", "compared", unit="outputs", after=left)
        checks = []
        for done, one in enumerate(outputs, start=1):
            checks.append(_compare(repo, one, work))
            if progress is not None:
                progress(done, len(outputs))
    finally:
        if keep is None:
            shutil.rmtree(sandbox, ignore_errors=True)
    return ReplayResult(run, work, keep is not None, code, run.status, tuple(checks))
