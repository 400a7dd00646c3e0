"""`lineal export croissant dataset/NAME[@vN]`: a dataset version as a Croissant 1.1 card.

The card (JSON-LD, ``conformsTo`` http://mlcommons.org/croissant/1.1) holds the version's
metadata (name, description, ``version`` vN, licence, the agent that recorded it as
``creator``, the record time as ``datePublished``), one ``cr:FileObject`` per file of its
manifest (relative ``contentUrl``, ``contentSize``, ``sha256``), a ``cr:RecordSet`` of classes
per label schema it is labelled with (a ``cr:Label`` name field and the classes inline in
``data``), the ``rai:`` fields lineal can state from what it recorded (lineal.interop.
croissant_rai) and its provenance (``prov:wasDerivedFrom`` the datasets it came from,
``prov:wasGeneratedBy`` the run that made it), with the identifiers of `lineal export prov`.

The file list comes from the version's manifest in the local object store: a version whose
manifest is not there is refused with the `lineal pull` to run, since a card without its
files would not describe the data. mlcroissant validates every card before it is returned
(with its first VALIDATED_FILES files: they are all built alike, and it is slow on each).
"""

from __future__ import annotations

import copy
import json
import logging
import mimetypes
import warnings
from collections.abc import Iterable
from typing import Any

from lineal.cas.manifest import Manifest
from lineal.client import Lineal
from lineal.datasets import manifest_of, resolve_dataset
from lineal.errors import IntegrityError
from lineal.interop.croissant_rai import rai_fields
from lineal.interop.extras import require
from lineal.interop.prov import NAMESPACE, local_name
from lineal.interop.prov_facts import artifact_of, edges_into, record_of
from lineal.labels.record import labeled_with, stored_schema
from lineal.labels.schema import LabelSchema
from lineal.model.entities import Artifact, Run
from lineal.registry.stated import stated

FLAVORS = ("jsonld",)
CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
#: The Croissant 1.1 context (as mlcroissant writes it), with ``prov`` declared for the
#: provenance properties.
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "prov": "http://www.w3.org/ns/prov#",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
#: How many FileObjects of a card mlcroissant loads to check it (see validate).
VALIDATED_FILES = 500
#: Edges that make a dataset version from other artifacts (its ``prov:wasDerivedFrom``).
_MADE_FROM = ("derived_from", "rendered_from")


def iri(node: str) -> str:
    """A node's identifier, as `lineal export prov` writes it, expanded to a full IRI."""
    return NAMESPACE + local_name(node)


def export(repo: Lineal, ref: str, *, flavor: str) -> bytes:
    """The Croissant card of dataset version ``ref``, validated (``flavor``: jsonld)."""
    del flavor  # one flavour
    body = card(repo, ref)
    validate(body)
    return (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode()


def card(repo: Lineal, ref: str) -> dict[str, Any]:
    """The card of dataset version ``ref`` (``dataset/NAME[@vN]``, an alias, or NAME)."""
    dataset = resolve_dataset(repo, ref)
    manifest = manifest_of(repo, dataset)
    recorded = record_of(repo, dataset.seq)
    made_by = _generating_runs(repo, dataset)
    schemas = [(schema, stored_schema(schema)) for schema in labeled_with(repo, dataset)]
    name = dataset.name or dataset.digest
    body: dict[str, Any] = {
        "@context": copy.deepcopy(CONTEXT),
        "@type": "sc:Dataset",
        "@id": iri(dataset.node),
        "conformsTo": CONFORMS_TO,
        "name": name,
        "description": _description(repo, dataset, manifest),
        "version": _semver(dataset),
        "url": dataset.uri or iri(dataset.node),
        "identifier": dataset.digest,
    }
    licence = stated(repo, dataset, "license")
    if licence:
        body["license"] = licence
    if recorded is not None:
        body["creator"] = {"@type": "sc:Person", "name": recorded.author}
        body["datePublished"] = recorded.time
    body["citeAs"] = _cite(dataset, recorded.author if recorded else None)
    body.update(rai_fields(repo, dataset, manifest, made_by))
    derived = _derived_from(repo, dataset, made_by)
    if derived:
        body["prov:wasDerivedFrom"] = [
            {"@id": iri(a.node), "name": a.ref, "sha256": a.digest.removeprefix("sha256:")}
            for a in derived
        ]
    if made_by:
        body["prov:wasGeneratedBy"] = [_activity(run) for run in made_by]
    body["distribution"] = _files(dataset, manifest)
    if schemas:
        body["recordSet"] = _record_sets(schemas)
    return body


def validate(body: dict[str, Any]) -> None:
    """Load ``body`` with mlcroissant; raise IntegrityError naming the first error found.

    mlcroissant spends about 3 ms on each FileObject; every FileObject of a card is built the
    same way from a checked manifest, so past VALIDATED_FILES the card is loaded with the first
    VALIDATED_FILES of them (the rest of it whole).
    """
    mlc = require("mlcroissant", "croissant")
    files = body.get("distribution") or []
    if len(files) > VALIDATED_FILES:
        body = {**body, "distribution": files[:VALIDATED_FILES]}
    quiet = logging.getLogger("absl")  # mlcroissant logs its warnings there
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():  # it calls rdflib 7 APIs rdflib calls deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            dataset = mlc.Dataset(jsonld=copy.deepcopy(body))  # it edits what it is given
    except mlc.ValidationError as exc:
        raise IntegrityError(f"the Croissant card does not validate: {exc}") from exc
    finally:
        quiet.setLevel(level)
    errors = sorted(dataset.metadata.issues.errors)
    if errors:
        raise IntegrityError(f"the Croissant card does not validate: {errors[0]}")


def _description(repo: Lineal, dataset: Artifact, manifest: Manifest) -> str:
    stated_text = stated(repo, dataset, "description")
    if stated_text:
        return stated_text
    return (
        f"Version {dataset.version} of dataset {dataset.name}, recorded with lineal: "
        f"{len(manifest)} file{'s' if len(manifest) != 1 else ''}, {manifest.size} bytes "
        f"(manifest {dataset.digest})."
    )


def _semver(dataset: Artifact) -> str:
    """Version N as Croissant asks (semver): N.0.0, a new major for every new content."""
    return f"{dataset.version or 0}.0.0"


def _cite(dataset: Artifact, author: str | None) -> str:
    key = f"{dataset.name}_v{dataset.version}".replace("-", "_").replace(".", "_")
    fields = [f"title = {{{dataset.name} (version {dataset.version})}}"]
    if author:
        fields.append(f"author = {{{author}}}")
    fields.append(f"note = {{lineal {dataset.ref}, {dataset.digest}}}")
    return "@misc{" + key + ",\n  " + ",\n  ".join(fields) + "\n}"


def _generating_runs(repo: Lineal, dataset: Artifact) -> list[Run]:
    runs = []
    for edge in edges_into(repo, dataset, ("generated",)):
        runs.append(repo.store.get_run(edge.parent.removeprefix("run/")))
    return runs


def _derived_from(repo: Lineal, dataset: Artifact, made_by: Iterable[Run]) -> list[Artifact]:
    """The artifacts the version was made from: its derived_from/rendered_from parents and
    the datasets the runs that generated it used, in recording order, once each."""
    nodes = [edge.parent for edge in edges_into(repo, dataset, _MADE_FROM)]
    for run in made_by:
        nodes += [
            e.parent
            for e in repo.edges(run)
            if e.kind == "used" and e.child == run.ref and e.parent.startswith("dataset/")
        ]
    return [artifact_of(repo, node) for node in dict.fromkeys(nodes) if node != dataset.node]


def _activity(run: Run) -> dict[str, Any]:
    body: dict[str, Any] = {"@id": iri(run.ref), "@type": "prov:Activity", "name": run.name}
    if run.started:
        body["prov:startedAtTime"] = run.started
    if run.ended:
        body["prov:endedAtTime"] = run.ended
    return body


def _files(dataset: Artifact, manifest: Manifest) -> list[dict[str, Any]]:
    base = (dataset.uri or "").rstrip("/")
    return [
        {
            "@type": "cr:FileObject",
            "@id": entry.path,
            "name": entry.path,
            "contentUrl": f"{base}/{entry.path}" if base else entry.path,
            "contentSize": f"{entry.size} B",
            "encodingFormat": mimetypes.guess_type(entry.path)[0] or "application/octet-stream",
            "sha256": entry.digest.removeprefix("sha256:"),
        }
        for entry in manifest.entries
    ]


def _record_sets(schemas: list[tuple[Artifact, LabelSchema]]) -> list[dict[str, Any]]:
    sets = []
    for artifact, schema in schemas:
        rid = "classes" if len(schemas) == 1 else f"classes-{artifact.name}-v{artifact.version}"
        supercategories = any(c.supercategory is not None for c in schema.classes)
        fields = [
            _field(rid, "id", "sc:Integer", _ID_MEANING[schema.id_rule]),
            _field(rid, "name", ["sc:Text", "cr:Label"], "The class name, the label."),
        ]
        if supercategories:
            fields.append(_field(rid, "supercategory", "sc:Text", "The class's supercategory."))
        data = []
        for index, one in enumerate(schema.classes):
            row: dict[str, Any] = {
                f"{rid}/id": index if one.id is None else one.id,
                f"{rid}/name": one.name,
            }
            if supercategories:
                row[f"{rid}/supercategory"] = one.supercategory or ""
            data.append(row)
        sets.append(
            {
                "@type": "cr:RecordSet",
                "@id": rid,
                "name": rid,
                "description": (
                    f"The {len(schema.classes)} classes of label schema {artifact.ref} "
                    f"({artifact.meta.get('format', 'unknown format')}, ids {schema.id_rule})."
                ),
                "dataType": "sc:Enumeration",
                "key": {"@id": f"{rid}/id"},
                "field": fields,
                "data": data,
            }
        )
    return sets


_ID_MEANING = {
    "explicit": "The class id the annotations use.",
    "positional": "The class index: its position in the format's class list.",
    "implicit": "The class's position in name order (the format gives classes no id).",
}


def _field(rid: str, name: str, data_type: str | list[str], description: str) -> dict[str, Any]:
    return {
        "@type": "cr:Field",
        "@id": f"{rid}/{name}",
        "name": name,
        "description": description,
        "dataType": data_type,
    }
