"""`lineal export cyclonedx`: a model version's CycloneDX 1.6 ML-BOM: the model with its model
card, the dataset versions upstream as ``data`` components, the run's packages as libraries.

cyclonedx-python-lib builds the BOM; the parts it cannot build yet (``modelCard``, a
component's ``data``) are written as JSON (see lineal.interop.cyclonedx_card). Every document is
validated against the library's 1.6 schema before it is returned. Never writes, never prints.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import lineal
from lineal.client import Lineal
from lineal.errors import InvalidInput, LinealError
from lineal.interop.cyclonedx_card import data_entry, model_card
from lineal.interop.extras import require
from lineal.model.entities import Artifact
from lineal.registry.provenance import Input, ModelProvenance, model_provenance

FLAVORS: tuple[str, ...] = ("json",)
#: Properties lineal adds to components, in CycloneDX's property-name taxonomy style.
PROPERTY = "lineal:"
#: What a component's dependencies are drawn from: the nearest of these upstream.
_UPSTREAM = frozenset({"dataset", "model"})


class _Lib:
    """The cyclonedx-python-lib names one export uses, imported once, lazily."""

    def __init__(self) -> None:
        require("cyclonedx", "interop")
        from cyclonedx.contrib.license.factories import LicenseFactory
        from cyclonedx.model import HashAlgorithm, HashType, Property
        from cyclonedx.model.bom import Bom
        from cyclonedx.model.component import Component, ComponentType
        from cyclonedx.output.json import JsonV1Dot6
        from packageurl import PackageURL

        self.Bom, self.Component, self.ComponentType = Bom, Component, ComponentType
        self.HashAlgorithm, self.HashType, self.Property = HashAlgorithm, HashType, Property
        self.JsonV1Dot6, self.PackageURL, self.licences = JsonV1Dot6, PackageURL, LicenseFactory()

    def hashes(self, digest: str) -> list[Any]:
        algorithm, _, value = digest.partition(":")
        assert algorithm == "sha256"  # noqa: S101 - lineal digests are sha256
        return [self.HashType(alg=self.HashAlgorithm.SHA_256, content=value)]

    def properties(self, values: Mapping[str, Any]) -> list[Any]:
        return [
            self.Property(name=PROPERTY + key, value=str(value))
            for key, value in values.items()
            if value not in (None, "")
        ]

    def licences_of(self, expression: str | None) -> list[Any]:
        return [] if not expression else [self.licences.make_from_string(expression)]


def _version(artifact: Artifact) -> str | None:
    return f"v{artifact.version}" if artifact.version is not None else None


def _model(lib: _Lib, provenance: ModelProvenance) -> Any:
    model = provenance.model
    files = [
        lib.Component(
            name=entry.path,
            type=lib.ComponentType.FILE,
            bom_ref=f"{provenance.ref}/{entry.path}",
            hashes=lib.hashes(entry.digest),
        )
        for entry in provenance.files
    ]
    return lib.Component(
        name=model.name or provenance.ref,
        version=_version(model),
        type=lib.ComponentType.MACHINE_LEARNING_MODEL,
        bom_ref=provenance.ref,
        hashes=lib.hashes(model.digest),
        licenses=lib.licences_of(provenance.stated(model, "license")),
        description=provenance.tagged(model, "description"),
        properties=lib.properties(
            {
                "reference": provenance.ref,
                "digest": model.digest,
                "run": provenance.run.ref if provenance.run else None,
                "flavor": model.meta.get("flavor"),
            }
        ),
        components=files,
    )


def _dataset(lib: _Lib, provenance: ModelProvenance, item: Input) -> Any:
    artifact = item.artifact
    return lib.Component(
        name=artifact.name or item.ref,
        version=_version(artifact),
        type=lib.ComponentType.DATA,
        bom_ref=item.ref,
        hashes=lib.hashes(artifact.digest),
        licenses=lib.licences_of(provenance.stated(artifact, "license")),
        description=provenance.tagged(artifact, "description"),
        properties=lib.properties(
            {"reference": item.ref, "digest": artifact.digest, "role": item.role}
        ),
    )


def _base(lib: _Lib, provenance: ModelProvenance, item: Input) -> Any:
    """A model upstream of this one (fine-tuned from, distilled from…)."""
    artifact = item.artifact
    return lib.Component(
        name=artifact.name or item.ref,
        version=_version(artifact),
        type=lib.ComponentType.MACHINE_LEARNING_MODEL,
        bom_ref=item.ref,
        hashes=lib.hashes(artifact.digest),
        licenses=lib.licences_of(provenance.stated(artifact, "license")),
        properties=lib.properties(
            {"reference": item.ref, "digest": artifact.digest, "role": item.role}
        ),
    )


def _packages(environments: Iterable[Artifact]) -> dict[str, str]:
    """Installed distributions of the captured environments: ``name -> version``."""
    found: dict[str, str] = {}
    for env in environments:
        packages = env.meta.get("packages")
        if isinstance(packages, Mapping):
            for name, version in packages.items():
                found.setdefault(str(name), str(version))
    return dict(sorted(found.items()))


def _library(lib: _Lib, name: str, version: str) -> Any:
    purl = lib.PackageURL(type="pypi", name=name, version=version)
    return lib.Component(
        name=name, version=version, type=lib.ComponentType.LIBRARY, purl=purl, bom_ref=str(purl)
    )


def bom(repo: Lineal, ref: str) -> dict[str, Any]:
    """The ML-BOM of the model version ``ref``, as a JSON-shaped dict (not yet validated)."""
    lib = _Lib()
    provenance = model_provenance(repo, ref)
    document = lib.Bom()
    document.metadata.tools.components.add(
        lib.Component(name="lineal", version=lineal.__version__, type=lib.ComponentType.APPLICATION)
    )
    model = _model(lib, provenance)
    document.metadata.component = model
    datasets = {item.artifact.node: _dataset(lib, provenance, item) for item in provenance.datasets}
    bases = {item.artifact.node: _base(lib, provenance, item) for item in provenance.base_models}
    libraries = [_library(lib, n, v) for n, v in _packages(provenance.environments).items()]
    for component in [*datasets.values(), *bases.values(), *libraries]:
        document.components.add(component)
    upstream = {**datasets, **bases}

    def nearest(node: str) -> list[Any]:
        return [upstream[n] for n in provenance.nearest_upstream(node, _UPSTREAM) if n in upstream]

    document.register_dependency(model, [*nearest(provenance.model.node), *libraries])
    for node, component in upstream.items():
        document.register_dependency(component, nearest(node))
    found: dict[str, Any] = json.loads(lib.JsonV1Dot6(document).output_as_string())
    # What the library cannot build yet, written as the 1.6 schema has it.
    found["metadata"]["component"]["modelCard"] = model_card(provenance)
    by_ref = {item.ref: item for item in provenance.datasets}
    for component in found.get("components", []):
        if component.get("type") == "data" and component.get("bom-ref") in by_ref:
            component["data"] = [data_entry(provenance, by_ref[component["bom-ref"]])]
    return found


def problem(text: str) -> str | None:
    """What is wrong with the CycloneDX 1.6 JSON ``text`` by the schema the library ships;
    None when it is valid."""
    require("cyclonedx", "interop")
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    return None if error is None else str(error)


def export(repo: Lineal, ref: str, *, flavor: str) -> bytes:
    """The CycloneDX 1.6 JSON of ``ref``, checked against the 1.6 schema."""
    if flavor not in FLAVORS:
        raise InvalidInput(f"cyclonedx has no variant {flavor!r}", hint=f"use one of {FLAVORS}")
    text = json.dumps(bom(repo, ref), indent=2, ensure_ascii=False) + "\n"
    if (wrong := problem(text)) is not None:
        raise LinealError(
            f"the CycloneDX BOM built for {ref} does not validate: {wrong.splitlines()[0]}",
            hint="this is a bug in lineal: report it with the model reference",
        )
    return text.encode()
