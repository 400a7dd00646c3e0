"""Any command as a recorded run: inputs snapshotted before, outputs after, exit code → status.

The service behind `lineal run`; the caller decides where the child's output goes (``echo``),
this module only keeps its tail. Never prints, and never records a secret: the argv and the tails
are masked (lineal.model.masking) and a file that holds secrets is not cached as code. What
`lineal replay` needs to run the command again is recorded as a ``config`` artifact the run used
(role ``command``): the argv, and each input, code file and output with its path relative to the
working folder and its digest. The command's SDK calls attach to the run (see handshake.py).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineal import datasets
from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.model.entities import Artifact, Run
from lineal.model.masking import is_secret_file, mask_output, secret_values
from lineal.tracking import handshake
from lineal.tracking.capture import scrub_argv
from lineal.tracking.child import Echo, execute, last_lines
from lineal.tracking.runs import ActiveRun, start


@dataclass(frozen=True, slots=True)
class Bound:
    """An input already recorded (a scene, a config) and where the command finds it."""

    path: str  # as the command sees it, relative to its working folder
    artifact: Artifact
    role: str


@dataclass(frozen=True, slots=True)
class CommandResult:
    run: Run
    exit_code: int
    outputs: tuple[Artifact, ...]
    missing: tuple[str, ...]  # --out paths the command did not create
    #: every named artifact the run generated, in order: what the command logged through
    #: the SDK (``lineal.active_run().log_model``), then the outputs
    generated: tuple[Artifact, ...] = ()


def parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """``k=v`` → params; values that read as JSON numbers, booleans or null become those."""
    import json

    found: dict[str, Any] = {}
    for pair in pairs:
        key, eq, text = pair.partition("=")
        if not eq or not key:
            raise InvalidInput(f"bad --param {pair!r}: expected KEY=VALUE")
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested too deep: kept as text
            value = text
        found[key] = value if isinstance(value, int | float | bool) or value is None else text
    return found


def _name(argv: Sequence[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(argv[0]).name).strip("-._")
    return base[:128] or "command"


def _record_tail(run: ActiveRun, label: str, data: bytes, known: Sequence[str]) -> None:
    """Record a stream's tail as a ``report``: masked, bytes and meta alike (it is what a push
    sends to a remote), with ``known`` secrets (argv values, secret variables) hidden too."""
    data = mask_output(data, known)
    if not data:
        return
    cache = datasets.objects(run.repo)
    text = last_lines(data, 4096).decode("utf-8", "replace").replace("\x00", "")
    with cache.writing():  # a gc waits until the record names it
        digest = cache.add_bytes(data)
        cache.sync()  # durable before the record that names it
        report = run.repo.record_artifact(
            "report", digest=digest, size=len(data), meta={"stream": label, "tail": text}
        )
    run.repo.link("generated", run.ref, report, role=label)


_ROLE = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def run_command(
    repo: Lineal,
    argv: Sequence[str],
    *,
    name: str | None = None,
    inputs: Sequence[str] = (),
    outputs: Sequence[str] = (),
    params: Mapping[str, Any] | None = None,
    echo: Echo,
    env: Mapping[str, str] | None = None,
    bound: Sequence[Bound] = (),
    seed: int | None = None,
) -> CommandResult:
    """Run ``argv`` as a recorded run; the child's stdout/stderr go through ``echo``.

    Files named in ``argv`` inside the working folder (a script) are recorded as ``code``
    inputs; ``bound`` inputs are linked with their role. The child sees ``LINEAL_RUN`` (its
    SDK attaches to the run), the store, workspace and agent used (``LINEAL_URI``,
    ``LINEAL_DIR``, ``LINEAL_AGENT``), its summary channel, and ``LINEAL_SEED`` when a seed
    is given.
    """
    if not argv:
        raise InvalidInput("no command to run", hint="lineal run [OPTIONS] -- CMD [ARGS…]")
    if shutil.which(argv[0]) is None and not _exists(argv[0], "command", file=True):
        raise InvalidInput(f"command not found: {argv[0]}", hint="check the name and your PATH")
    roles = [_role_and_path(text) for text in inputs]
    for _, path in roles:
        if not _exists(path, "--in"):
            raise InvalidInput(f"input {path} does not exist", hint="check the --in path")
    for path in outputs:
        _exists(path, "--out")  # a path no command could create is refused before it runs
    run = start(repo, name or _name(argv), params=params, seed=seed)
    cwd = Path.cwd()
    channel: Path | None = None
    hidden: list[str] = []
    masked = scrub_argv(argv, hidden)
    try:
        channel = handshake.open_channel(run.ref)
        used, withheld = _use_inputs(run, argv, masked, roles, bound, cwd)
        extra = {
            **handshake.child_env(repo, run.ref, channel),
            **(env or {}),
            **({"LINEAL_SEED": str(seed)} if seed is not None else {}),
        }
        code = _execute(argv, echo, run, extra, hidden)
        run.summary(handshake.receive(channel))  # what the command set with run.summary
        made, missing = _record_outputs(run, outputs)
        made_paths = [p for p in outputs if p not in missing]
        made_pairs = list(zip(made_paths, made, strict=True))
        _record_spec(run, argv, masked, used, made_pairs, cwd, withheld)
        generated = _generated(run, made)
    except BaseException as exc:
        run.finish("killed" if isinstance(exc, KeyboardInterrupt) else "failed", error=str(exc))
        raise
    finally:
        if channel is not None:
            channel.unlink(missing_ok=True)
    status, error = _status(code, missing)
    info = run.finish(status, error=error)
    return CommandResult(info, code, tuple(made), tuple(missing), generated)


def _record_outputs(run: ActiveRun, outputs: Sequence[str]) -> tuple[list[Artifact], list[str]]:
    """Snapshot each ``--out`` path the command created; the artifacts and the missing paths."""
    made: list[Artifact] = []
    missing = []
    for path in outputs:
        target = Path(path)
        if not target.exists():
            missing.append(path)
            continue
        made.append(
            run.log_artifact(
                target,
                kind="dataset" if target.is_dir() else "file",
                name=datasets.default_name(target),
                role="output",
            )
        )
    return made, missing


def _status(code: int, missing: Sequence[str]) -> tuple[str, str | None]:
    if code < 0:
        return "killed", f"killed by signal {-code}"
    if code:
        return "failed", f"exit code {code}"
    if missing:
        return "failed", f"outputs not created: {', '.join(missing)}"
    return "finished", None


def _role_and_path(text: str) -> tuple[str, str]:
    """``--in PATH`` (role ``input``) or ``--in ROLE=PATH`` (``train=data/train``: a role such
    as train or eval, which label-schema checks read); an existing path is taken whole."""
    role, sep, path = text.partition("=")
    if sep and path and _ROLE.fullmatch(role) and not _exists(text, "--in"):
        return role, path
    return "input", text


def _exists(path: str, what: str, *, file: bool = False) -> bool:
    """Whether ``path`` exists (``file``: is a file). A path the system cannot look up at all
    (a name longer than it allows, a NUL byte) is refused, naming ``what`` it was given as."""
    try:
        return Path(path).is_file() if file else Path(path).exists()
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidInput(
            f"bad {what} path {path}: {reason}", hint=f"check the {what} path"
        ) from exc


def _use_inputs(
    run: ActiveRun,
    argv: Sequence[str],
    masked: Sequence[str],
    inputs: Sequence[tuple[str, str]],
    bound: Sequence[Bound],
    cwd: Path,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Record the run's inputs, bound inputs and code files; their replay entries, and the
    files ``argv`` names that were not recorded because they hold secrets."""
    used = []
    for role, path in inputs:
        artifact = run.use(path, role=role)
        used.append(_spec_entry(path, cwd, artifact, role))
    for one in bound:
        run.repo.link("used", one.artifact, run.ref, role=one.role)
        used.append({"path": one.path, "digest": one.artifact.digest, "node": one.artifact.node,
                     "role": one.role})  # fmt: skip
    taken = [*(p for _, p in inputs), *(b.path for b in bound)]
    codes, withheld = _code_files(argv, masked, taken, cwd)
    for code in codes:
        artifact = datasets.add_or_reuse(run.repo, code, kind="file")
        run.repo.link("used", artifact, run.ref, role="code")
        used.append(_spec_entry(str(code), cwd, artifact, "code"))
    return used, withheld


def _relative(path: str | Path, cwd: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), cwd.resolve())).as_posix()


def _spec_entry(path: str, cwd: Path, artifact: Artifact, role: str) -> dict[str, Any]:
    kind = "dir" if Path(path).is_dir() else "file"
    return {"path": _relative(path, cwd), "digest": artifact.digest, "node": artifact.node,
            "role": role, "type": kind}  # fmt: skip


def _code_files(
    argv: Sequence[str], masked: Sequence[str], inputs: Sequence[str], cwd: Path
) -> tuple[list[Path], list[str]]:
    """Files ``argv`` names inside the working folder (a script and its like), not inputs
    nor files inside an input folder (a scene's layer is the scene's, not code); and, apart,
    the files it names that hold secrets, never recorded nor cached: the value of a secret
    flag (``--password-file F``, which ``masked`` hides) or a secret's file name (``.env``)."""
    taken = {Path(p).resolve() for p in inputs}
    folders = [p for p in taken if p.is_dir()]
    found: list[Path] = []
    withheld: list[str] = []
    for arg, shown in zip(argv, masked, strict=True):
        if arg != shown:
            continue  # a hidden value: its name is no more recorded than its bytes
        path = Path(arg)
        try:
            if not path.is_file():
                continue
            resolved = path.resolve()
        except (OSError, ValueError):
            continue
        inside = any(resolved.is_relative_to(folder) for folder in folders)
        if resolved.is_relative_to(cwd.resolve()) and resolved not in taken and not inside:
            taken.add(resolved)
            if is_secret_file(path.name):
                withheld.append(_relative(path, cwd))
            else:
                found.append(path)
    return found, withheld


def _record_spec(
    run: ActiveRun,
    argv: Sequence[str],
    masked: list[str],
    used: list[dict[str, Any]],
    made: list[tuple[str, Artifact]],
    cwd: Path,
    withheld: list[str],
) -> None:
    """Record what a replay needs: argv (masked), inputs and outputs by path and digest, and
    the files withheld as secrets. A hidden secret or a withheld file cannot be replayed."""
    from lineal.model import canonical
    from lineal.model.digests import digest_bytes

    spec = {
        "type": "command",
        "argv": masked,
        "replayable": masked == list(argv) and not withheld,
        "inputs": used,
        "outputs": [{**_spec_entry(path, cwd, artifact, "output")} for path, artifact in made],
        **({"withheld": withheld} if withheld else {}),
    }
    digest = digest_bytes(canonical.encode(spec))
    repo = run.repo
    with repo.atomic():
        config = repo.unnamed(digest) or repo.record_artifact("config", digest=digest, meta=spec)
        repo.link("used", config, run.ref, role="command")


def _generated(run: ActiveRun, outputs: Sequence[Artifact]) -> tuple[Artifact, ...]:
    """The named artifacts ``run`` generated, in recording order (``outputs`` as recorded)."""
    known = {run.repo.node(artifact): artifact for artifact in outputs}
    found: list[Artifact] = []
    for edge in run.repo.edges(run.ref):
        if edge.kind != "generated" or edge.parent != run.ref:
            continue
        artifact = known.get(edge.child) or run.repo.resolve(edge.child)
        if isinstance(artifact, Artifact) and artifact.name is not None and artifact not in found:
            found.append(artifact)
    return tuple(found)


def _execute(
    argv: Sequence[str], echo: Echo, run: ActiveRun, env: Mapping[str, str], hidden: list[str]
) -> int:
    child = {**os.environ, **env}
    code, tails = execute(argv, echo, env=child)
    known = [*hidden, *secret_values(child)]
    for label, data in tails.items():
        _record_tail(run, label, data, known)
    return code
