"""MLflow run artifacts over a ``Lineal``: which file a path names, and recording an upload.

A run's artifact location is ``mlflow-artifacts:/EXPERIMENT/RUN/artifacts``, which the client
resolves against its tracking URI, so uploads come to the server that tracks the run. Each file
is a ``file`` artifact named from its path (digest: sha256 of its bytes, which the server keeps
in its object store), ``generated`` by the run, with meta ``{"mlflow": {"path"}}``; listing and
downloading read the run's ``generated`` edges. The bytes themselves are the caller's (the
server's object routes): nothing here reads or writes them.
"""

from __future__ import annotations

import posixpath
from typing import Any

from lineal.client import Lineal
from lineal.errors import NotFound
from lineal.interop import mlflow_api as api
from lineal.interop.mlflow_api_runs import active_run, the_run
from lineal.interop.mlflow_errors import DOES_NOT_EXIST, INVALID_PARAMETER, MlflowError
from lineal.model.entities import Artifact
from lineal.model.ops import ArtifactRecord, EdgeRecord, Op


def locate(path: str) -> tuple[str, str]:
    """``(run_id, path within the run's artifacts)`` of ``EXPERIMENT/RUN/artifacts[/PATH]``."""
    parts = [one for one in path.strip("/").split("/") if one]
    if len(parts) < 3 or parts[2] != "artifacts":
        raise MlflowError(
            INVALID_PARAMETER,
            f"Invalid artifact path {path!r}: expected EXPERIMENT_ID/RUN_ID/artifacts/PATH",
        )
    inner = parts[3:]
    if any(one in (".", "..") or "\\" in one or "\x00" in one for one in inner):
        raise MlflowError(INVALID_PARAMETER, f"Invalid artifact path {path!r}")
    return parts[1], "/".join(inner)


def files(repo: Lineal, run_id: str) -> dict[str, Artifact]:
    """The run's artifact files by path, each the version it uploaded last."""
    node = f"run/{run_id}"
    found: dict[str, Artifact] = {}
    for edge in repo.store.edges(node):
        if edge.kind != "generated" or edge.parent != node or not edge.child.startswith("file/"):
            continue
        try:
            artifact = repo.resolve(edge.child)
        except NotFound:
            continue
        if isinstance(artifact, Artifact):
            path = (artifact.meta.get("mlflow") or {}).get("path")
            found[str(path or artifact.name)] = artifact
    return found


def find(repo: Lineal, path: str) -> Artifact:
    """The file ``EXPERIMENT/RUN/artifacts/PATH`` names, or RESOURCE_DOES_NOT_EXIST."""
    run_id, inner = locate(path)
    run = the_run(repo, run_id)
    found = files(repo, run.id).get(inner)
    if found is None:
        raise MlflowError(DOES_NOT_EXIST, f"No artifact {inner!r} in run {run_id}")
    return found


def listing(repo: Lineal, path: str) -> dict[str, Any]:
    """``GET mlflow-artifacts/artifacts?path=…``: the files and folders right under a folder
    (paths relative to it, as MLflow's server lists them)."""
    run_id, inner = locate(path)
    run = the_run(repo, run_id)
    entries: dict[str, dict[str, Any]] = {}
    for file_path, artifact in files(repo, run.id).items():
        if inner and not file_path.startswith(inner.rstrip("/") + "/"):
            if file_path == inner:  # a file itself: MLflow lists just that file
                name = posixpath.basename(file_path)
                return {"files": [{"path": name, "is_dir": False, "file_size": artifact.size}]}
            continue
        rest = file_path[len(inner.rstrip("/")) + 1 :] if inner else file_path
        head, slash, _ = rest.partition("/")
        if slash:
            entries[head] = {"path": head, "is_dir": True}
        else:
            entries[head] = {"path": head, "is_dir": False, "file_size": artifact.size}
    return {"files": [entries[name] for name in sorted(entries)]}


def check_upload(repo: Lineal, path: str) -> None:
    """Refuse an upload before its bytes are read: a bad path, or a run MLflow may not write."""
    run_id, inner = locate(path)
    if not inner:
        raise MlflowError(INVALID_PARAMETER, f"Invalid artifact path {path!r}: no file name")
    active_run(repo, run_id)


def record(repo: Lineal, path: str, digest: str, size: int) -> Artifact:
    """Record the upload of ``EXPERIMENT/RUN/artifacts/PATH`` (bytes ``digest``, kept by the
    caller): a ``file`` the run generated. Uploading the same bytes again appends nothing."""
    run_id, inner = locate(path)
    if not inner:
        raise MlflowError(INVALID_PARAMETER, f"Invalid artifact path {path!r}: no file name")
    name = api.lineal_name(inner.replace("/", "-"), "artifact")
    op = ArtifactRecord(
        kind="file", digest=digest, name=name, size=size, meta={"mlflow": {"path": inner}}
    )
    with repo.atomic():
        run = active_run(repo, run_id)
        node = f"file/{name}@{digest}"
        ops: list[Op] = []
        try:
            found = repo.resolve(node)
        except NotFound:
            found = None
        if not isinstance(found, Artifact):
            ops.append(op)
        edge = EdgeRecord(kind="generated", parent=f"run/{run.id}", child=node)
        made = repo.store.edges(node)
        if not any(e.kind == "generated" and e.parent == edge.parent for e in made):
            ops.append(edge)
        if ops:
            repo.store.append(ops)
    return Artifact(kind="file", digest=digest, name=name, size=size, meta=op.meta)
