"""The parts of a CycloneDX 1.6 ML-BOM that cyclonedx-python-lib cannot build yet, written as
the schema has them: the model's ``modelCard`` and a data component's ``data`` entry.

Facts come from what lineal recorded (run params and tags, artifact meta and tags); what is not
known is left out, never guessed. Never writes, never prints.
"""

from __future__ import annotations

import re
from typing import Any

from lineal.model.entities import Artifact
from lineal.registry.provenance import Input, ModelProvenance

#: CycloneDX 1.6's learning approaches (``modelParameters.approach.type``).
APPROACHES = (
    "supervised",
    "unsupervised",
    "reinforcement-learning",
    "semi-supervised",
    "self-supervised",
)
#: ``modelParameters`` fields, each from the first tag, meta key or run param of these names.
_PARAMETERS = {
    "task": ("task",),
    "architectureFamily": ("architecture_family",),
    "modelArchitecture": ("architecture", "model_architecture"),
}
#: ``considerations`` lists, each from a model tag or meta key of these names.
_CONSIDERATIONS = {
    "users": ("users", "intended_users"),
    "useCases": ("use_cases", "intended_use"),
    "technicalLimitations": ("limitations", "technical_limitations"),
    "performanceTradeoffs": ("tradeoffs", "performance_tradeoffs"),
}
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")


def _fact(provenance: ModelProvenance, *keys: str) -> str | None:
    """A fact about the model: its tag, its recorded meta, else the generating run's tag or
    param of that name (``approach``, ``task``…)."""
    run = provenance.run
    for key in keys:
        value = provenance.tagged(provenance.model, key)
        if value is None and run is not None:
            found = run.tags.get(key, run.params.get(key))
            value = None if found in (None, "") else str(found)
        if value is not None:
            return value
    return None


def _approach(provenance: ModelProvenance) -> str | None:
    """The learning approach when it is one CycloneDX names (``semi_supervised`` and
    ``Semi-Supervised`` count); anything else is left out rather than made invalid."""
    value = _fact(provenance, "approach", "learning_approach")
    if value is None:
        return None
    spelled = value.strip().lower().replace("_", "-").replace(" ", "-")
    return spelled if spelled in APPROACHES else None


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def performance_metrics(provenance: ModelProvenance) -> list[dict[str, Any]]:
    """Each metric of the runs that trained or evaluated the model (its latest value), with
    the data it was measured on as ``slice`` when the run used evaluation data."""
    found = []
    for evaluation in provenance.evaluations:
        for key, value in sorted(evaluation.run.metrics.items()):
            if value is None:  # NaN: nothing to report
                continue
            metric: dict[str, Any] = {"type": key, "value": _number(float(value))}
            if evaluation.datasets:
                metric["slice"] = ", ".join(evaluation.datasets)
            found.append(metric)
    return found


def model_card(provenance: ModelProvenance) -> dict[str, Any]:
    """The model's ``modelCard``: parameters, datasets, metrics and considerations."""
    parameters: dict[str, Any] = {}
    if (approach := _approach(provenance)) is not None:
        parameters["approach"] = {"type": approach}
    for field, keys in _PARAMETERS.items():
        if (value := _fact(provenance, *keys)) is not None:
            parameters[field] = value
    if provenance.datasets:
        parameters["datasets"] = [{"ref": item.ref} for item in provenance.datasets]
    card: dict[str, Any] = {"bom-ref": f"{provenance.ref}#model-card"}
    if parameters:
        card["modelParameters"] = parameters
    if metrics := performance_metrics(provenance):
        card["quantitativeAnalysis"] = {"performanceMetrics": metrics}
    considerations = {}
    for field, keys in _CONSIDERATIONS.items():
        stated = [v for k in keys if (v := provenance.tagged(provenance.model, k)) is not None]
        if stated:
            considerations[field] = stated[:1]
    if considerations:
        card["considerations"] = considerations
    return card


def _properties(artifact: Artifact, ref: str) -> list[dict[str, str]]:
    meta = artifact.meta
    values = {
        "lineal:reference": ref,
        "lineal:files": meta.get("files"),
        "lineal:size": artifact.size,
        "lineal:uri": artifact.uri,
    }
    return [{"name": k, "value": str(v)} for k, v in values.items() if v not in (None, "")]


def data_entry(provenance: ModelProvenance, item: Input) -> dict[str, Any]:
    """A dataset version's ``data`` entry: what it is, where it is, how it is classified."""
    artifact = item.artifact
    contents: dict[str, Any] = {"properties": _properties(artifact, item.ref)}
    for url in (provenance.stated(artifact, "source"), artifact.uri):
        if url and _URL.fullmatch(url):
            contents["url"] = url
            break
    entry: dict[str, Any] = {
        "type": "dataset",
        "name": artifact.name or item.ref,
        "contents": contents,
    }
    if classification := provenance.tagged(artifact, "classification"):
        entry["classification"] = classification
    if sensitive := provenance.tagged(artifact, "sensitive"):
        entry["sensitiveData"] = [sensitive]
    if description := provenance.tagged(artifact, "description"):
        entry["description"] = description
    if owner := provenance.tagged(artifact, "owner"):
        entry["governance"] = {"owners": [{"contact": {"name": owner}}]}
    return entry
