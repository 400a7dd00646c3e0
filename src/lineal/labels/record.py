"""Label schemas in the store: record an imported schema as a versioned ``schema`` artifact,
label a dataset version with the schemas its folder carries, and read schemas back.

A service over lineal.client; never prints. Every write of one call lands in one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal.client import Lineal
from lineal.errors import InvalidInput, LinealError, NotFound
from lineal.labels.imported import Imported
from lineal.labels.schema import LabelSchema, Problem
from lineal.model.entities import Artifact, check_name, kind_name
from lineal.model.refs import Ref

if TYPE_CHECKING:
    from lineal.labels.diff import SchemaDiff

KIND = "schema"
#: At most this many problems are kept in a dataset version's record (all count).
MAX_PROBLEMS = 20
#: A dataset version lists this many of a schema's annotation files (KITTI and YOLO have one
#: per image); the count is of all of them.
MAX_SOURCES = 5


@dataclass(frozen=True, slots=True)
class Recorded:
    """A schema as recorded: ``created`` False when that name already had this version;
    ``previous`` the version it was derived from (None for a first version)."""

    artifact: Artifact
    created: bool
    previous: Artifact | None
    imported: Imported


def schema_name(text: str) -> str:
    """``schema/NAME`` or ``NAME`` → NAME (validated)."""
    return kind_name(text, KIND)


def default_name(path: Path) -> str:
    """A name from a file's stem or a folder's name: ``instances_val2017``, ``kitti``."""
    resolved = path.resolve()
    base = resolved.name if resolved.is_dir() else resolved.stem
    if base in ("_annotations.coco", "data", "obj", "dataset", "Annotations", "label_2"):
        base = resolved.parent.name or base
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-._")
    return base[:128] or "labels"


def _where(repo: Lineal, path: Path) -> str:
    """``path`` relative to the workspace's folder when it is inside it, else absolute."""
    absolute = path.resolve()
    if repo.workspace is not None and repo.workspace.root is not None:
        try:
            return absolute.relative_to(repo.workspace.root.parent).as_posix() or "."
        except ValueError:
            pass
    return str(absolute)


def record(repo: Lineal, imported: Imported, *, name: str, source: Path | None = None) -> Recorded:
    """Record ``imported``'s schema as a version of ``schema/NAME``.

    The digest is the canonical form's: the same schema read from two files is one node. A
    schema that differs from the name's latest version becomes a new version derived from it.
    """
    schema = imported.schema
    digest = schema.digest
    meta: dict[str, Any] = {
        "format": imported.format,
        "classes": len(schema.classes),
        "schema": schema.canonical(),
    }
    if source is not None:
        meta["source"] = _where(repo, source)
    with repo.atomic():
        versions = repo.versions(KIND, name)
        if digest in versions:
            found = repo.resolve(Ref(kind=KIND, name=name, digest=digest))
            assert isinstance(found, Artifact)  # noqa: S101 - a version is an artifact
            return Recorded(found, False, None, imported)
        previous = None
        if versions:
            latest = repo.resolve(f"{KIND}/{name}")
            previous = latest if isinstance(latest, Artifact) else None
        artifact = repo.record_artifact(KIND, digest=digest, name=name, meta=meta)
        if previous is not None:
            repo.link("derived_from", previous, artifact)
    return Recorded(artifact, True, previous, imported)


def stored_schema(artifact: Artifact) -> LabelSchema:
    """The canonical schema a ``schema`` artifact carries in its meta."""
    body = artifact.meta.get("schema")
    if artifact.kind != KIND or not isinstance(body, dict):
        raise InvalidInput(f"{artifact.ref} is a {artifact.kind}, not a label schema")
    return LabelSchema.from_canonical(body)


def labeled_with(repo: Lineal, artifact: Artifact) -> list[Artifact]:
    """The schemas a dataset version is labelled with, oldest edge first.

    The edge runs schema -> dataset, as lineage flows (the schema is upstream of the data it
    labels). Stores written before that recorded dataset -> schema; those edges still count.
    """
    found = []
    for edge in repo.edges(artifact):
        if edge.kind != "labeled_with":
            continue
        other = edge.parent if edge.child == artifact.node else edge.child
        schema = repo.resolve(other)
        if isinstance(schema, Artifact) and schema.kind == KIND:
            found.append(schema)
    return found


def resolve(repo: Lineal, text: str) -> Artifact:
    """The schema artifact ``text`` names: ``schema/NAME[@vN]``, a bare NAME, a digest, or a
    dataset version labelled with exactly one schema."""
    ref = text if "/" in text or text.startswith("sha256:") else f"{KIND}/{text}"
    found = repo.resolve(ref)
    if isinstance(found, Artifact) and found.kind == KIND:
        return named(repo, found)
    if isinstance(found, Artifact) and found.kind == "dataset":
        schemas = labeled_with(repo, found)
        if len(schemas) == 1:
            return named(repo, schemas[0])
        if not schemas:
            raise NotFound(
                f"{found.ref} is not labelled with a schema",
                hint="`lineal schema import PATH` records one; `lineal add` does it for "
                "folders with annotations in a known layout",
            )
        listed = ", ".join(named(repo, s).ref for s in schemas)
        raise InvalidInput(f"{found.ref} is labelled with {len(schemas)} schemas: {listed}")
    raise InvalidInput(f"{text} is not a label schema", hint="use schema/NAME[@vN]")


def load(repo: Lineal, text: str, *, paths: bool = True) -> tuple[str, LabelSchema]:
    """A stored schema by reference, or (with ``paths``; never on a server) one read from a
    label file or folder (not recorded): what it is called, and the schema."""
    from lineal.labels.detect import import_path

    if paths and _is_path(text):
        return text, import_path(Path(text)).schema
    artifact = resolve(repo, text)
    return artifact.ref, stored_schema(artifact)


def _is_path(text: str) -> bool:
    try:
        return Path(text).exists()
    except (OSError, ValueError):  # no file can have that name: it may be a reference
        return False


def named(repo: Lineal, artifact: Artifact) -> Artifact:
    """``artifact`` if it is a named version, else the first named version of its kind holding
    the same bytes (a schema recorded unnamed, then named), else itself."""
    if artifact.name is not None:
        return artifact
    for holder in repo.holders(artifact.digest):
        if holder.name is not None and holder.kind == artifact.kind:
            return holder
    return artifact


def show(repo: Lineal, text: str) -> dict[str, Any]:
    """A schema version with its classes, versions, origin and the datasets labelled with it."""
    artifact = resolve(repo, text)
    schema = stored_schema(artifact)
    body = repo.show(artifact.ref)
    return {
        "ref": artifact.ref,
        "digest": artifact.digest,
        "name": artifact.name,
        "version": artifact.version,
        "format": artifact.meta.get("format"),
        "source": artifact.meta.get("source"),
        **schema.canonical(),
        "versions": body.get("versions", []),
        "same_content": body.get("same_content", []),
        "derived_from": [e["ref"] for e in body["upstream"] if e["kind"] == "derived_from"],
        "datasets": [
            e["ref"]
            for e in (*body["downstream"], *body["upstream"])  # upstream: stores of before
            if e["kind"] == "labeled_with"
        ],
    }


# -- datasets ------------------------------------------------------------------------------
def detect(folder: Path) -> tuple[list[Imported], list[Problem]]:
    """The schemas a dataset folder carries, read leniently: a broken annotation file must
    not stop a snapshot, so what could not be read comes back as problems."""
    from lineal.labels.detect import dataset_schemas
    from lineal.labels.schema import LabelFileError

    try:
        return dataset_schemas(folder, lenient=True), []
    except LabelFileError as exc:
        return [], [exc.problem]
    except (OSError, LinealError) as exc:
        return [], [Problem(file=str(folder), message=str(exc))]


def dataset_meta(found: list[Imported], problems: list[Problem], root: Path) -> dict[str, Any]:
    """What a dataset version records about its labels: per schema, the format, digest,
    annotation files (counted; the first few named) and statistics; and the problems met (the
    first few; all counted)."""
    every = [*problems, *(p for one in found for p in one.problems)]
    return {
        "schemas": [
            {
                "format": one.format,
                "schema": one.schema.digest,
                "files": len(one.files),
                "sources": [_storable(_inside(f, root)) for f in one.files[:MAX_SOURCES]],
                "stats": one.stats.as_dict(),
            }
            for one in found
        ],
        "problems": len(every),
        "problem_list": [_storable(str(p)) for p in every[:MAX_PROBLEMS]],
    }


def _storable(text: str) -> str:
    """``text`` as every store holds it: the undecodable bytes of a file name (surrogate
    escapes) and U+0000 written as backslash escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _inside(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def label_dataset(
    repo: Lineal, dataset: Artifact, found: list[Imported], *, root: Path
) -> list[Recorded]:
    """Record each schema (named after the dataset) and ``schema --labeled_with--> dataset``
    (the schema upstream of the data it labels); call inside the transaction that records
    the dataset version."""
    base = dataset.name or default_name(root)
    done: list[Recorded] = []
    for one in found:
        name = base
        if len(found) > 1:
            name = f"{base}-{default_name(one.files[0])}"[:128]
        recorded = record(repo, one, name=check_name(name, "schema name"), source=one.files[0])
        already = any(s.node == recorded.artifact.node for s in labeled_with(repo, dataset))
        if not already:
            repo.link("labeled_with", recorded.artifact, dataset)
        done.append(recorded)
    return done


def compare(repo: Lineal, a: str, b: str, *, paths: bool = True) -> tuple[str, str, SchemaDiff]:
    """Two schemas (references, or with ``paths`` label files) and what changed from ``a`` to
    ``b``; :func:`compared` is `lineal schema diff --json`."""
    from lineal.labels.diff import diff

    (left, old), (right, new) = load(repo, a, paths=paths), load(repo, b, paths=paths)
    return left, right, diff(old, new)


def compared(left: str, right: str, result: SchemaDiff) -> dict[str, Any]:
    return {"a": left, "b": right, "same": result.same, **result.as_dict()}


def annotation_stats(repo: Lineal, text: str) -> dict[str, Any]:
    """What a labelled dataset version recorded about its annotations, per label schema: the
    format, the schema version, the statistics, and ``classes``, a histogram of annotations
    per class, most first (``share``: of the schema's annotations)."""
    found = repo.resolve(text if "/" in text or text.startswith("sha256:") else f"dataset/{text}")
    if not isinstance(found, Artifact) or found.kind != "dataset":
        raise InvalidInput(f"{text} is not a dataset version", hint="use dataset/NAME[@vN]")
    labels = found.meta.get("labels")
    if not isinstance(labels, dict) or not isinstance(labels.get("schemas"), list):
        raise InvalidInput(
            f"{found.ref} recorded no annotations",
            hint="`lineal add` records them for a folder in a known label layout (COCO, YOLO, "
            "KITTI, VOC)",
        )
    linked = {one.digest: named(repo, one) for one in labeled_with(repo, found)}
    schemas = []
    for one in labels["schemas"]:
        stats = one.get("stats", {})
        counts = stats.get("per_class", {})
        total = sum(counts.values()) or 1
        digest = one.get("schema")
        schema = linked.get(digest) if isinstance(digest, str) else None
        schemas.append(
            {
                "format": one.get("format"),
                "schema": schema.ref if schema is not None else digest,
                "files": one.get("files"),
                "stats": stats,
                "classes": [
                    {"name": name, "count": count, "share": round(count / total, 6)}
                    for name, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                ],
            }
        )
    return {
        "ref": found.ref,
        "schemas": schemas,
        "problems": labels.get("problems", 0),
        "problem_list": labels.get("problem_list", []),
    }
