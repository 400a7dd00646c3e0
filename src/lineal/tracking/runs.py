"""Runs as a context manager: capture at start, buffered metrics, inputs and outputs, status.

The SDK's write side for one run; never prints. ``run.log`` never touches the store: a
background flusher writes the buffer about once a second, at finish, at exit and on SIGTERM.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from lineal import datasets
from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.model import canonical
from lineal.model.digests import digest_bytes
from lineal.model.entities import Artifact, Run
from lineal.model.masking import mask_params
from lineal.model.ops import (
    ArtifactRecord,
    EdgeRecord,
    MetricsBatch,
    RunParams,
    RunStart,
    TagSet,
)
from lineal.model.outcomes import recorded_artifact, started_run
from lineal.model.refs import parse
from lineal.model.series import Series
from lineal.registry.models import register_artifact
from lineal.store import liveness
from lineal.tracking import handshake
from lineal.tracking.finishing import record_finish
from lineal.tracking.lifecycle import active_run, forget, inherited_run, remember
from lineal.tracking.metrics import Flusher, MetricBuffer
from lineal.tracking.versions import drift_recorded


def _checked_params(params: Mapping[str, Any] | None, what: str) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise InvalidInput(f"{what} must be a mapping of names to values, not {params!r}")
    try:
        canonical.encode(dict(params))
    except InvalidInput as exc:
        raise InvalidInput(
            f"{what} cannot be recorded: {exc}",
            hint="use str, int, float, bool, None, lists and dicts of them",
        ) from exc
    return dict(params)


def checked_summary(values: Mapping[str, Any] | None, more: Mapping[str, Any]) -> dict[str, Any]:
    """Summary values as recorded (NaN and ±inf as strings, numpy scalars as numbers), or
    InvalidInput: a bad value is refused at the call, never at finish."""
    given = {key: _summary_value(value) for key, value in {**(values or {}), **more}.items()}
    return _checked_params(given, "summary")


def _summary_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _summary_value(value.item())
    return value


class ActiveRun:
    """A run in progress: ``with lineal.start_run(...) as run:``.

    ``run.log({"loss": x}, step=i)`` appends to an in-memory buffer (a few hundred ns); the
    points are durable within about a second, and at the latest when the run finishes.
    """

    log: Callable[..., None]

    def __init__(self, repo: Lineal, run: Run, *, flush_interval: float = 1.0) -> None:
        self.repo = repo
        self.info = run
        self.id = run.id
        self.ref = run.ref
        self.name = run.name
        self._buffer = MetricBuffer()
        self.log = self._buffer.fast_log  # the hot path: no extra call layer
        self._summary: dict[str, Any] = {}
        self._finished = False
        self._forked: str | None = None  # set in a forked child: why it may not touch the run
        self._pid = os.getpid()
        self._process_start = liveness.process_start(self._pid)
        self._host = liveness.host()
        # The flusher writes through a store of its own (lent by the client, kept there for
        # the next run), so a flush never shares a transaction with what the caller's thread
        # does to the store at the same moment. The first beat rode with the start (start()).
        self._lent = repo.lend_store()
        self._writer_store: Any = self._lent
        self.owns_repo = False  # set by lineal.start_run when it opened the store itself
        self.emitter: Any = None  # the OpenLineage emitter told of its start and end, if any
        self._flusher = Flusher(self._buffer, self._write, beat=self._beat, interval=flush_interval)
        self._flusher.start()

    # -- the buffer's way to the store ------------------------------------------------------
    def _store(self) -> Any:
        return self._writer_store if self._writer_store is not None else self.repo.store

    def _write(self, series: list[Series]) -> None:
        self._store().append(MetricsBatch(run=self.id, series=tuple(series)))

    def _beat(self) -> None:
        self._store().beat(self.id, self._host, self._pid, self._process_start)

    # -- metrics -------------------------------------------------------------------------
    def log_batch(self, key: str, steps: Sequence[Any], values: Sequence[Any]) -> int:
        """Log many points of one metric at once (lists or numpy arrays)."""
        return self._buffer.log_batch(key, steps, values)

    def summary(self, values: Mapping[str, Any] | None = None, **more: Any) -> dict[str, Any]:
        """Set final values (recorded when the run finishes); returns the summary so far."""
        self._summary.update(checked_summary(values, more))
        return dict(self._summary)

    def flush(self) -> int:
        """Write buffered metric points now; return how many were written."""
        self._refuse_if_forked()
        return self._flusher.flush()

    # -- params, tags, splits ------------------------------------------------------------------
    def log_params(self, params: Mapping[str, Any] | None = None, **more: Any) -> None:
        """Add params learnt after the start; each key can be set once per run."""
        found = mask_params(_checked_params({**(params or {}), **more}, "params"))
        if found:
            self.repo.store.append(RunParams(id=self.id, params=found))

    def log_split(
        self,
        name: str,
        *,
        fraction: float | None = None,
        seed: int | None = None,
        count: int | None = None,
        strategy: str | None = None,
    ) -> None:
        """Record how a data split was drawn, as the param ``split.NAME``."""
        if fraction is not None and not 0 <= fraction <= 1:
            raise InvalidInput(f"split {name!r}: fraction {fraction} is not between 0 and 1")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise InvalidInput(f"split {name!r}: count must be an integer, not {count!r}")
        body = {"fraction": fraction, "seed": seed, "count": count, "strategy": strategy}
        self.log_params({f"split.{name}": {k: v for k, v in body.items() if v is not None}})

    def set_tag(self, key: str, value: str | None) -> None:
        self.repo.store.append(TagSet(target=self.ref, key=key, value=value))

    # -- inputs and outputs ----------------------------------------------------------------
    def use(self, source: str | Path | Artifact, *, role: str | None = None) -> Artifact:
        """Record that this run used an artifact (a reference) or data (a path, snapshotted)."""
        artifact = self._artifact(source, kind="dataset")
        self.repo.link("used", artifact, self.ref, role=role)
        if role is not None:
            self.check_schemas()
        return artifact

    def check_schemas(self) -> list[str]:
        """Compare the label schemas of this run's train and eval inputs; record a
        ``schema.warning`` tag when they differ (see lineal.labels.runs)."""
        from lineal.labels.runs import check

        run = self.repo.resolve(self.ref)
        assert isinstance(run, Run)  # noqa: S101 - our own run
        return check(self.repo, run)

    def log_model(
        self,
        path: str | Path,
        *,
        name: str,
        flavor: str | None = None,
        meta: Mapping[str, Any] | None = None,
        register: str | None = None,
    ) -> Artifact:
        """Snapshot a model as ``model/NAME`` generated by this run (``register``: also as a
        version of that registered model, which is then returned)."""
        extra = {**(meta or {}), **({"flavor": flavor} if flavor else {})}
        model = self.log_artifact(path, kind="model", name=name, role="model", meta=extra)
        return model if register is None else register_artifact(self.repo, model, register).artifact

    def log_artifact(
        self,
        path: str | Path,
        *,
        kind: str = "file",
        name: str | None = None,
        role: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Artifact:
        """Snapshot a file or folder as an artifact this run generated."""
        target = Path(path)
        if not target.exists():
            raise InvalidInput(f"cannot log {path}: no such file or folder")
        # Read before the snapshot: the transaction that records the output (which holds
        # the chain head) is then only its writes, not the hashing, copying and fsyncs.
        used = {edge.parent for edge in self.repo.edges(self.ref) if edge.kind == "used"}

        def generated(artifact: Artifact) -> None:
            if artifact.node not in used:
                self.repo.link("generated", self.ref, artifact, role=role)
            # else it is byte for byte an input of this run: `generated` would close a cycle.

        artifact = datasets.add(
            self.repo,
            [target],
            name=name,
            kind=kind,
            meta={"run": self.ref, **(meta or {})},
            then=generated,  # the edge lands with the version
        ).artifact
        return drift_recorded(self.repo, artifact)

    def _artifact(self, source: str | Path | Artifact, *, kind: str) -> Artifact:
        if isinstance(source, Artifact):
            return source
        text = str(source)
        if isinstance(source, Path) or (Path(text).exists() and not text.startswith("sha256:")):
            if not Path(text).exists():
                raise InvalidInput(f"cannot use {text}: no such file or folder")
            return drift_recorded(
                self.repo, datasets.add_or_reuse(self.repo, Path(text), kind=kind)
            )
        found = self.repo.resolve(parse(text))
        if not isinstance(found, Artifact):
            raise InvalidInput(f"{text} is a run, not an artifact", hint="pass KIND/NAME[@vN]")
        return found

    # -- finishing -------------------------------------------------------------------------------
    def finish(self, status: str = "finished", *, error: str | None = None) -> Run:
        """Flush every point, record the final status and summary; idempotent."""
        self._refuse_if_forked()
        if self._finished:
            return self.repo.resolve(self.ref)  # type: ignore[return-value]
        self._finished = True
        forget(self)
        pending = self._stop_flusher(write=False)  # they land with the finish
        try:
            self.info = record_finish(self, pending, status, dict(self._summary), error)
            if self.emitter is not None:  # only writes its outbox: never blocks, never raises
                self.emitter.run_changed(self.repo, self.info, ended=True)
        finally:
            if self.owns_repo:
                self.repo.close()
        return self.info

    def _stop_flusher(self, *, write: bool = True) -> list[Series]:
        """Write the last points (``write=False``: return them instead) and hand the
        flusher's store back."""
        try:
            self._flusher.stop(write=write)
            return [] if write else self._flusher.take()
        finally:
            self._writer_store = None
            if self._lent is not None:
                lent, self._lent = self._lent, None
                if self._flusher.error is None:
                    self.repo.take_back(lent)
                else:  # a store that failed a flush is not lent again
                    lent.close()

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._forked is not None:
            return  # a forked child leaving the block: the run goes on in the parent
        if exc is None:
            self.finish()
        elif isinstance(exc, KeyboardInterrupt | SystemExit) and not (
            isinstance(exc, SystemExit) and exc.code in (0, None)
        ):
            self.finish("killed", error=f"{type(exc).__name__}: {exc}".strip(": "))
        elif isinstance(exc, SystemExit):
            self.finish()
        else:
            self.finish("failed", error=f"{type(exc).__name__}: {exc}"[:2000])

    def disown(self) -> None:
        """In a forked child: the run stays the parent's, which alone logs to and ends it."""
        self._forked = (
            f"{self.ref} belongs to process {self._pid}, which started it, not to this forked "
            f"child (pid {os.getpid()})"
        )
        self._buffer.disown(
            self._forked,
            "log from the parent, or start a run in the child (it is linked to this one)",
        )

    def _refuse_if_forked(self) -> None:
        if self._forked is not None:
            raise InvalidInput(self._forked, hint="flush and finish it in the parent")

    def __repr__(self) -> str:
        return f"<ActiveRun {self.name} {self.ref}>"


# -- starting --------------------------------------------------------------------------------
def _start_records(
    ref: str, start: RunStart, tags: Mapping[str, str], parent: str | None
) -> Iterator[Any]:
    yield start
    for key, value in tags.items():
        yield TagSet(target=ref, key=key, value=str(value))
    if parent is not None:
        yield EdgeRecord(kind="informed_by", parent=parent, child=ref)


def _shared_artifact(repo: Lineal, kind: str, body: Mapping[str, Any]) -> Artifact:
    """Record a captured environment or code state once; runs that share it share the node.
    Returned as recorded (not read back: a server may not have appended it yet)."""
    digest = digest_bytes(canonical.encode(dict(body)))
    found = repo.unnamed(digest)
    if found is not None:
        return found
    op = ArtifactRecord(kind=kind, digest=digest, meta=dict(body))
    repo.store.append(op)
    return recorded_artifact(op)


def start(
    repo: Lineal,
    name: str,
    *,
    params: Mapping[str, Any] | None = None,
    seed: int | None = None,
    tags: Mapping[str, str] | None = None,
    parent: ActiveRun | None = None,
    capture_env: bool = True,
    env_allow: Sequence[str] = (),
    flush_interval: float = 1.0,
) -> ActiveRun:
    """Start and record a run in ``repo``; see lineal.start_run."""
    from ulid import ULID

    checked = mask_params(_checked_params(params, "params"))  # a secret param is not recorded
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InvalidInput(f"bad seed {seed!r}: expected an integer")
    from lineal.interop import openlineage_emit

    emitter = openlineage_emit.for_repo(repo)  # a bad [openlineage] table: before any record
    if parent is None:  # the run this one was started in: in this process, or a fork's parent
        parent = active_run() or inherited_run()
    # ...else the run `lineal run` wraps this process in (checked: in this store, running).
    wrapper = handshake.wrapped_run(repo) if parent is None else None
    informed_by = parent.ref if parent is not None else (wrapper.ref if wrapper else None)
    meta: dict[str, Any] = {"seed": seed} if seed is not None else {}
    env = code = None
    if capture_env:
        from lineal.tracking import capture

        meta["context"] = capture.context(allow=env_allow)
        meta["hardware"] = capture.hardware()
        env = capture.environment()
        code = capture.code()
        if code is not None:
            meta["code"] = code
    run_id = str(ULID())
    op = RunStart(id=run_id, name=name, started=_now(), params=checked, meta=meta)
    ref = f"run/{run_id}"
    pid = os.getpid()
    with repo.atomic():
        first = repo.store.append(list(_start_records(ref, op, tags or {}, informed_by)))[0]
        # The run's first heartbeat, in the same transaction (the flusher beats from then on).
        repo.store.beat(run_id, liveness.host(), pid, liveness.process_start(pid))
        if env is not None:
            repo.link("used", _shared_artifact(repo, "env", env), ref, role="env")
        if code is not None and code.get("commit"):
            identity = {"commit": code["commit"], "diff": code.get("diff_digest")}
            repo.link("used", _shared_artifact(repo, "code", identity), ref, role="code")
    # The run as recorded, not read back: through a server the start is still spooled.
    info = started_run(op, author=first.author, seq=first.seq or None)
    info = replace(info, tags={key: str(value) for key, value in (tags or {}).items()})
    run = ActiveRun(repo, info, flush_interval=flush_interval)
    if emitter is not None:
        run.emitter = emitter
        emitter.run_changed(repo, run.info)
    remember(run)
    return run


def _now() -> str:
    from datetime import UTC, datetime

    return canonical.format_time(datetime.now(UTC))
