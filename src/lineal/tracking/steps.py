"""Pipeline steps: ``@lineal.step`` records each call of a function as a run and reuses results.

Never serves a cached result it cannot verify byte for byte (a missing object is a miss, a
damaged one an IntegrityError), never caches a failed call, and never prints.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import re
import textwrap
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, overload

from lineal import datasets
from lineal.cas.manifest import Manifest
from lineal.cas.scan import snapshot
from lineal.client import Lineal
from lineal.errors import IntegrityError, InvalidInput
from lineal.model import canonical
from lineal.model.digests import digest_bytes
from lineal.model.entities import Artifact
from lineal.model.refs import parse
from lineal.tracking.lifecycle import active_run
from lineal.tracking.runs import ActiveRun, start
from lineal.tracking.versions import drift_recorded
from lineal.worktree import materialise

P = ParamSpec("P")
R = TypeVar("R")

STEP_TAG = "lineal.step"  # the cache key, on runs that can serve later calls
HIT_TAG = "lineal.cache_hit"  # on a run that replayed another: that run's ref
RETURNS_TAG = "lineal.returns"  # none, path, str-path, json, tuple:N or list:N
OUTPUTS_TAG = "lineal.outputs"  # canonical JSON: what each returned value was, and where
CODE_TAG = "lineal.step.code"  # the digest of the function's identity, on every step run
OUT_ARGS_TAG = "lineal.step.out_args"  # arguments that named where a returned path was written


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """One call, classified: params, input artifacts by argument name, and its cache key."""

    params: Mapping[str, Any]
    inputs: Mapping[str, Artifact]
    code: str  # the digest of the function's identity
    key: str | None  # None: something in the call cannot be keyed, so it is not cached


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Output:
    """One recorded return value: its role, form (path, str-path, json) and artifact digest."""

    role: str
    form: str
    digest: str
    path: str | None = None  # the path as returned
    at: str | None = None  # where it lay, relative to the workspace's folder when inside it
    folder: bool = False
    node: str | None = None  # its lineage node (a named version's own); None: the digest

    def __post_init__(self) -> None:
        if self.form not in ("path", "str-path", "json"):
            raise InvalidInput(f"bad step output form {self.form!r}: expected path, str-path, json")


# -- the cache key --------------------------------------------------------------------------
def _code_bytes(code: types.CodeType) -> bytes:
    """Bytecode, names and constants; nested code objects by content, not by address."""
    parts = [code.co_code, repr(code.co_names).encode()]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            parts.append(_code_bytes(const))
        elif isinstance(const, frozenset):  # its order follows the string hash seed
            parts.append(repr(sorted(map(repr, const))).encode())
        else:
            parts.append(repr(const).encode())
    return b"\x00".join(parts)


def code_identity(func: Callable[..., Any]) -> dict[str, str]:
    """What the key knows of a function: its qualified name and the digest of its source."""
    target = inspect.unwrap(func)
    try:
        body = textwrap.dedent(inspect.getsource(target)).encode()
    except (OSError, TypeError):  # defined by exec, in a REPL, or a builtin
        code = getattr(target, "__code__", None)
        body = _code_bytes(code) if code is not None else repr(target).encode()
    name = f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', '')}"
    return {"name": name, "source": digest_bytes(body)}


def _encodable(value: Any) -> bool:
    with contextlib.suppress(InvalidInput):
        return bool(canonical.encode(value))
    return False


def _existing(value: Any) -> Path | None:
    """The file or folder a Path or str names, if it exists (never an error for odd text)."""
    if not isinstance(value, str | Path) or value == "" or str(value).startswith("sha256:"):
        return None
    with contextlib.suppress(OSError, ValueError):  # a name too long, a NUL: text, not a path
        return Path(value) if Path(value).exists() else None
    return None


def _scan(repo: Lineal, path: Path) -> Manifest:
    stats = datasets.stat_cache(repo)
    try:
        return snapshot([path], objects=None, stat_cache=stats).manifest
    finally:
        stats.close()


def _snapshot(repo: Lineal, path: Path, kind: str, meta: Mapping[str, Any] | None) -> Artifact:
    return drift_recorded(repo, datasets.add_or_reuse(repo, path, kind=kind, meta=meta))


def _input(repo: Lineal, value: Any) -> Artifact | None:
    """The artifact an argument names, or None when it is a plain param."""
    if isinstance(value, Artifact):
        return value
    if (path := _existing(value)) is not None:
        return _snapshot(repo, path, "dataset", None)
    if not isinstance(value, str):
        return None
    try:
        ref = parse(value)
    except InvalidInput:
        return None
    found = None if ref.is_run else repo.resolve(ref)
    return found if isinstance(found, Artifact) else None


def classify(repo: Lineal, identity: Mapping[str, str], bound: inspect.BoundArguments) -> Call:
    """Split a call's arguments into params and inputs, and compute its cache key."""
    code = digest_bytes(canonical.encode(dict(identity)))
    params: dict[str, Any] = {}
    inputs: dict[str, Artifact] = {}
    keyable = True
    rows = repo.store.tag_values_beside(OUT_ARGS_TAG, where_key=CODE_TAG, where_value=code)
    outs = {name for text in rows for name in text.split(",")}
    for argname, value in bound.arguments.items():
        # Where earlier calls wrote an output exists now, but it is no input: its text is a
        # param, like a path that does not exist (yet).
        artifact = None if argname in outs else _input(repo, value)
        if artifact is not None:
            inputs[argname] = artifact
        elif isinstance(value, Path):
            params[argname] = str(value)
        elif _encodable(value):
            params[argname] = value
        else:
            params[argname] = repr(value)
            keyable = False
    digests = {argname: artifact.digest for argname, artifact in inputs.items()}
    body = {"code": dict(identity), "params": params, "inputs": digests}
    key = digest_bytes(canonical.encode(body)) if keyable else None
    return Call(params=params, inputs=inputs, code=code, key=key)


# -- recording return values -----------------------------------------------------------------
def _form(value: Any) -> str | None:
    if _existing(value) is not None:
        return "path" if isinstance(value, Path) else "str-path"
    if isinstance(value, Path) or not _encodable(value):
        return None
    # Only values that decode equal: a tuple inside would come back as a list.
    return "json" if canonical.decode(canonical.encode(value)) == value else None


def _shape(value: Any) -> tuple[str, list[tuple[str, Any]]] | None:
    """The returns tag and the (role, item) pairs to record, or None if not cacheable."""
    if value is None:
        return "none", []
    single = _form(value)
    if isinstance(value, tuple | list) and (
        single is None or any(_existing(item) is not None for item in value)
    ):
        kind = "tuple" if isinstance(value, tuple) else "list"
        return f"{kind}:{len(value)}", [(f"return.{i}", item) for i, item in enumerate(value)]
    return (single, [("return", value)]) if single else None


def _relative(repo: Lineal, path: Path) -> str:
    folder, where = datasets.workspace_root(repo).parent, path.resolve()
    return where.relative_to(folder).as_posix() if where.is_relative_to(folder) else str(where)


def _record_output(run: ActiveRun, role: str, value: Any, used: set[str]) -> Output | None:
    repo, form = run.repo, _form(value)
    if form is None:
        return None
    if form == "json":
        data = canonical.encode(value)
        digest = digest_bytes(data)
        cache = datasets.objects(repo)
        with cache.writing():  # a gc waits until the record names it
            cache.add_bytes(data)
            cache.sync()  # durable before the record that names it
            if repo.unnamed(digest) is None:
                meta = {"type": "json"}
                repo.record_artifact("report", digest=digest, size=len(data), meta=meta)
        output = Output(role=role, form=form, digest=digest)
    else:
        path, folder = Path(value), Path(value).is_dir()
        made = _snapshot(repo, path, "dataset" if folder else "file", {"run": run.ref})
        at = _relative(repo, path)
        output = Output(role=role, form=form, digest=made.digest, path=str(value), at=at,
                        folder=folder, node=made.node)  # fmt: skip
    if _node(output) not in used:  # an input returned as is: `used` says it all, no cycle
        repo.link("generated", run.ref, _node(output), role=role)
    return output


def _node(output: Output) -> str:
    return output.node or output.digest


def _record_returns(run: ActiveRun, value: Any, used: set[str]) -> list[Output] | None:
    """Record what ``value`` holds as this run's outputs; None if no later call can reuse it."""
    shape = _shape(value)
    run.set_tag(RETURNS_TAG, shape[0] if shape else type(value).__name__)
    found = [_record_output(run, role, item, used) for role, item in shape[1]] if shape else [None]
    outputs = [output for output in found if output is not None]
    if len(outputs) < len(found):
        return None
    run.set_tag(OUTPUTS_TAG, _encode_outputs(outputs))
    return outputs


def _encode_outputs(outputs: list[Output]) -> str:
    return canonical.encode([dataclasses.asdict(output) for output in outputs]).decode()


# -- reusing a previous run --------------------------------------------------------------------
def _available(repo: Lineal, outputs: list[Output]) -> bool:
    """Is every object these outputs need in the local cache?"""
    cache = datasets.objects(repo)
    needed: set[str] = set()
    for output in outputs:
        if not cache.has(output.digest):
            return False
        if output.form != "json":
            manifest = Manifest.decode(cache.read_bytes(output.digest), expected=output.digest)
            needed.update(entry.digest for entry in manifest.entries)
    return cache.present(needed) == needed


def _restore(repo: Lineal, output: Output) -> Any:
    """The value an output stands for; a path's files are put back where they were if needed."""
    cache = datasets.objects(repo)
    if output.form == "json":
        data = cache.read_bytes(output.digest)
        if digest_bytes(data) != output.digest:
            raise IntegrityError(
                f"the cached object {output.digest} (a step's {output.role}) is damaged",
                hint="delete it from .lineal/objects; the next call runs the step again",
            )
        return canonical.decode(data)
    target = datasets.absolute(repo, str(output.at))
    manifest = Manifest.decode(cache.read_bytes(output.digest), expected=output.digest)
    entries = _scan(repo, target).entries if target.exists() else ()
    current = {entry.path: entry.digest for entry in entries}
    if output.folder:
        target.mkdir(parents=True, exist_ok=True)  # an empty folder has no entries to write
    base = target if output.folder else target.parent
    for entry in manifest.entries:
        if current.get(entry.path) != entry.digest:
            materialise(cache, entry, base / entry.path)  # verifies the digest as it copies
    given = Path(str(output.path))
    # The path as first returned, while it still names the same place from here.
    path = given if given.resolve() == target.resolve() else target
    return path if output.form == "path" else str(path)


def _rebuild(repo: Lineal, shape: str, outputs: list[Output]) -> Any:
    values = [_restore(repo, output) for output in outputs]
    container = {"tuple": tuple, "list": list}.get(shape.partition(":")[0])
    return container(values) if container else (values[0] if values else None)


def _previous(repo: Lineal, key: str) -> tuple[str, str, list[Output]] | None:
    """The newest finished run with this key (not itself a replay) whose outputs are cached."""
    for run_id in repo.store.finished_runs_tagged(STEP_TAG, key, without=HIT_TAG):
        tags = repo.store.tags(f"run/{run_id}")
        if RETURNS_TAG not in tags or OUTPUTS_TAG not in tags:
            continue
        outputs = [Output(**row) for row in canonical.decode(tags[OUTPUTS_TAG].encode())]
        if _available(repo, outputs):
            return f"run/{run_id}", tags[RETURNS_TAG], outputs
    return None


# -- the decorator -----------------------------------------------------------------------------
def call_step(
    func: Callable[..., R],
    bound: inspect.BoundArguments,
    *,
    identity: Mapping[str, str],
    name: str,
    cache: bool,
    repo: Lineal,
) -> R:
    """One call of a step: replay a previous run with the same key, or run and record it."""
    call = classify(repo, identity, bound)
    found = _previous(repo, call.key) if cache and call.key is not None else None
    # Keyed even with cache=False: a forced run refreshes what later calls reuse.
    tags = {CODE_TAG: call.code, **({STEP_TAG: call.key} if call.key is not None else {})}
    if found is not None:
        original, shape, outputs = found
        tags |= {HIT_TAG: original, RETURNS_TAG: shape, OUTPUTS_TAG: _encode_outputs(outputs)}
    with start(repo, name, params=call.params, tags=tags) as run:
        for argname, artifact in call.inputs.items():
            run.use(artifact, role=argname.lstrip("_") or "arg")  # a role starts alphanumeric
        used = {artifact.node for artifact in call.inputs.values()}
        if found is not None:  # a hit: reuse the earlier run's outputs, never call the function
            repo.link("informed_by", original, run.ref)
            for output in outputs:
                if _node(output) not in used:
                    repo.link("generated", run.ref, _node(output), role=output.role)
            return _rebuild(repo, shape, outputs)  # type: ignore[no-any-return]
        value = func(*bound.args, **bound.kwargs)
        recorded = _record_returns(run, value, used)
        if recorded is None and call.key is not None:
            run.set_tag(STEP_TAG, None)  # this run cannot serve a later call
        # Arguments naming where a new output now lies: later calls key them as text.
        places = {Path(o.path).resolve() for o in recorded or () if o.path and _node(o) not in used}
        args = {a: p.resolve() for a, v in bound.arguments.items() if (p := _existing(v))}
        if written := [a for a, where in args.items() if where in places]:
            run.set_tag(OUT_ARGS_TAG, ",".join(written))
    return value


@overload
def step(func: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def step(
    *, name: str | None = None, cache: bool = True, repo: Lineal | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...
def step(
    func: Callable[P, R] | None = None,
    *,
    name: str | None = None,
    cache: bool = True,
    repo: Lineal | None = None,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Record every call of a function as a run; reuse a finished one with the same key.

    The key digests the function's source and qualified name, its params and the digests of
    its inputs (existing paths, snapshotted as datasets, and artifact references). Returned
    paths, JSON values, and tuples and lists of them are recorded as outputs and, on a cache
    hit, restored byte for byte. ``repo`` defaults to the active run's store, else the
    nearest `.lineal/`.
    """

    def decorate(target: Callable[P, R]) -> Callable[P, R]:
        label = re.sub(r"[^A-Za-z0-9._-]+", "-", getattr(target, "__name__", "step"))
        run_name = name or label.strip("-._")[:128] or "step"
        identity = code_identity(target)
        signature = inspect.signature(target)

        @functools.wraps(target)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            current = active_run()
            store = repo if repo is not None else (current.repo if current else None)
            with Lineal.open() if store is None else contextlib.nullcontext(store) as using:
                return call_step(
                    target, bound, identity=identity, name=run_name, cache=cache, repo=using
                )

        return wrapper

    return decorate if func is None else decorate(func)
