"""`lineal export cyclonedx`: a CycloneDX 1.6 ML-BOM of a model a recorded run made, valid by
the schema cyclonedx-python-lib ships: model card, datasets as data components, packages."""

from __future__ import annotations

import copy
import json
from importlib import metadata
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from intoto_cyclonedx_support import Made, lineal_cli, made_once, show

from lineal.client import Lineal
from lineal.errors import LinealError
from lineal.interop import cyclonedx


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    return made_once(tmp_path_factory)


@pytest.fixture(scope="module")
def bom(made: Made) -> dict[str, Any]:
    with Lineal.open(path=made.root, write=False) as repo:
        document: dict[str, Any] = json.loads(cyclonedx.export(repo, "model/clf", flavor="json"))
    return document


def errors(document: dict[str, Any]) -> object:
    return JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(document))


def components(bom: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {c["bom-ref"]: c for c in bom["components"] if c["type"] == kind}


def test_the_bom_is_valid_cyclonedx_1_6(bom: dict[str, Any]) -> None:
    assert (bom["bomFormat"], bom["specVersion"]) == ("CycloneDX", "1.6")
    assert errors(bom) is None


def test_the_cli_writes_the_same_bom(made: Made, bom: dict[str, Any]) -> None:
    out = made.root / "clf.cdx.json"
    lineal_cli(made.root, "export", "cyclonedx", "model/clf@v1", "-o", str(out))
    written = json.loads(out.read_text())
    assert errors(written) is None
    for document in (written, bom):  # a new BOM each time: its own serial number and time
        del document["serialNumber"], document["metadata"]["timestamp"]
    assert written == bom


def test_the_model_is_the_bom_subject(made: Made, bom: dict[str, Any]) -> None:
    model = bom["metadata"]["component"]
    assert model["type"] == "machine-learning-model"
    assert (model["bom-ref"], model["name"], model["version"]) == ("model/clf@v1", "clf", "v1")
    assert model["hashes"] == [{"alg": "SHA-256", "content": made.model["digest"][7:]}]
    files = {f["name"]: f["hashes"][0]["content"] for f in model["components"]}
    assert files == made.files
    card = model["modelCard"]
    assert card["modelParameters"]["approach"] == {"type": "supervised"}
    assert card["modelParameters"]["task"] == "classification"


def test_its_datasets_are_data_components_with_licence_and_hash(
    made: Made, bom: dict[str, Any]
) -> None:
    data = components(bom, "data")
    assert set(data) == {"dataset/raw@v1", "dataset/clean@v1", "dataset/holdout@v1"}
    for ref, component in data.items():
        shown = show(made, ref)
        assert component["hashes"] == [{"alg": "SHA-256", "content": shown["digest"][7:]}]
        (entry,) = component["data"]
        assert entry["type"] == "dataset"
    raw = data["dataset/raw@v1"]
    assert raw["licenses"] == [{"license": {"id": "CC-BY-4.0"}}]
    assert raw["data"][0]["classification"] == "public"
    assert raw["data"][0]["contents"]["url"] == "https://example.org/raw"
    card = bom["metadata"]["component"]["modelCard"]
    assert {d["ref"] for d in card["modelParameters"]["datasets"]} == set(data)


def test_metrics_of_training_and_evaluation_with_their_slices(bom: dict[str, Any]) -> None:
    metrics = bom["metadata"]["component"]["modelCard"]["quantitativeAnalysis"]
    found = {(m["type"], m["value"], m.get("slice")) for m in metrics["performanceMetrics"]}
    assert found == {
        ("accuracy", "0.875", "dataset/holdout@v1"),  # the training run's eval data
        ("loss", "0.5", "dataset/holdout@v1"),
        ("f1", "0.8", "dataset/holdout@v1"),  # the evaluation run's test data
    }


def test_the_captured_packages_are_libraries_with_purls(bom: dict[str, Any]) -> None:
    libraries = components(bom, "library")
    version = metadata.version("cyclonedx-python-lib")
    ours = libraries[f"pkg:pypi/cyclonedx-python-lib@{version}"]
    assert (ours["name"], ours["version"]) == ("cyclonedx-python-lib", version)
    assert ours["purl"] == ours["bom-ref"]
    assert len(libraries) > 20


def test_dependencies_run_model_to_data_and_libraries(bom: dict[str, Any]) -> None:
    depends = {d["ref"]: set(d.get("dependsOn", [])) for d in bom["dependencies"]}
    model = depends["model/clf@v1"]
    assert {"dataset/clean@v1", "dataset/holdout@v1"} <= model
    assert "dataset/raw@v1" not in model  # reached through the clean data it was made from
    assert depends["dataset/clean@v1"] == {"dataset/raw@v1"}
    assert set(components(bom, "library")) <= model


def test_the_validator_refuses_an_unknown_approach(bom: dict[str, Any]) -> None:
    """The check can fail: a learning approach CycloneDX does not name is invalid."""
    wrong = copy.deepcopy(bom)
    wrong["metadata"]["component"]["modelCard"]["modelParameters"]["approach"]["type"] = "guessing"
    assert errors(wrong) is not None
    assert cyclonedx.problem(json.dumps(wrong)) is not None
    assert cyclonedx.problem(json.dumps(bom)) is None


def test_model_tags_fill_the_card_and_an_unknown_approach_is_left_out(made: Made) -> None:
    with Lineal.open(path=made.root) as repo:
        try:
            repo.set_tag("model/clf@v1", "approach", "Semi_Supervised")
            repo.set_tag("model/clf@v1", "limitations", "daylight images only")
            card = cyclonedx.bom(repo, "model/clf@v1")["metadata"]["component"]["modelCard"]
            assert card["modelParameters"]["approach"] == {"type": "semi-supervised"}
            assert card["considerations"] == {"technicalLimitations": ["daylight images only"]}
            repo.set_tag("model/clf@v1", "approach", "by hand")
            document = json.loads(cyclonedx.export(repo, "model/clf@v1", flavor="json"))
            card = document["metadata"]["component"]["modelCard"]
            assert "approach" not in card["modelParameters"]
        finally:
            repo.set_tag("model/clf@v1", "approach", None)
            repo.set_tag("model/clf@v1", "limitations", None)


def test_a_model_no_run_made_still_has_a_bom(made: Made) -> None:
    with Lineal.open(path=made.root, write=False) as repo:
        document = json.loads(cyclonedx.export(repo, "model/base", flavor="json"))
    assert errors(document) is None
    model = document["metadata"]["component"]
    assert model["bom-ref"] == "model/base@v1"
    assert model["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    assert "components" not in document


def test_the_base_model_is_a_component_the_model_depends_on(bom: dict[str, Any]) -> None:
    (base,) = components(bom, "machine-learning-model").values()
    assert (base["bom-ref"], base["version"]) == ("model/base@v1", "v1")
    assert base["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    depends = {d["ref"]: set(d.get("dependsOn", [])) for d in bom["dependencies"]}
    assert "model/base@v1" in depends["model/clf@v1"]


def test_a_reference_that_is_not_a_model_is_refused(made: Made) -> None:
    done = lineal_cli(made.root, "export", "cyclonedx", "dataset/raw", check=False)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    with Lineal.open(path=made.root, write=False) as repo, pytest.raises(LinealError):
        cyclonedx.export(repo, "dataset/raw", flavor="json")


def test_a_model_registered_under_another_name_has_the_same_upstream(
    made: Made, bom: dict[str, Any]
) -> None:
    with Lineal.open(path=made.root, write=False) as repo:
        prod = json.loads(cyclonedx.export(repo, "model/prod", flavor="json"))
    assert errors(prod) is None
    assert prod["metadata"]["component"]["bom-ref"] == "model/prod@v1"
    assert prod["metadata"]["component"]["hashes"] == bom["metadata"]["component"]["hashes"]
    # Its own bytes, logged as model/clf first, are not a model it depends on.
    assert set(components(prod, "machine-learning-model")) == {"model/base@v1"}
    assert set(components(prod, "data")) == set(components(bom, "data"))
    depends = {d["ref"]: set(d.get("dependsOn", [])) for d in prod["dependencies"]}
    assert {"dataset/clean@v1", "dataset/holdout@v1", "model/base@v1"} <= depends["model/prod@v1"]
