"""Dataset versions: snapshot files into manifests, record them, diff them, track checkouts.

A service over the object cache and the store; never prints, never runs SQL itself.
"""

from __future__ import annotations

import errno
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal.cas.manifest import Manifest, ManifestDiff, diff
from lineal.cas.progress import Progress, stage
from lineal.cas.scan import SnapshotResult, snapshot
from lineal.cas.statcache import StatCache
from lineal.client import Lineal
from lineal.errors import InvalidInput, NotFound, StoreUnavailable
from lineal.model.entities import Artifact, check_name, kind_name

if TYPE_CHECKING:
    from lineal.cas.objects import ObjectCache
    from lineal.labels.record import Recorded

CHECKOUTS = "checkouts.json"
_SPDX = re.compile(r"[A-Za-z0-9.+-]+(?: (?:AND|OR|WITH) [A-Za-z0-9.+-]+)*|\([^()]+\)")


def objects(repo: Lineal) -> ObjectCache:
    from lineal.cas.objects import ObjectCache  # not loaded by commands that copy no bytes

    return ObjectCache(workspace_root(repo) / "objects")


def workspace_root(repo: Lineal) -> Path:
    return repo.require_workspace().require_root()


def stat_cache(repo: Lineal) -> StatCache:
    return StatCache(workspace_root(repo) / "stat.db")


def dataset_name(text: str) -> str:
    """``dataset/NAME`` or ``NAME`` → NAME (validated)."""
    return kind_name(text, "dataset")


def default_name(path: Path) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", path.resolve().name).strip("-._")
    return base[:128] or "dataset"


def _relative(repo: Lineal, path: Path) -> str:
    folder = workspace_root(repo).parent
    absolute = path.resolve()
    try:
        return absolute.relative_to(folder).as_posix() or "."
    except ValueError:
        return str(absolute)


def parse_meta(pairs: Iterable[str]) -> dict[str, str]:
    """``k=v`` strings to a dict, with one clear error for anything else."""
    found: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}", key):
            raise InvalidInput(
                f"bad --meta {pair!r}: expected KEY=VALUE (KEY: letters, digits, _.-)"
            )
        found[key] = value
    return found


@dataclass(frozen=True, slots=True)
class AddResult:
    artifact: Artifact
    created: bool  # False when the content equals the latest version
    snapshot: SnapshotResult
    labels: tuple[Recorded, ...] = ()  # label schemas found in the folder and recorded
    label_problems: tuple[str, ...] = ()  # annotation entries that could not be read


def _is_url(target: str | Path) -> bool:
    return isinstance(target, str) and "://" in target and not target.startswith("file://")


#: What an add interrupted before it records leaves behind (said after Ctrl-C).
NOT_RECORDED = "nothing was recorded"
COPIES_STAY = "Objects already copied into the cache stay there: lineal gc reclaims them."
#: The stage a writer shows while a gc holds the cache.
WAITING_FOR_GC = "waiting for lineal gc to finish"


def _urls(targets: Sequence[str | Path], *, ref_only: bool, endpoint_url: str | None) -> list[str]:
    """The URL among ``targets`` (at most one, with --ref-only), checked."""
    urls = [str(t) for t in targets if _is_url(t)]
    if urls and (not ref_only or len(targets) > 1):
        raise InvalidInput(
            f"cannot copy {urls[0]} into the cache: remote data is recorded by reference",
            hint="pass --ref-only, with that URL alone",
        )
    if endpoint_url and not urls:
        raise InvalidInput(
            "--endpoint-url is for data recorded by reference at an s3:// URL",
            hint="lineal add s3://bucket/prefix --ref-only --endpoint-url URL",
        )
    _no_credentials(*urls, *([endpoint_url] if endpoint_url else []))
    return urls


def _no_credentials(*urls: str) -> None:
    """Refuse URLs holding credentials: the record of a version is signed and kept for good."""
    if any("@" in url or "=" in url for url in urls):  # the patterns load only then
        from lineal.model.masking import refuse_credentials

        for url in urls:
            refuse_credentials(url, never="records them in the signed ledger")


def _snapshot_url(url: str, endpoint_url: str | None, progress: Progress | None) -> SnapshotResult:
    from lineal.cas.remote import Remote

    options = {"endpoint_url": endpoint_url} if endpoint_url else {}
    stage(progress, "hashing", "hashed", unit="files", after=NOT_RECORDED)
    manifest = Manifest.from_entries(Remote(url, options=options).hash_tree(progress=progress))
    return SnapshotResult(
        manifest=manifest,
        files=len(manifest),
        hashed=len(manifest),
        from_stat_cache=0,
        new_objects=0,
        bytes_hashed=manifest.size,
        skipped=(),
    )


def _snapshot_local(
    repo: Lineal, paths: Sequence[Path], cache: ObjectCache | None, progress: Progress | None
) -> SnapshotResult:
    after = NOT_RECORDED if cache is None else f"{NOT_RECORDED}. {COPIES_STAY}"
    stage(progress, "hashing", "hashed", unit="files", after=after)
    stats = stat_cache(repo)
    try:
        return snapshot(paths, objects=cache, stat_cache=stats, progress=progress)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise StoreUnavailable(
                f"no space left on the device holding {workspace_root(repo) / 'objects'}",
                hint="free some space (`lineal gc` drops unreferenced objects), then add again",
            ) from exc
        raise
    finally:
        stats.close()


def add(
    repo: Lineal,
    targets: Sequence[str | Path],
    *,
    name: str | None = None,
    ref_only: bool = False,
    license: str | None = None,
    source: str | None = None,
    description: str | None = None,
    owner: str | None = None,
    extra: Mapping[str, str] | None = None,
    endpoint_url: str | None = None,
    progress: Progress | None = None,
    kind: str = "dataset",
    meta: Mapping[str, Any] | None = None,
    then: Callable[[Artifact], object] | None = None,
) -> AddResult:
    """Snapshot files, folders or (with ``ref_only``) one URL as a new version of a dataset.

    Returns the latest version unchanged when the content equals it. ``kind`` records the
    snapshot as another kind of artifact (a model, a file) with the same machinery; ``meta``
    adds recorded keys. ``endpoint_url`` is where an s3:// URL's server is (MinIO, Ceph, …).
    ``progress`` is told each stage and how far it got (see lineal.cas.progress). ``then``
    is called with the artifact inside the transaction that records it (its own when the
    content equals the latest version), so what it appends lands with the version or not at
    all; the snapshot's hashing and copying stay outside that transaction.
    """
    if not targets:
        raise InvalidInput("nothing to add", hint="pass one or more files or folders")
    urls = _urls(targets, ref_only=ref_only, endpoint_url=endpoint_url)
    paths = [Path(str(t).removeprefix("file://")) for t in targets if not _is_url(t)]
    if source is not None:
        _no_credentials(source)
    if license is not None and not _SPDX.fullmatch(license):
        raise InvalidInput(
            f"bad licence {license!r}: expected an SPDX identifier or expression",
            hint="e.g. CC-BY-4.0, MIT, Apache-2.0 OR MIT",
        )
    if name and kind != "dataset":
        label = check_name(name.removeprefix(f"{kind}/"), f"{kind} name")
    else:
        label = dataset_name(name) if name else default_name(Path(str(targets[0]).rstrip("/")))
    cache = objects(repo)  # one instance: sync() knows what this snapshot wrote
    # Held from the first look at the cache to the record: a gc waits meanwhile (the objects
    # this snapshot wrote or reuses are referenced by nothing until the record lands).
    with cache.writing(waiting=lambda: stage(progress, WAITING_FOR_GC, after=NOT_RECORDED)):
        result = (
            _snapshot_url(str(urls[0]), endpoint_url, progress)
            if urls
            else _snapshot_local(repo, paths, None if ref_only else cache, progress)
        )
        manifest = result.manifest
        after = NOT_RECORDED if ref_only else f"{NOT_RECORDED}. {COPIES_STAY}"
        stage(progress, "recording", after=after)  # the sync, the annotations, the record
        cache.add_bytes(manifest.encode())
        cache.sync()  # objects are durable before the record that names them
        previous = latest(repo, label, kind)
        schemas: list[Recorded] = []
        problems: tuple[str, ...] = ()
        if previous is not None and previous.digest == manifest.digest:
            artifact, created = previous, False
            if then is not None:
                with repo.atomic():
                    then(artifact)
        else:
            recorded: dict[str, Any] = {
                **(meta or {}),
                "files": len(manifest),
                "ref_only": ref_only,
                "owner": owner or (repo.store.signer.name if repo.store.signer else None),
                "license": license,
                "source": source,
                "description": description,
                "extra": dict(extra) if extra else None,
            }
            uri = _where(repo, paths, urls, recorded, ref_only=ref_only)
            labelled = _labels(paths) if kind == "dataset" else None
            if labelled is not None:
                recorded["labels"] = labelled[2]
                problems = tuple(labelled[2]["problem_list"])
            with repo.atomic():  # the version, its schemas and labeled_with edges land together
                artifact = repo.record_artifact(
                    kind,
                    digest=manifest.digest,
                    name=label,
                    size=manifest.size,
                    uri=uri,
                    meta={k: v for k, v in recorded.items() if v is not None},
                )
                schemas = _label(repo, artifact, labelled[0] if labelled else [], paths)
                (then or _nothing)(artifact)
            created = True
    stage(progress, "finishing", after=f"{artifact.ref} was recorded")
    if paths and kind == "dataset":
        remember(workspace_root(repo), label, artifact.digest)
    return AddResult(artifact, created, result, tuple(schemas), problems)


def _where(
    repo: Lineal,
    paths: Sequence[Path],
    urls: Sequence[str],
    recorded: dict[str, Any],
    *,
    ref_only: bool,
) -> str | None:
    """Note in ``recorded`` where the snapshot came from (paths and root, relative to the
    workspace); the URI a reference-only version keeps its data at (else None)."""
    base = None
    if paths:
        base = paths[0] if len(paths) == 1 and paths[0].is_dir() else paths[0].parent
    if base is not None:
        recorded["paths"] = [_relative(repo, p) for p in paths]
        recorded["root"] = _relative(repo, base)
    if not ref_only:
        return None
    return str(urls[0]) if urls or base is None else base.resolve().as_uri()


def _nothing(artifact: Artifact) -> None:
    """No more to record with a version."""


def _label(repo: Lineal, dataset: Artifact, found: list[Any], paths: Sequence[Path]) -> list[Any]:
    if not found:
        return []
    from lineal.labels.record import label_dataset

    return label_dataset(repo, dataset, found, root=paths[0])


def _labels(paths: Sequence[Path]) -> tuple[list[Any], list[Any], dict[str, Any]] | None:
    """Annotations in a known layout in the one folder added: the schemas, the problems met,
    and what the dataset version records about them (None: no annotations found)."""
    if len(paths) != 1 or not paths[0].is_dir():
        return None
    from lineal.labels import record

    found, problems = record.detect(paths[0])
    if not found and not problems:
        return None
    return found, problems, record.dataset_meta(found, problems, paths[0])


def add_or_reuse(
    repo: Lineal, path: Path, *, kind: str, meta: Mapping[str, Any] | None = None
) -> Artifact:
    """The artifact holding ``path``'s content: an existing one, or a new version named after
    the path.

    A run's input may be bytes recorded before, under another name or kind (one step's
    ``file`` output is the next one's ``dataset`` input). Of the nodes holding them, the one
    of ``kind`` named after the path wins, else the latest of ``kind``, else the latest.
    """
    cache = objects(repo)
    with cache.writing():  # until add() below records them, nothing references these objects
        stats = stat_cache(repo)
        try:
            manifest = snapshot([path], objects=cache, stat_cache=stats).manifest
        finally:
            stats.close()
        cache.add_bytes(manifest.encode())
        cache.sync()  # add() below would find these objects cached and not sync them again
        holders = repo.holders(manifest.digest)
        name = default_name(path)
        for wanted in (
            [a for a in holders if a.kind == kind and a.name == name],
            [a for a in holders if a.kind == kind],
            holders,
        ):
            if wanted:
                return wanted[-1]
        return add(repo, [path], kind=kind, meta=meta).artifact


def latest(repo: Lineal, name: str, kind: str = "dataset") -> Artifact | None:
    try:
        found = repo.resolve(f"{kind}/{name}")
    except NotFound:
        return None
    return found if isinstance(found, Artifact) else None


def resolve_dataset(repo: Lineal, ref: str) -> Artifact:
    found = repo.resolve(ref if "/" in ref or ref.startswith("sha256:") else f"dataset/{ref}")
    if not isinstance(found, Artifact) or found.kind != "dataset":
        raise InvalidInput(f"{ref} is not a dataset version", hint="use dataset/NAME[@vN]")
    return found


def manifest_of(repo: Lineal, artifact: Artifact) -> Manifest:
    return manifest_in(objects(repo), artifact)


def manifest_in(cache: ObjectCache, artifact: Artifact) -> Manifest:
    if not cache.has(artifact.digest) and "files" not in artifact.meta:
        # `lineal add` records how many files a manifest lists; a version recorded by its
        # digest alone (an import from MLflow or OpenLineage, a DVC out whose bytes were
        # absent) never had one, and no remote will have it.
        raise NotFound(
            f"{artifact.ref} was recorded by its digest alone, without a list of its files",
            hint=f"record its files: lineal add PATH --name {artifact.name or 'NAME'}",
        )
    if not cache.has(artifact.digest):
        raise NotFound(
            f"the manifest of {artifact.ref} is not in the local cache",
            hint=f"run `lineal pull {artifact.ref}` to fetch it from a remote",
        )
    return Manifest.decode(cache.read_bytes(artifact.digest), expected=artifact.digest)


def diff_versions(
    repo: Lineal, a: str, b: str, manifest: Callable[[Lineal, Artifact], Manifest] | None = None
) -> tuple[Artifact, Artifact, ManifestDiff]:
    """Two dataset versions' file-level difference, ``manifest`` reading (or manifest_of)."""
    read = manifest or manifest_of
    old, new = resolve_dataset(repo, a), resolve_dataset(repo, b)
    return old, new, diff(read(repo, old), read(repo, new))


def checkouts(root: Path) -> dict[str, str]:
    """Which version of each dataset its working copy holds (set by add and checkout)."""
    try:
        found = json.loads((root / CHECKOUTS).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def remember(root: Path, name: str, digest: str) -> None:
    state = checkouts(root)
    state[name] = digest
    tmp = root / (CHECKOUTS + ".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    tmp.replace(root / CHECKOUTS)


def absolute(repo: Lineal, recorded: str) -> Path:
    path = Path(recorded)
    return path if path.is_absolute() else workspace_root(repo).parent / path
