"""`lineal export croissant`: a real labelled dataset (COCO and KITTI files from the shared
sample data, added with `lineal add`) as a Croissant 1.1 card that mlcroissant loads without
an error, whose files, classes, RAI fields and provenance say what lineal recorded."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlcroissant as mlc
import pytest
from prov.model import ProvActivity, ProvDocument, ProvEntity

from lineal.client import Lineal
from lineal.datasets import add
from lineal.errors import IntegrityError
from lineal.interop import croissant
from lineal.interop import prov as prov_export
from lineal.model.entities import Artifact
from shared_data import SHARED_DATA

if TYPE_CHECKING:
    from conftest import Cli

# mlcroissant 1.1 and prov 3.2 call rdflib 7 APIs that rdflib calls deprecated.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

COCO = SHARED_DATA / "coco/openvinotoolkit__datumaro/tests/assets/coco_dataset/coco_instances"
KITTI = SHARED_DATA / "kitti/open-mmlab__OpenPCDet/data/kitti"
#: mlcroissant 1.1.1's spellings of two RAI properties, which the RAI specification spells
#: dataManipulationProtocol and dataCollectionTimeframe.
NOT_THE_SPEC = ("rai:dataDataManipulationProtocol", "rai:dataCollectionTimeFrame")


def _ok(done: Any) -> str:
    assert done.returncode == 0, done.stderr
    return str(done.stdout)


def _load(card: dict[str, Any], *, licensed: bool = False) -> Any:
    """mlcroissant's Dataset of ``card``: no error, and no warning but the licence's absence
    when no licence was stated."""
    dataset = mlc.Dataset(jsonld=card)
    assert dataset.metadata.issues.errors == set()
    absent = (
        f'[Metadata({card["name"]})] Property "https://schema.org/license" is recommended, '
        "but does not exist."
    )
    assert dataset.metadata.issues.warnings == (set() if licensed else {absent})
    return dataset


def _export(repo: Lineal, ref: str) -> dict[str, Any]:
    return dict(json.loads(croissant.export(repo, ref, flavor="jsonld")))


def _add(repo: Lineal, ws: Path, folder: Path, name: str, **stated: Any) -> Artifact:
    shutil.copytree(folder, ws / name)
    return add(repo, [ws / name], **stated).artifact


def _text(value: object) -> object:
    return value.decode() if isinstance(value, bytes) else value


@pytest.mark.usefixtures("shared_data")
def test_a_labelled_coco_dataset_becomes_a_valid_card(
    lineal_cli: Cli, ws: Path, repo: Lineal
) -> None:
    dataset = _add(
        repo, ws, COCO, "coco", license="CC-BY-4.0", source="https://example.org/coco",
        description="Two COCO images.",
    )  # fmt: skip
    target = ws / "coco.croissant.json"
    done = lineal_cli("export", "croissant", "dataset/coco@v1", "-o", str(target), cwd=ws)
    assert "Wrote croissant (jsonld) of dataset/coco@v1" in _ok(done)
    loaded = mlc.Dataset(jsonld=str(target))  # from the file, as a consumer reads it
    card = json.loads(target.read_text())
    _load(card, licensed=True)
    assert card["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    assert (card["name"], card["version"], card["license"]) == ("coco", "1.0.0", "CC-BY-4.0")
    assert card["description"] == "Two COCO images."
    assert card["creator"] == {"@type": "sc:Person", "name": "tester"}
    (record,) = [r for r in repo.log() if r["seq"] == dataset.seq]
    assert card["datePublished"] == record["time"]
    assert card["identifier"] == dataset.digest
    # one FileObject per file, with the bytes' real digest and size
    root = ws / "coco"
    files = {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}
    objects = {one["contentUrl"]: one for one in card["distribution"]}
    assert set(objects) == set(files)
    assert len(files) == 2
    for path, one in objects.items():
        data = files[path].read_bytes()
        assert one["@type"] == "cr:FileObject"
        assert one["sha256"] == hashlib.sha256(data).hexdigest()
        assert one["contentSize"] == f"{len(data)} B"
        assert one["encodingFormat"] == "application/json"
    # the label schema's classes, read back through mlcroissant
    schema = repo.resolve("schema/coco")
    assert isinstance(schema, Artifact)
    classes = [(c["id"], c["name"]) for c in schema.meta["schema"]["classes"]]
    rows = [(r["classes/id"], _text(r["classes/name"])) for r in loaded.records("classes")]
    assert rows == classes
    (field,) = [f for f in card["recordSet"][0]["field"] if f["name"] == "name"]
    assert "cr:Label" in field["dataType"]
    # RAI: the spec's spellings, stating what lineal recorded
    rai = {key: value for key, value in card.items() if key.startswith("rai:")}
    assert not set(rai) & set(NOT_THE_SPEC)
    assert "COCO format" in rai["rai:dataAnnotationProtocol"]
    assert "per class: a 1, b 2" in rai["rai:dataAnnotationAnalysis"]
    assert rai["rai:annotationsPerItem"].startswith("1.50 annotations per image")
    assert rai["rai:dataCollectionRawData"] == "https://example.org/coco"
    assert "https://example.org/coco" in rai["rai:dataCollection"]
    assert "prov:wasGeneratedBy" not in card


@pytest.mark.usefixtures("shared_data")
def test_a_generated_dataset_names_its_run_and_sources_as_the_prov_export_does(
    ws: Path, repo: Lineal
) -> None:
    coco = _add(repo, ws, COCO, "coco")
    run = repo.start_run("convert", params={"scale": 2})
    repo.link("used", coco, run, role="src")
    (ws / "out").mkdir()
    (ws / "out/part-0.csv").write_text("converted\n")
    out = add(repo, [ws / "out"]).artifact
    repo.link("generated", run, out, role="output")
    repo.finish_run(run)
    card = _export(repo, "dataset/out")
    _load(card)
    (made_by,) = card["prov:wasGeneratedBy"]
    (source,) = card["prov:wasDerivedFrom"]
    assert made_by["name"] == "convert"
    assert made_by["@type"] == "prov:Activity"
    assert source["name"] == "dataset/coco@v1"
    assert "scale" in card["rai:dataPreprocessingProtocol"]
    assert card["distribution"][0]["encodingFormat"] == "text/csv"
    # the same identifiers as `lineal export prov`
    prov = ProvDocument.deserialize(content=prov_export.export(repo, "dataset/out", flavor="json"))
    entities = {str(r.identifier.uri) for r in prov.get_records(ProvEntity)}
    assert {card["@id"], source["@id"]} <= entities
    assert made_by["@id"] in {str(r.identifier.uri) for r in prov.get_records(ProvActivity)}


@pytest.mark.usefixtures("shared_data")
def test_kitti_classes_without_ids_and_a_derived_version(ws: Path, repo: Lineal) -> None:
    _add(repo, ws, KITTI, "kitti")
    label = ws / "kitti/training/label_2/000001.txt"
    label.write_text(label.read_text().replace("Truck", "Van"))
    add(repo, [ws / "kitti"])
    repo.link("derived_from", "dataset/kitti@v1", "dataset/kitti@v2")
    card = _export(repo, "dataset/kitti")
    names = [_text(r["classes/name"]) for r in _load(card).records("classes")]
    assert card["version"] == "2.0.0"
    assert names == sorted(names)
    assert "Van" in names
    assert "Truck" not in names
    assert [r["classes/id"] for r in card["recordSet"][0]["data"]] == list(range(len(names)))
    assert card["rai:dataManipulationProtocol"] == (
        "Derived from dataset/kitti@v1: 0 files added, 0 removed, 1 modified (-2 bytes)."
    )
    assert card["prov:wasDerivedFrom"][0]["name"] == "dataset/kitti@v1"
    assert "version 2 of 2" in card["rai:dataReleaseMaintenancePlan"]


def test_a_version_whose_manifest_is_not_here_is_refused_in_one_line(
    lineal_cli: Cli, ws: Path, repo: Lineal
) -> None:
    repo.record_artifact("dataset", data=b"files kept elsewhere", name="ghost")
    done = lineal_cli("export", "croissant", "dataset/ghost", cwd=ws)
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: the manifest of dataset/ghost@v1 is not in the local cache",
        "hint: run `lineal pull dataset/ghost@v1` to fetch it from a remote",
    ]


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("schema/labels", "schema/labels is not a dataset version"),
        ("dataset/none", "no dataset named 'none'"),
    ],
)
def test_what_is_not_a_dataset_version_is_refused(
    lineal_cli: Cli, ws: Path, repo: Lineal, ref: str, message: str
) -> None:
    repo.record_artifact("schema", data=b"{}", name="labels")
    done = lineal_cli("export", "croissant", ref, cwd=ws)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert message in done.stderr


@pytest.mark.usefixtures("shared_data")
def test_a_card_mlcroissant_rejects_is_never_returned(
    ws: Path, repo: Lineal, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add(repo, ws, COCO, "coco")
    card = croissant.card(repo, "dataset/coco")
    croissant.validate(card)
    broken = {**card, "distribution": [dict(card["distribution"][0]), card["distribution"][1]]}
    del broken["distribution"][0]["contentUrl"]
    with pytest.raises(IntegrityError, match="the Croissant card does not validate"):
        croissant.validate(broken)
    # past VALIDATED_FILES, the first files are the ones loaded
    monkeypatch.setattr(croissant, "VALIDATED_FILES", 1)
    with pytest.raises(IntegrityError, match="contentUrl"):
        croissant.validate(broken)


@pytest.mark.usefixtures("shared_data")
def test_a_version_kept_in_place_points_at_its_files_there(ws: Path, repo: Lineal) -> None:
    shutil.copytree(COCO, ws / "coco")
    dataset = add(repo, [ws / "coco"], ref_only=True).artifact
    card = _export(repo, dataset.ref)
    _load(card)
    base = (ws / "coco").resolve().as_uri()
    assert card["url"] == base
    urls = sorted(one["contentUrl"] for one in card["distribution"])
    assert urls == [
        f"{base}/annotations/instances_train.json",
        f"{base}/annotations/instances_val.json",
    ]
    assert card["rai:dataCollection"].startswith(f"Referenced in place at {base}: 2 files")
