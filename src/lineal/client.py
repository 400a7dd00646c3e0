"""The Python API over one store: record artifacts, edges, runs and metrics; read and verify.

A thin service layer the CLI and SDK share; never prints and never writes SQL itself.
"""

from __future__ import annotations

import contextlib
import time
from array import array
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal import workspace
from lineal.errors import InvalidInput, NotFound, PermissionDenied, StoreUnavailable
from lineal.model import canonical
from lineal.model.digests import digest_bytes
from lineal.model.entities import Artifact, Edge, Run, check_limit, is_version_node
from lineal.model.outcomes import finished_run, recorded_artifact, started_run
from lineal.model.refs import Ref, parse
from lineal.spares import Spares

# What only writing, checkpoints or run details need is imported by the methods that use it:
# a read such as `lineal status` should not pay for the op types, signatures and run liveness.
if TYPE_CHECKING:
    from lineal.ledger import checkpoint as checkpoints
    from lineal.ledger.chain import Record
    from lineal.store.base import Store, VerifyReport

Node = str | Artifact | Run


def _now() -> str:
    return canonical.format_time(datetime.now(UTC))


class Lineal:
    """One open store with the writer's signing key (if any)."""

    def __init__(self, store: Store, workspace: workspace.Workspace | None = None) -> None:
        self.store = store
        self.workspace = workspace
        self._spares = Spares(workspace)

    @classmethod
    def open(
        cls, uri: str | None = None, *, path: str | Path | None = None, write: bool = True
    ) -> Lineal:
        """Open ``uri``, else ``LINEAL_URI``, else the nearest `.lineal/` above ``path``.

        ``write=False`` opens without the signing key: reads only, and no key is loaded.
        """
        found = workspace.locate(Path(path) if path else None)
        if uri is not None:
            found = workspace.Workspace(uri=uri, agent=found.agent, keys=found.keys, root=None)
        return cls(found.open(write=write), found)

    def require_workspace(self) -> workspace.Workspace:
        """The local workspace (`.lineal/`), or NotFound: caches and remotes live there."""
        if self.workspace is None or self.workspace.root is None:
            raise NotFound(
                "this command needs a lineal workspace (a .lineal/ folder)",
                hint="run `lineal init` here (add --uri to keep using your current store)",
            )
        return self.workspace

    def close(self) -> None:
        self._spares.close()  # the stores it lent, then its own
        self.store.close()

    def lend_store(self) -> Store | None:
        """A store of its own for writes beside the caller's thread (a run's flusher), kept
        when handed back (``take_back``) and closed with this client; see lineal.spares."""
        return self._spares.lend()

    def take_back(self, store: Store) -> None:
        self._spares.take_back(store)

    def __enter__(self) -> Lineal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def atomic(self) -> AbstractContextManager[None]:
        """Group writes into one signed transaction: all of them land, or none."""
        return self.store.atomic()

    # -- writing -------------------------------------------------------------------------
    def record_artifact(
        self,
        kind: str,
        *,
        digest: str | None = None,
        data: bytes | None = None,
        name: str | None = None,
        size: int | None = None,
        uri: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Artifact:
        """Record an artifact by its digest (or by the bytes to digest) under an optional name."""
        from lineal.model.ops import ArtifactRecord

        if (digest is None) == (data is None):
            raise InvalidInput("pass exactly one of digest= or data=")
        if data is not None:
            digest, size = digest_bytes(data), len(data) if size is None else size
        assert digest is not None  # noqa: S101 - one of the two was given
        op = ArtifactRecord(
            kind=kind, digest=digest, name=name, size=size, uri=uri, meta=meta or {}
        )
        record = self.store.append(op)[0]
        version = None
        if name is not None and record.seq:
            # The number the store gave these bytes under this name. A record a server has
            # only in the spool (seq 0) has none yet: asking would make every named record
            # wait for the network, which spooled writes never do.
            with contextlib.suppress(StoreUnavailable):
                version = self.store.version_of(kind, name, digest)
        return recorded_artifact(op, version=version, seq=record.seq or None)

    def link(self, kind: str, parent: Node, child: Node, *, role: str | None = None) -> Edge:
        """Record an edge from upstream ``parent`` to downstream ``child``."""
        from lineal.model.ops import EdgeRecord

        edge = EdgeRecord(kind=kind, parent=self.node(parent), child=self.node(child), role=role)
        record = self.store.append(edge)[0]
        return Edge(
            kind=kind, parent=edge.parent, child=edge.child, role=role, seq=record.seq or None
        )

    def start_run(
        self,
        name: str,
        *,
        params: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Run:
        from ulid import ULID  # imported here: it costs every CLI start ~20 ms

        from lineal.model.masking import mask_params
        from lineal.model.ops import RunStart

        # A secret param (an api_key, a DSN's password) is not recorded; RunStart checks the rest.
        params = mask_params(params) if isinstance(params, Mapping) else params or {}
        op = RunStart(id=str(ULID()), name=name, started=_now(), params=params, meta=meta or {})
        record = self.store.append(op)[0]
        return started_run(op, author=record.author, seq=record.seq or None)

    def finish_run(
        self,
        run: Node,
        *,
        status: str = "finished",
        summary: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> Run:
        from lineal.model.ops import RunFinish

        run_id = self._run_id(run)
        op = RunFinish(id=run_id, status=status, ended=_now(), summary=summary or {}, error=error)
        with self.atomic():
            try:  # the run as the op finds it: the op says the rest
                before = self.store.get_run(run_id)
            except (NotFound, StoreUnavailable):
                if not isinstance(run, Run):
                    raise
                before = run  # a server that has not had the start yet, or is away
            self.store.append(op)
        return finished_run(before, op)

    def log_metrics(self, run: Node, values: Mapping[str, float], *, step: int) -> Record:
        """Append one step of metric values as a ``metrics.batch`` record, right now.

        For training loops use ``lineal.start_run(...).log``: it buffers and batches.
        """
        from lineal.model.ops import MetricsBatch
        from lineal.model.series import Series

        when = time.time()
        try:
            series = tuple(
                Series(key, array("q", [step]), array("d", [value]), array("d", [when]))
                for key, value in values.items()
            )
        except (TypeError, OverflowError) as exc:
            raise InvalidInput(f"metrics must be numbers at an integer step: {exc}") from exc
        return self.store.append(MetricsBatch(run=self._run_id(run), series=series))[0]

    def set_alias(self, ref: str, alias: str) -> Artifact:
        """Point ``KIND/NAME:ALIAS`` at the version ``ref`` names (not a protected model alias:
        those move only through `lineal model promote`)."""
        from lineal.model.grants import PolicyApply, is_protected
        from lineal.model.ops import AliasSet

        artifact = self.resolve(ref)
        if not isinstance(artifact, Artifact) or artifact.name is None:
            raise InvalidInput(f"{ref} is not a named artifact version: aliases need a name")
        found = self.store.policy_record() if artifact.kind == "model" else None
        policy = (
            None
            if found is None
            else PolicyApply(protected=tuple(found["protected"]), policies=found["policies"])
        )
        if is_protected(policy, alias):
            raise PermissionDenied(
                f"model/{artifact.name}:{alias} is protected: it moves only through a promotion",
                hint=f"lineal model promote {artifact.name}@v{artifact.version} --to {alias} "
                "--reason TEXT",
            )
        self.store.append(
            AliasSet(kind=artifact.kind, name=artifact.name, alias=alias, digest=artifact.digest)
        )
        return artifact

    def set_tag(self, target: Node, key: str, value: str | None) -> Record:
        from lineal.model.ops import TagSet

        return self.store.append(TagSet(target=self.node(target), key=key, value=value))[0]

    def redact(self, seq: int, reason: str) -> Record:
        """Erase record ``seq``'s payload (a tag or metrics batch); the chain stays verifiable.
        The redact record names what the payload was about (its run or tagged node), so
        answers about that node can say what was erased."""
        from lineal.model.erasure import redaction_subject
        from lineal.model.ops import OPS, Redact

        subject = None
        found = next(self.store.records(after=seq - 1, limit=1), None) if seq >= 1 else None
        if found is not None and found.seq == seq and found.payload is not None:
            target = OPS.get(found.op)
            if target is not None and target.REDACTABLE:
                decoded = target.from_payload(canonical.decode(found.payload))
                subject = redaction_subject(decoded)
        # A missing, erased or unerasable record is refused by the store, saying why.
        return self.store.append(Redact(seq=seq, reason=reason, subject=subject))[0]

    # -- reading -------------------------------------------------------------------------
    def _resolve(self, ref: Ref) -> Artifact | Run:
        return self.store.resolve(ref)

    def resolve(self, ref: str | Ref) -> Artifact | Run:
        """The artifact or run a reference names."""
        return self._resolve(ref if isinstance(ref, Ref) else parse(ref))

    def unnamed(self, digest: str) -> Artifact | None:
        """The unnamed artifact (an environment, a code state, a report) with these bytes."""
        return self.store.unnamed(digest)

    def holders(self, digest: str) -> list[Artifact]:
        """Every node holding the bytes ``digest`` (named versions and the unnamed artifact),
        in recording order: content is shared, lineage is each one's own."""
        return self.store.holders(digest)

    def node(self, value: Node) -> str:
        """The graph node id of an artifact, run, reference or agent/NAME: ``KIND/NAME@DIGEST``
        for a named version, the digest of an unnamed artifact (see Artifact.node)."""
        if isinstance(value, Artifact):
            return value.node
        if isinstance(value, Run):
            return f"run/{value.id}"
        if value.startswith(("agent/", "run/")):
            return value
        if is_version_node(value):
            return value  # KIND/NAME@sha256:HEX, a named version's own node
        found = self.resolve(value)
        return found.node if isinstance(found, Artifact) else f"run/{found.id}"

    def edges(self, node: Node) -> list[Edge]:
        """Every edge into or out of ``node``, in recording order."""
        return self.store.edges(self.node(node))

    def names(self, kind: str) -> list[str]:
        """Names that have versions of ``kind``."""
        return self.store.names(kind)

    def versions(self, kind: str, name: str) -> list[str]:
        """Digests of ``kind/name``'s versions, oldest first."""
        return [digest for _, digest, _ in self.store.versions(kind, name)]

    def artifacts(self, kind: str | None = None) -> list[Artifact]:
        """Every recorded artifact (of ``kind``), in recording order."""
        return self.store.artifacts(kind)

    def _run_id(self, run: Node) -> str:
        node = self.node(run)
        if not node.startswith("run/"):
            raise InvalidInput(f"{run} is not a run", hint="pass a Run or run/ULID")
        return node[4:]

    def show(self, ref: str) -> dict[str, Any]:
        """Everything known about one artifact or run, JSON-shaped."""
        found = self.resolve(ref)
        if isinstance(found, Run):
            node = f"run/{found.id}"
            status = found.status
            if status == "running" and found.id in self.store.crashed_runs():
                status = "crashed"
            body: dict[str, Any] = {
                "type": "run",
                "ref": found.ref,
                "id": found.id,
                "name": found.name,
                "status": status,
                "duration": found.duration,
                "error": found.error,
                "author": found.author,
                "started": found.started,
                "ended": found.ended,
                "params": dict(found.params),
                "meta": dict(found.meta),
                "seq": found.seq,
                **self.store.run_details(found.id),
            }
        else:
            node = found.node
            body = {
                "type": "artifact",
                "ref": found.ref,
                "node": node,
                "kind": found.kind,
                "digest": found.digest,
                "name": found.name,
                "version": found.version,
                "size": found.size,
                "uri": found.uri,
                "meta": dict(found.meta),
                "seq": found.seq,
                **self.store.artifact_details(found),
            }
        # What was erased about it: a run's metrics batches, tag values (who, when, why).
        body["redactions"] = self.store.redactions(node)
        edges = self.store.edges(node)
        labels = self.store.labels([e.parent if e.child == node else e.child for e in edges])
        body["upstream"] = [
            {"kind": e.kind, "node": e.parent, "ref": labels[e.parent][0],
             "node_kind": labels[e.parent][1], "role": e.role}
            for e in edges
            if e.child == node
        ]  # fmt: skip
        body["downstream"] = [
            {"kind": e.kind, "node": e.child, "ref": labels[e.child][0],
             "node_kind": labels[e.child][1], "role": e.role}
            for e in edges
            if e.parent == node
        ]  # fmt: skip
        return body

    def log(self, *, limit: int | None = None, op: str | None = None) -> Iterator[dict[str, Any]]:
        """Ledger records, newest first, with decoded payloads."""
        limit = check_limit(limit)
        redactions: dict[int, dict[str, Any]] | None = None
        for record in self.store.records(limit=limit, op=op, newest_first=True):
            payload = None if record.payload is None else canonical.decode(record.payload)
            body = record.as_dict(payload)
            if record.payload is None:  # who erased it, when and why (read once, if needed)
                if redactions is None:
                    redactions = {one["seq"]: one for one in self.store.redactions()}
                body["redaction"] = redactions.get(record.seq)
            yield body

    def verify(self) -> VerifyReport:
        return self.store.verify()

    def sync(self, timeout: float | None = None, *, status_only: bool = False) -> dict[str, Any]:
        """Send what is spooled for a lineal server now (for up to ``timeout`` seconds) and say
        what is still pending; ``status_only``: send nothing. A SQL store has nothing to send."""
        return self.store.sync(0 if status_only else timeout)

    def checkpoint(self) -> dict[str, Any]:
        """A signed tree head over the whole ledger (see lineal.ledger.checkpoint)."""
        from lineal.ledger import checkpoint as checkpoints

        signer = self.store.signer
        if signer is None:
            raise InvalidInput(
                "no signing key: a checkpoint must be signed", hint="run `lineal init` first"
            )
        with self.store.atomic():  # one snapshot: the leaves, head and commits agree
            leaves = self.store.leaf_hashes()
            _, head = self.store.head()
            commits = list(self.store.commits())
        return checkpoints.make_checkpoint(leaves, head, _now(), signer, commits)

    def check_checkpoint(self, document: Mapping[str, Any]) -> checkpoints.CheckpointResult:
        """Is an old checkpoint a prefix of today's ledger, its signed commits unchanged? If
        not, where did history change? (Whose key signed it: see lineal.checkpoint_files.)"""
        from lineal.ledger import checkpoint as checkpoints

        leaves = self.store.leaf_hashes()
        return checkpoints.check_checkpoint(document, leaves, self.store.commits())


def open(uri: str | None = None, *, path: str | Path | None = None) -> Lineal:
    """Open the store at ``uri``, ``LINEAL_URI`` or the nearest `.lineal/` (see Lineal.open)."""
    return Lineal.open(uri, path=path)
