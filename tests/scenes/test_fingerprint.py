"""Scene fingerprints on the real USD files under ../shared/data/usd (read in place, copied
only into temporary folders when a test edits them)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("pxr")

from lineal.errors import InvalidInput
from lineal.scenes.record import inspect
from shared_data import SHARED_DATA

USD = SHARED_DATA / "usd"
WG = USD / "usd-wg__assets"
PIXAR = USD / "PixarAnimationStudios__OpenUSD/extras/usd"
SUBLAYERED = WG / "test_assets/RelationshipEncapsulationTests/SublayeredInternalReferenceTest.usda"
PYRAMID = WG / "full_assets/SubdivisionSurfaces/Pyramid/Pyramid.usd"
CAR_KIT = WG / "full_assets/Vehicles/USD_Mini_Car_Kit"
SHOT = PIXAR / "tutorials/endToEnd/assets/shot.usd"


@pytest.mark.usefixtures("shared_data")
def test_sublayers_are_listed_hashed_and_summarised() -> None:
    found, summary = inspect(SUBLAYERED)
    assert found.root == "SublayeredInternalReferenceTest.usda"
    assert [e.path for e in found.layers()] == [
        "SublayeredInternalReferenceTest.usda",
        "SublayeredInternalReferenceTest/hardware.modeling.usda",
        "SublayeredInternalReferenceTest/hardware.shading.usda",
        "utils/Environment.usda",
    ]
    assert found.missing == ()
    assert [(a.kind, a.target) for a in found.arcs if a.source == found.root] == [
        ("sublayer", "utils/Environment.usda"),
        ("sublayer", "SublayeredInternalReferenceTest/hardware.shading.usda"),
        ("sublayer", "SublayeredInternalReferenceTest/hardware.modeling.usda"),
    ]
    assert summary["up_axis"] == "Z"
    assert summary["meters_per_unit"] == 0.01
    assert summary["default_prim"] == "/World"
    # Environment.usda defines three sphere lights of intensity 30, 1 and 10.
    lights = {light["path"]: light for light in summary["lights"]}
    assert set(lights) == {
        "/Environment/Lights/SphereLight",
        "/Environment/Lights/SphereLight_01",
        "/Environment/Lights/SphereLight_02",
    }
    assert lights["/Environment/Lights/SphereLight"]["type"] == "SphereLight"
    assert lights["/Environment/Lights/SphereLight"]["intensity"] == 30.0
    assert lights["/Environment/Lights/SphereLight_01"]["intensity"] == 1.0
    assert "/Environment/Looks/Floor" in summary["materials"]
    assert "/Environment/Plane" in summary["meshes"]


@pytest.mark.usefixtures("shared_data")
def test_fingerprints_are_deterministic_and_each_file_counts() -> None:
    first, _ = inspect(SUBLAYERED)
    again, _ = inspect(SUBLAYERED)
    assert first.digest == again.digest
    assert first.digest.startswith("sha256:")
    assert len({e.digest for e in first.entries}) == 4


@pytest.mark.usefixtures("shared_data")
def test_references_cameras_and_a_binary_free_shot() -> None:
    found, summary = inspect(SHOT)
    assert [e.path for e in found.layers()] == ["main_cam.usd", "shot.usd"]
    assert [(a.kind, a.source, a.target) for a in found.arcs] == [
        ("reference", "shot.usd", "main_cam.usd")
    ]
    assert [c["path"] for c in summary["cameras"]] == ["/World/main_cam"]
    assert summary["cameras"][0]["projection"] == "perspective"
    assert summary["cameras"][0]["clipping_range"] == [10.0, 500000.0]
    assert summary["up_axis"] == "Y"


@pytest.mark.usefixtures("shared_data")
def test_variants_payloads_and_missing_textures_are_reported_not_fatal() -> None:
    found, summary = inspect(CAR_KIT / "assets/vehicles/vehicleVariants.usda")
    paths = {e.path for e in found.layers()}
    # Every vehicle a variant references, with its geometry and the shared materials.
    assert "assets/vehicles/van/asset/vanFullAsset.usda" in paths
    assert "assets/vehicles/van/geo/vanGeo.usd" in paths
    assert "materials/red.usda" in paths
    # The variant sets reach every one of the kit's 44 layers.
    on_disk = {p.relative_to(CAR_KIT).as_posix() for p in CAR_KIT.rglob("*.usd*")}
    assert paths == on_disk
    assert len(paths) == 44
    kinds = {a.kind for a in found.arcs if a.source == "assets/vehicles/vehicleVariants.usda"}
    assert kinds == {"variant reference"}
    # The kit's textures are not in the sample: each is listed as missing.
    assert "textures/global-colors/red.jpg" in found.missing
    assert len(found.missing) == 9
    missing_arcs = [a for a in found.arcs if a.missing]
    assert ("asset", "materials/red.usda") in {(a.kind, a.source) for a in missing_arcs}
    assert summary["prims"] > 0

    pyramid, _ = inspect(PYRAMID)
    assert pyramid.missing == ("thumbnail.png",)
    assert [e.path for e in pyramid.layers()] == [
        "Pyramid.usd",
        "geo.usda",
        "mtl.usda",
        "payload.usda",
    ]
    assert ("payload", "Pyramid.usd", "payload.usda") in {
        (a.kind, a.source, a.target) for a in pyramid.arcs
    }


@pytest.mark.usefixtures("shared_data")
def test_a_copied_folder_keeps_its_digest_and_edits_change_it(tmp_path: Path) -> None:
    original, _ = inspect(SUBLAYERED)
    copy = tmp_path / "elsewhere" / "tests"
    shutil.copytree(SUBLAYERED.parent, copy)
    moved, _ = inspect(copy / SUBLAYERED.name)
    assert moved.digest == original.digest
    assert moved.base == copy.resolve()
    environment = copy / "utils/Environment.usda"
    environment.write_text(environment.read_text().replace("intensity = 30", "intensity = 31"))
    edited, _ = inspect(copy / SUBLAYERED.name)
    assert edited.digest != original.digest
    changed = {e.path for e in edited.entries} & {e.path for e in original.entries}
    assert [
        path
        for path in sorted(changed)
        if next(e for e in edited.entries if e.path == path).digest
        != next(e for e in original.entries if e.path == path).digest
    ] == ["utils/Environment.usda"]


@pytest.mark.usefixtures("shared_data")
def test_a_texture_is_an_asset_and_editing_it_changes_the_digest(tmp_path: Path) -> None:
    kit = tmp_path / "kit"
    shutil.copytree(CAR_KIT, kit)
    red = kit / "textures/global-colors/red.jpg"
    red.parent.mkdir(parents=True)
    red.write_bytes(b"\xff\xd8\xff\xe0 red")
    found, _ = inspect(kit / "materials/red.usda")
    assert [e.path for e in found.assets()] == ["textures/global-colors/red.jpg"]
    assert found.missing == ()
    red.write_bytes(b"\xff\xd8\xff\xe0 darker red")
    again, _ = inspect(kit / "materials/red.usda")
    assert again.digest != found.digest
    assert [e.digest for e in again.layers()] == [e.digest for e in found.layers()]


@pytest.mark.usefixtures("shared_data")
def test_a_missing_referenced_layer_is_listed(tmp_path: Path) -> None:
    copy = tmp_path / "tests"
    shutil.copytree(SUBLAYERED.parent, copy)
    (copy / "utils/Environment.usda").unlink()
    found, summary = inspect(copy / SUBLAYERED.name)
    assert found.missing == ("utils/Environment.usda",)
    assert ("sublayer", "utils/Environment.usda", True) in {
        (a.kind, a.target, a.missing) for a in found.arcs
    }
    assert summary["lights"] == []


@pytest.mark.usefixtures("shared_data")
def test_bad_input_is_one_clear_error(tmp_path: Path) -> None:
    not_usd = tmp_path / "scene.usda"
    not_usd.write_text("this is not a layer\n")
    with pytest.raises(InvalidInput, match=r"cannot read .*scene\.usda as a USD layer"):
        inspect(not_usd)
    text = tmp_path / "notes.txt"
    text.write_text("x")
    with pytest.raises(InvalidInput, match="not a USD file"):
        inspect(text)
    with pytest.raises(InvalidInput, match="no such scene file"):
        inspect(tmp_path / "absent.usd")
    copy = tmp_path / "tests"
    shutil.copytree(SUBLAYERED.parent, copy)
    (copy / "utils/Environment.usda").write_text("#usda 1.0\n(\n  broken")
    with pytest.raises(InvalidInput, match=r"Environment\.usda"):
        inspect(copy / SUBLAYERED.name)


@pytest.mark.usefixtures("shared_data")
def test_a_usdz_package_is_hashed_as_one_file(tmp_path: Path) -> None:
    from pxr import UsdUtils

    package = tmp_path / "shot.usdz"
    assert UsdUtils.CreateNewUsdzPackage(str(SHOT), str(package))
    found, summary = inspect(package)
    assert [e.path for e in found.entries] == ["shot.usdz"]
    assert [c["path"] for c in summary["cameras"]] == ["/World/main_cam"]
    moved = tmp_path / "other" / "shot.usdz"
    moved.parent.mkdir()
    shutil.copy(package, moved)
    assert inspect(moved)[0].digest == found.digest


LABELLED = """#usda 1.0
(
    defaultPrim = "World"
)

def Xform "World"
{
    def Cube "Walker"
    {
        custom string semantic:class = "%s"
    }
    def Cube "Car"
    {
        custom string semantic:Semantics:params:semanticType = "class"
        custom string semantic:Semantics:params:semanticData = "car"
    }
    def Cube "Rock"
    {
    }
}
"""


def test_semantic_labels_are_summarised_and_a_renamed_class_is_named_by_diff(
    tmp_path: Path,
) -> None:
    from lineal.scenes.diff import diff, lines

    scene = tmp_path / "street.usda"
    scene.write_text(LABELLED % "pedestrian")
    before, summary = inspect(scene)
    assert summary["labels"] == {
        "/World/Car": {
            "semantic:Semantics:params:semanticData": "car",
            "semantic:Semantics:params:semanticType": "class",
        },
        "/World/Walker": {"semantic:class": "pedestrian"},
    }
    assert summary["counts"]["labelled"] == 2
    scene.write_text(LABELLED % "person")
    after, renamed = inspect(scene)
    assert after.digest != before.digest
    result = diff({"summary": summary}, {"summary": renamed})
    assert result["labels"]["changed"] == [
        {
            "path": "/World/Walker",
            "changes": {"semantic:class": {"before": "pedestrian", "after": "person"}},
        }
    ]
    assert "label /World/Walker: semantic:class pedestrian -> person" in lines(result)
