"""`lineal import dvc PATH`: a DVC project's data versions and pipeline runs, into lineal.

Mapping (see lineal.interop.dvc_files for what is read, dvc_content for the digests):

- Each out of a ``.dvc`` file or a ``dvc.lock`` stage is a version of a named artifact, named
  and kinded after its path (lineal.interop.dvc_naming: ``data/pool_data`` →
  ``dataset/data-pool_data``), and so is each dep no stage or ``.dvc`` file produces (a
  script: ``code``; a config). DVC's record is kept in meta as ``dvc: {md5, size, nfiles,
  path, hash}`` with ``content: present`` or ``absent``.
- Each ``dvc.lock`` stage is a finished run named after the stage, with the lock's params
  (flattened: ``train.lr``; another file's as ``FILE:train.lr``), its ``cmd`` in meta and as
  an unnamed ``config`` artifact it used (role ``command``), each dep ``used`` (role ``dep``)
  and each out ``generated``. A dep is matched to the out with its md5, so the stages join up
  into one pipeline and the upstream of its last model reaches the raw data.
- Times and authors: the git commit of the ``dvc.lock`` (dvc_origin). The run id is a ULID
  of that time and 80 bits of ``sha256("dvc:{repository}:{stage}:{md5 of its lock entry}")``,
  and the run is found again by those bits, so a later import (a newer commit) of the same
  entry adds nothing; a changed entry (``dvc repro`` after new data) is a new run.

Idempotent (every record is looked up before it is written) and resumable (each ``.dvc``
file and each stage lands whole in its own transaction).
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal.client import Lineal
from lineal.interop.dvc_content import Content, Locator
from lineal.interop.dvc_files import Output, Project, Stage, read_project
from lineal.interop.dvc_naming import dep_kind, lineal_name, out_kind
from lineal.interop.dvc_origin import Origin, origin_of, repository_id
from lineal.model import canonical
from lineal.model.digests import digest_bytes
from lineal.model.entities import Artifact

if TYPE_CHECKING:
    from lineal.cas.objects import ObjectCache


@dataclass(frozen=True, slots=True, kw_only=True)
class DvcImport:
    """What an import found and what it added (a second import of the same project adds 0)."""

    root: str
    repository: str  # the project's identity in run ids
    files: int  # .dvc files read
    stages: int  # dvc.lock stages read
    datasets: int  # dataset versions found (distinct)
    models: int
    code: int  # code and config versions of deps no stage produces
    configs: int
    edges: int  # used and generated edges of the stages
    hashed: int  # versions whose sha256 was computed from the bytes
    absent: int  # versions with a placeholder identity (bytes not here)
    added_versions: int
    added_runs: int
    added_edges: int
    unrun: tuple[str, ...] = ()  # stages of a dvc.yaml never run (no lock entry)
    runs: tuple[str, ...] = field(default=())  # run/ID of each stage, in pipeline order

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["unrun"], body["runs"] = list(self.unrun), list(self.runs)
        return body


def import_dvc(repo: Lineal, path: str | Path) -> DvcImport:
    """Import the DVC project rooted at ``path`` into ``repo`` (see the module docstring)."""
    project = read_project(Path(path))
    job = _Import(repo, project)
    with job.holding():
        for tracked in project.tracked:
            with repo.atomic():
                for out in tracked.outs:
                    sources = [dict(s) for s in tracked.sources]
                    job.version(out, out_kind(out.path, project.declared), tracked.file, sources)
        runs = [job.stage(stage) for stage in pipeline_order(project.stages)]
    return job.result(runs)


def pipeline_order(stages: Sequence[Stage]) -> list[Stage]:
    """``stages`` with each after those whose outs it uses, else in the order DVC wrote them
    (a cycle, which DVC itself refuses, is left in that order too)."""
    makers: dict[str, int] = {}
    for i, stage in enumerate(stages):
        for out in stage.outs:
            if out.identity is not None:
                makers.setdefault(out.identity[1], i)
    needs: list[set[int]] = [
        {makers[d.identity[1]] for d in stage.deps if d.identity and d.identity[1] in makers} - {i}
        for i, stage in enumerate(stages)
    ]
    users: dict[int, list[int]] = {}
    for i, needed in enumerate(needs):
        for maker in needed:
            users.setdefault(maker, []).append(i)
    ready = [i for i, needed in enumerate(needs) if not needed]
    heapq.heapify(ready)
    done: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        done.append(i)
        for user in users.get(i, ()):
            needs[user].discard(i)
            if not needs[user]:
                heapq.heappush(ready, user)
    placed = set(done)
    done += [i for i in range(len(stages)) if i not in placed]
    return [stages[i] for i in done]


class _Import:
    """One import's state: what it found, what it added, the nodes known to exist."""

    def __init__(self, repo: Lineal, project: Project) -> None:
        self.repo = repo
        self.project = project
        self.locator = Locator(project.root, project.caches)
        self.repository = repository_id(project.root)
        self.agent = repo.store.signer.name if repo.store.signer is not None else "unknown"
        self.nodes: dict[str, tuple[str, bool]] = {}  # node -> (kind, bytes present)
        self.added = {"versions": 0, "runs": 0, "edges": 0}
        self.edges = 0
        self.cache: ObjectCache | None = None
        self.origins: dict[str, Origin] = {}
        # What produces each (path, md5) and each md5: deps resolve to those outs.
        self.made: dict[tuple[str, str], str] = {}
        self.made_by_hash: dict[str, str] = {}
        for out, kind in self._produced():
            if out.identity is not None:
                self.made.setdefault((out.path, out.identity[1]), kind)
                self.made_by_hash.setdefault(out.identity[1], out.path)

    def _produced(self) -> Iterator[tuple[Output, str]]:
        for tracked in self.project.tracked:
            for out in tracked.outs:
                yield out, out_kind(out.path, self.project.declared)
        for stage in self.project.stages:
            for out in stage.outs:
                yield out, out_kind(out.path, self.project.declared)

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Hold the workspace's object cache (if any) while folder manifests are written to
        it: `lineal data diff` and `verify` read them; a gc waits until they are recorded."""
        root = self.repo.workspace.root if self.repo.workspace is not None else None
        if root is None:
            yield
            return
        from lineal import datasets

        cache = datasets.objects(self.repo)
        with cache.writing():
            self.cache = cache
            try:
                yield
            finally:
                self.cache = None

    # -- artifacts ------------------------------------------------------------------------
    def version(
        self,
        out: Output,
        kind: str,
        file: str,
        sources: list[dict[str, Any]] | None = None,
    ) -> str:
        """The node of ``out``'s version (``kind``), recorded unless it already is."""
        name = lineal_name(out.path)
        content = self._hashed_before(kind, name, out) or self.locator.content(out)
        node = f"{kind}/{name}@{content.digest}"
        if node in self.nodes:
            return node
        if self.repo.store.version_of(kind, name, content.digest) is None:
            self._record(out, kind, name, content, file, sources)
        self.nodes[node] = (kind, content.present)
        return node

    def _hashed_before(self, kind: str, name: str, out: Output) -> Content | None:
        """The content an earlier import hashed for this md5 under this name: a re-import
        reads no bytes again (the signed ledger vouches for what was hashed)."""
        if out.md5 is None:
            return None
        for _, digest, _ in self.repo.store.versions(kind, name):
            found = self.repo.resolve(f"{kind}/{name}@{digest}")
            dvc = found.meta.get("dvc") if isinstance(found, Artifact) else None
            if (
                isinstance(found, Artifact)
                and found.meta.get("content") == "present"
                and isinstance(dvc, dict)
                and dvc.get("md5") == out.md5
            ):
                return Content(found.digest, found.size, where="ledger")
        return None

    def _record(
        self,
        out: Output,
        kind: str,
        name: str,
        content: Content,
        file: str,
        sources: list[dict[str, Any]] | None,
    ) -> None:
        declared = self.project.declared.get(out.path, {})
        meta: dict[str, Any] = {
            "source": "dvc",
            "dvc": {**out.dvc_meta(), "file": file},
            "content": "present" if content.present else "absent",
        }
        description = out.other.get("desc") or declared.get("desc")
        if isinstance(description, str):
            meta["description"] = description
        if declared:
            meta["dvc"]["artifact"] = dict(declared)
        if sources:
            meta["dvc"]["import"] = sources
        if content.manifest is not None and self.cache is not None:
            # A snapshot's manifest, kept where `lineal data diff` and `verify` read it; the
            # files' bytes stay with DVC (reference-only, as `lineal add --ref-only`).
            self.cache.add_bytes(content.manifest.encode())
            self.cache.sync()
            meta["files"] = len(content.manifest)
            meta["ref_only"] = True
        uri = (self.project.root / out.path).as_uri() if out.inside else out.path
        self.repo.record_artifact(
            kind, digest=content.digest, name=name, size=content.size, uri=uri, meta=meta
        )
        self.added["versions"] += 1

    def _dep(self, dep: Output, file: str) -> str:
        if dep.identity is not None:
            value = dep.identity[1]
            kind = self.made.get((dep.path, value))
            if kind is not None:
                return self.version(dep, kind, file)
            maker = self.made_by_hash.get(value)
            if maker is not None:  # the same bytes another out made: that out's version
                return self.version(replace(dep, path=maker), self.made[(maker, value)], file)
        return self.version(dep, dep_kind(dep.path, self.project.declared), file)

    def _command(self, cmd: str) -> str:
        spec = {"type": "dvc-command", "cmd": cmd}
        digest = digest_bytes(canonical.encode(spec))
        if digest not in self.nodes:
            if self.repo.unnamed(digest) is None:
                self.repo.record_artifact("config", digest=digest, meta=spec)
                self.added["versions"] += 1
            self.nodes[digest] = ("command", True)
        return digest

    # -- runs -----------------------------------------------------------------------------
    def _origin(self, file: str) -> Origin:
        if file not in self.origins:
            self.origins[file] = origin_of(self.project.root, file, self.agent)
        return self.origins[file]

    def stage(self, stage: Stage) -> str:
        """Record ``stage`` as a finished run with its edges (those not yet recorded)."""
        from lineal.model.masking import mask_params, mask_text

        cmd = mask_text(stage.cmd if isinstance(stage.cmd, str) else "\n".join(stage.cmd))
        with self.repo.atomic():
            deps = [self._dep(dep, stage.file) for dep in stage.deps]
            outs = [
                self.version(out, out_kind(out.path, self.project.declared), stage.file)
                for out in stage.outs
            ]
            command = self._command(cmd)
            seed = f"dvc:{self.repository}:{stage.name}:{stage.entry_md5}".encode()
            tail = hashlib.sha256(seed).digest()[:10]
            run_id = self._existing_run(tail)
            if run_id is None:
                origin = self._origin(stage.file)
                meta = {
                    "source": "dvc",
                    "author": origin.author,
                    "dvc": {
                        "stage": stage.name,
                        "file": stage.file,
                        "cmd": cmd,
                        "repository": self.repository,
                        "entry_md5": stage.entry_md5,
                        **({"commit": origin.commit} if origin.commit else {}),
                        **({"desc": stage.desc} if stage.desc else {}),
                    },
                }
                run_id = self._start(stage, origin, tail, mask_params(stage.params), meta)
                have: set[tuple[str, str, str, str | None]] = set()
            else:
                have = {
                    (e.kind, e.parent, e.child, e.role)
                    for e in self.repo.store.edges(f"run/{run_id}")
                }
            node = f"run/{run_id}"
            wanted: list[tuple[str, str, str, str | None]] = [("used", command, node, "command")]
            wanted += [("used", dep, node, "dep") for dep in deps]
            # An out the stage also used, unchanged (a persisted out), was not made by it:
            # `used` alone (both would be a cycle, which the store refuses).
            wanted += [("generated", node, out, None) for out in outs if out not in deps]
            for kind, parent, child, role in dict.fromkeys(wanted):
                self.edges += 1
                if (kind, parent, child, role) not in have:
                    self.repo.link(kind, parent, child, role=role)
                    self.added["edges"] += 1
        return node

    def _existing_run(self, tail: bytes) -> str | None:
        """The run recorded for this stage entry before (same 80 bits, any time), if any."""
        from ulid import ULID

        from lineal.model.filters import parse

        suffix = str(ULID.from_bytes(bytes(6) + tail))[10:]  # the 16 characters of the bits
        found = self.repo.store.search_runs(parse(f'id ~ "*{suffix}"'), limit=2, with_meta=False)
        matches = [run.id for run in found[0] if run.id.endswith(suffix)]
        return matches[0] if matches else None

    def _start(
        self,
        stage: Stage,
        origin: Origin,
        tail: bytes,
        params: Mapping[str, Any],
        meta: Mapping[str, Any],
    ) -> str:
        from ulid import ULID

        from lineal.model.ops import RunFinish, RunStart

        millis = max(0, int(origin.time.timestamp() * 1000))
        run_id = str(ULID.from_bytes(millis.to_bytes(6, "big") + tail))
        when = canonical.format_time(origin.time)
        name = lineal_name(stage.name.replace("/dvc.yaml:", "-"))
        self.repo.store.append([
            RunStart(id=run_id, name=name, started=when, params=params, meta=meta),
            RunFinish(id=run_id, status="finished", ended=when),
        ])  # fmt: skip
        self.added["runs"] += 1
        return run_id

    def result(self, runs: list[str]) -> DvcImport:
        kinds = [kind for kind, _ in self.nodes.values() if kind != "command"]
        present = [ok for kind, ok in self.nodes.values() if kind != "command"]
        return DvcImport(
            root=str(self.project.root),
            repository=self.repository,
            files=len(self.project.tracked),
            stages=len(self.project.stages),
            datasets=kinds.count("dataset"),
            models=kinds.count("model"),
            code=kinds.count("code"),
            configs=kinds.count("config"),
            edges=self.edges,
            hashed=present.count(True),
            absent=present.count(False),
            added_versions=self.added["versions"],
            added_runs=self.added["runs"],
            added_edges=self.added["edges"],
            unrun=self.project.unrun,
            runs=tuple(runs),
        )
