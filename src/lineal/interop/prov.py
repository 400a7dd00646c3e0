"""`lineal export prov REF`: REF's whole upstream as a W3C PROV document.

The mapping (docs/architecture.md, "W3C PROV"): artifacts are ``prov:Entity``, runs
``prov:Activity``, agents ``prov:Agent`` (``prov:SoftwareAgent`` when a run they ran was started
by a CI service, else ``prov:Person``). Edges: ``used`` → used (its role as ``prov:role``),
``generated`` → wasGeneratedBy, ``derived_from``/``labeled_with``/``rendered_from`` →
wasDerivedFrom (``lineal:edgeKind`` says which), ``informed_by`` → wasInformedBy,
``associated_with`` and a run's author → wasAssociatedWith (with the run's code, else its
command, as ``prov:plan``), the agent that recorded an artifact → wasAttributedTo. Everything
else lineal knows rides along as ``lineal:`` attributes, so the export loses nothing.

Identifiers live in one namespace, ``lineal:`` = https://lineal.dev/ns#:
``lineal:KIND/NAME@sha256-HEX`` (a named version), ``lineal:sha256-HEX`` (an unnamed
artifact), ``lineal:run/ULID``, ``lineal:agent/NAME``. The digest's colon becomes a dash so the
identifier is a valid PROV-N local name.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lineal.client import Lineal
from lineal.interop.extras import require
from lineal.interop.prov_facts import Facts, gather
from lineal.lineage.queries import upstream
from lineal.model.entities import Artifact, Edge, Run

if TYPE_CHECKING:
    from prov.model import ProvDocument, QualifiedName

#: `lineal export prov --as`: PROV-JSON (the default), Turtle, JSON-LD (both PROV-O, RDF),
#: PROV-N.
FLAVORS = ("json", "turtle", "jsonld", "provn")
NAMESPACE = "https://lineal.dev/ns#"
PREFIX = "lineal"
#: Edge kinds that say one artifact was made from another.
DERIVATIONS = ("derived_from", "labeled_with", "rendered_from")
#: The roles of a run's inputs that can stand for its plan, best first.
PLAN_ROLES = ("code", "command")
_SCALARS = (bool, int, float, str)
_INT32 = -(2**31)


def local_name(node: str) -> str:
    """The local part of a node's PROV identifier (``sha256:`` spelled ``sha256-``)."""
    return node.replace("sha256:", "sha256-")


def export(repo: Lineal, ref: str, *, flavor: str) -> bytes:
    """REF and everything upstream of it, serialised as ``flavor`` (see FLAVORS)."""
    document = build(repo, ref)
    if flavor == "json":
        return (str(document.serialize(indent=2)) + "\n").encode()
    if flavor == "provn":
        return (document.get_provn() + "\n").encode()
    rdf_format = {"turtle": "turtle", "jsonld": "json-ld"}[flavor]
    require("rdflib", "interop")
    with warnings.catch_warnings():  # prov 3.2 calls rdflib 7 APIs rdflib calls deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        return str(document.serialize(format="rdf", rdf_format=rdf_format)).encode()


def build(repo: Lineal, ref: str) -> ProvDocument:
    """The PROV document of ``ref``'s upstream graph (now)."""
    return document(gather(repo, upstream(repo, ref)))


def document(facts: Facts) -> ProvDocument:
    """The PROV document of resolved facts: one record per node, one relation per edge."""
    model = require("prov.model", "interop")
    doc: ProvDocument = model.ProvDocument()
    Builder(doc, model, facts).build()
    return doc


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _key_ok(key: str) -> bool:
    """Whether ``key`` makes a readable attribute name (``lineal:param.KEY``) in every syntax:
    ASCII letters, digits, ``_``, ``-`` and inner dots."""
    plain = key.replace("_", "a").replace("-", "a").replace(".", "a")
    return key.isascii() and plain.isalnum() and not key.startswith(".") and not key.endswith(".")


class Builder:
    """Adds facts to a ProvDocument: nodes first, then relations in recording order."""

    def __init__(self, doc: ProvDocument, model: Any, facts: Facts) -> None:
        self.doc, self.model, self.facts = doc, model, facts
        self.ns = doc.add_namespace(PREFIX, NAMESPACE)
        self.prov = model.PROV
        self.xsd = model.XSD
        self.literal = model.Literal
        self.plans: dict[str, str] = {}  # run node -> the entity node that is its plan
        self.associated: set[tuple[str, str]] = set()

    def q(self, local: str) -> QualifiedName:
        return self.ns[local]

    def ident(self, node: str) -> QualifiedName:
        return self.ns[local_name(node)]

    def build(self) -> None:
        facts = self.facts
        self._find_plans()
        for node_id, artifact in facts.artifacts.items():
            self._entity(node_id, artifact)
        for node_id, run in facts.runs.items():
            self._activity(node_id, run)
        for agent in facts.agents:
            self._agent(agent)
        for edge in facts.graph.edges:
            self._relation(edge)
        for node_id, run in facts.runs.items():
            if run.author and (node_id, run.author) not in self.associated:
                self._associate(node_id, run.author, "author", None)
        for node_id, record in facts.recorded.items():
            self.doc.wasAttributedTo(
                self.ident(node_id),
                self.ident(f"agent/{record.author}"),
                other_attributes={self.q("edgeKind"): "recorded"},
            )

    def _find_plans(self) -> None:
        for role in reversed(PLAN_ROLES):  # the best role wins: written last
            for edge in self.facts.graph.edges:
                if edge.kind == "used" and edge.role == role:
                    self.plans[edge.child] = edge.parent

    # -- nodes ---------------------------------------------------------------------------
    def _entity(self, node_id: str, artifact: Artifact) -> None:
        q = self.q
        types: list[Any] = [q(artifact.kind.capitalize())]
        if node_id in self.plans.values():
            types.append(self.prov["Plan"])
        attributes: list[tuple[Any, Any]] = [(self.model.PROV_TYPE, t) for t in types]
        attributes += [
            (self.model.PROV_LABEL, artifact.ref),
            (q("digest"), artifact.digest),
            (q("kind"), artifact.kind),
        ]
        if artifact.name is not None:
            attributes.append((q("name"), artifact.name))
        if artifact.version is not None:
            attributes.append((q("version"), artifact.version))
        if artifact.size is not None:
            attributes.append((q("size"), self.literal(str(artifact.size), self.xsd["long"])))
        if artifact.uri is not None:
            attributes.append((q("uri"), self.literal(artifact.uri, self.xsd["anyURI"])))
        if artifact.meta:
            attributes.append((q("meta"), _json(dict(artifact.meta))))
        tags = self.facts.tags.get(node_id)
        if tags:
            attributes.append((q("tags"), _json(dict(tags))))
        attributes += [(q("alias"), alias) for alias in self.facts.graph.nodes[node_id].aliases]
        if artifact.seq is not None:
            attributes.append((q("seq"), artifact.seq))
        record = self.facts.recorded.get(node_id)
        if record is not None:
            attributes.append((q("recordedAt"), _time(record.time)))
        self.doc.entity(self.ident(node_id), attributes)

    def _activity(self, node_id: str, run: Run) -> None:
        q = self.q
        status = self.facts.graph.nodes[node_id].status or run.status
        attributes: list[tuple[Any, Any]] = [
            (self.model.PROV_TYPE, q("Run")),
            (self.model.PROV_LABEL, run.name),
            (q("name"), run.name),
            (q("status"), status),
        ]
        if run.duration is not None:
            attributes.append((q("duration"), float(run.duration)))
        if run.error:
            attributes.append((q("error"), run.error))
        if run.params:
            attributes.append((q("params"), _json(dict(run.params))))
        attributes += self._scalars("param", run.params)
        if run.metrics:
            attributes.append((q("metrics"), _json(dict(run.metrics))))
        attributes += self._scalars("metric", run.metrics)
        if run.tags:
            attributes.append((q("tags"), _json(dict(run.tags))))
        if run.meta:
            attributes.append((q("meta"), _json(dict(run.meta))))
        if run.seq is not None:
            attributes.append((q("seq"), run.seq))
        self.doc.activity(self.ident(node_id), _time(run.started), _time(run.ended), attributes)

    def _scalars(self, what: str, values: Mapping[str, Any]) -> list[tuple[Any, Any]]:
        """``lineal:WHAT.KEY`` = value for each scalar value under a plain key (the whole
        mapping rides in ``lineal:WHATs`` as JSON too)."""
        return [
            (self.q(f"{what}.{key}"), self._value(value))
            for key, value in sorted(values.items())
            if _key_ok(key) and isinstance(value, _SCALARS)
        ]

    def _value(self, value: Any) -> Any:
        """``value`` as prov writes it, but an integer past 32 bits typed xsd:long (prov would
        call it an xsd:int, which RDF readers reject)."""
        if isinstance(value, int) and not isinstance(value, bool) and not _INT32 <= value < -_INT32:
            return self.literal(str(value), self.xsd["long"])
        return value

    def _agent(self, name: str) -> None:
        kind = "SoftwareAgent" if name in self.facts.services else "Person"
        self.doc.agent(
            self.ident(f"agent/{name}"),
            [
                (self.model.PROV_TYPE, self.prov[kind]),
                (self.model.PROV_LABEL, name),
                (self.q("name"), name),
            ],
        )

    # -- relations -----------------------------------------------------------------------
    def _relation(self, edge: Edge) -> None:
        extra: dict[Any, Any] = {} if edge.seq is None else {self.q("seq"): edge.seq}
        if edge.role is not None and edge.kind in ("used", "generated"):
            extra[self.model.PROV_ROLE] = edge.role
        parent, child = self.ident(edge.parent), self.ident(edge.child)
        if edge.kind == "used":
            self.doc.used(child, parent, None, None, extra)
        elif edge.kind == "generated":
            self.doc.wasGeneratedBy(child, parent, None, None, extra)
        elif edge.kind in DERIVATIONS:
            extra[self.q("edgeKind")] = edge.kind
            if edge.kind == "derived_from" and self._same_name(edge):
                extra[self.model.PROV_TYPE] = self.prov["Revision"]
            self.doc.wasDerivedFrom(child, parent, other_attributes=extra)
        elif edge.kind == "informed_by":
            self.doc.wasInformedBy(child, parent, None, extra)
        elif edge.kind == "associated_with":
            self._associate(edge.child, edge.parent.removeprefix("agent/"), edge.kind, edge.seq)

    def _same_name(self, edge: Edge) -> bool:
        old = self.facts.artifacts.get(edge.parent)
        new = self.facts.artifacts.get(edge.child)
        return bool(old and new and old.name and (old.kind, old.name) == (new.kind, new.name))

    def _associate(self, run_node: str, agent: str, kind: str, seq: int | None) -> None:
        self.associated.add((run_node, agent))
        extra: dict[Any, Any] = {self.q("edgeKind"): kind}
        if seq is not None:
            extra[self.q("seq")] = seq
        plan = self.plans.get(run_node)
        self.doc.wasAssociatedWith(
            self.ident(run_node),
            self.ident(f"agent/{agent}"),
            None if plan is None else self.ident(plan),
            None,
            extra,
        )
