"""Every real annotation file under ../shared/data/{coco,kitti,voc,yolo} imports, with the
classes, ids, annotation types and counts those files really hold."""

from __future__ import annotations

import pytest

from lineal.labels import coco
from lineal.labels.detect import dataset_schemas, import_path
from lineal.labels.imported import Imported
from shared_data import SHARED_DATA

DATA = SHARED_DATA
COCO = DATA / "coco"
DATUMARO_COCO = COCO / "openvinotoolkit__datumaro/tests/assets/coco_dataset"
PADILLA = "rafaelpadilla__review_object_detection_metrics/data/database/gts"
KITTI = DATA / "kitti/open-mmlab__OpenPCDet/data/kitti"
VOC1 = DATA / "voc/openvinotoolkit__datumaro/tests/assets/voc_dataset/voc_dataset1"
VOC2 = DATA / "voc/openvinotoolkit__datumaro/tests/assets/voc_dataset/voc_dataset2"
YOLO_PADILLA = DATA / "yolo" / PADILLA / "yolo_format"
YOLO_STRICT = DATA / "yolo/openvinotoolkit__datumaro/tests/assets/yolo_dataset/strict"
#: The 20 Pascal VOC classes in the order rafaelpadilla's COCO and YOLO exports number them.
PADILLA_CLASSES = (
    "person", "cat", "boat", "car", "pottedplant", "bicycle", "dog", "bus", "motorbike",
    "tvmonitor", "train", "horse", "aeroplane", "sofa", "chair", "bird", "bottle", "sheep",
    "diningtable", "cow",
)  # fmt: skip

pytestmark = pytest.mark.usefixtures("shared_data")  # every test reads the sample files


def ids(found: Imported) -> list[tuple[int | None, str]]:
    return [(c.id, c.name) for c in found.schema.classes]


def test_every_real_file_imports() -> None:
    ground_truth = [p for p in COCO.rglob("*.json") if "results" not in p.parts]
    files = [
        *ground_truth,
        *(DATA / "voc").rglob("*.xml"),
        *(DATA / "kitti").rglob("label_2/*.txt"),
    ]
    folders = [
        YOLO_PADILLA,
        YOLO_STRICT,
        KITTI,
        VOC1,
        VOC2,
        DATA / "voc" / PADILLA / "pascalvoc_format",
    ]
    assert len(ground_truth) == 9
    assert len(files) == 9 + 7 + 6
    for path in [*files, *folders]:
        found = import_path(path)
        assert found.schema.classes, path
        assert not found.problems, (path, found.problems)
        assert found.stats.annotations > 0, path


# -- COCO --------------------------------------------------------------------------------------
def test_coco_padilla_twenty_voc_classes_with_explicit_ids() -> None:
    found = import_path(COCO / PADILLA / "coco_format_v1/instances_default.json")
    assert found.format == "coco"
    assert found.schema.id_rule == "explicit"
    assert ids(found) == [(i, name) for i, name in enumerate(PADILLA_CLASSES, 1)]
    assert all(c.supercategory is None for c in found.schema.classes)  # "" in the file
    assert found.schema.annotation_types == ("box",)
    assert found.schema.attributes == ("occluded",)
    stats = found.stats.as_dict()
    assert (stats["images"], stats["annotations"]) == (100, 273)
    assert stats["per_class"]["person"] == 91
    assert sum(stats["per_class"].values()) == 273


def test_coco_sparse_ids_from_datumaro() -> None:
    found = import_path(DATUMARO_COCO / "coco_instances/annotations/instances_val.json")
    assert ids(found) == [(1, "a"), (2, "b"), (4, "c")]  # id 3 is absent in the file
    assert found.schema.annotation_types == ("box", "polygon", "rle", "crowd")
    assert found.schema.attributes == ("x", "y")
    stats = found.stats.as_dict()
    assert stats["crowd"] == 1
    assert stats["per_type"] == {"box": 2, "crowd": 1, "polygon": 1, "rle": 1}
    assert stats["image_sizes"] == {"5x10": 1}


def test_coco_keypoints_names_and_skeleton_from_mmpose() -> None:
    found = import_path(COCO / "open-mmlab__mmpose/tests/data/coco/test_coco.json")
    (person,) = found.schema.classes
    assert (person.id, person.name, person.supercategory) == (1, "person", "person")
    assert len(person.keypoints) == 17
    assert person.keypoints[:3] == ("nose", "left_eye", "right_eye")
    assert person.keypoints[-1] == "right_ankle"
    assert len(person.skeleton) == 19
    assert person.skeleton[0] == (16, 14)
    assert found.schema.annotation_types == ("box", "polygon", "keypoints")
    assert found.stats.as_dict()["annotations"] == 14

    crowdpose = import_path(COCO / "open-mmlab__mmpose/tests/data/crowdpose/test_crowdpose.json")
    (person,) = crowdpose.schema.classes
    assert len(person.keypoints) == 14
    assert person.keypoints[-2:] == ("head", "neck")


def test_coco_3d_boxes_from_mmdetection3d_with_id_zero() -> None:
    found = import_path(
        COCO / "open-mmlab__mmdetection3d/tests/data/kitti/kitti_infos_mono3d.coco.json"
    )
    assert ids(found) == [(0, "Pedestrian"), (1, "Cyclist"), (2, "Car")]
    assert found.schema.annotation_types == ("box", "box3d")
    assert found.stats.as_dict()["per_class"] == {"Car": 3, "Cyclist": 1}


def test_coco_mmdetection_sample_keeps_a_literal_supercategory() -> None:
    found = import_path(COCO / "open-mmlab__mmdetection/tests/data/coco_sample.json")
    assert ids(found) == [(1, "bus"), (2, "car")]
    assert {c.supercategory for c in found.schema.classes} == {"none"}


def test_the_same_schema_from_two_files_has_one_digest() -> None:
    train = import_path(DATUMARO_COCO / "coco_instances/annotations/instances_train.json")
    roboflow = import_path(DATUMARO_COCO / "coco_roboflow/train/_annotations.coco.json")
    val = import_path(DATUMARO_COCO / "coco_instances/annotations/instances_val.json")
    assert train.schema.digest == roboflow.schema.digest
    assert val.schema.digest != train.schema.digest  # val shows polygons, RLE and crowd


@pytest.mark.parametrize(
    "name", ["instances_val2014_fakebbox100", "person_keypoints_val2014_fakekeypoints100"]
)
def test_a_coco_results_file_is_refused(name: str) -> None:
    path = COCO / f"cocodataset__cocoapi/results/{name}_results.json"
    with pytest.raises(coco.ResultsFileError) as caught:
        import_path(path, lenient=True)
    assert str(path) in str(caught.value)
    assert "results file" in str(caught.value)
    assert "no categories" in str(caught.value)
    assert caught.value.hint is not None
    assert "ground-truth" in caught.value.hint


# -- YOLO ------------------------------------------------------------------------------------
def test_yolo_darknet_layout_from_padilla() -> None:
    found = import_path(YOLO_PADILLA)
    assert found.format == "yolo"
    assert found.schema.id_rule == "positional"
    assert ids(found) == list(enumerate(PADILLA_CLASSES))
    stats = found.stats.as_dict()
    assert (stats["images"], stats["annotations"]) == (4, 9)
    assert stats["per_class"] == {"aeroplane": 5, "person": 3, "tvmonitor": 1}
    assert stats["box_area"]["unit"] == "image"
    names_only = import_path(YOLO_PADILLA / "obj.names")
    assert names_only.schema.digest == found.schema.digest


def test_yolo_strict_datumaro() -> None:
    found = import_path(YOLO_STRICT / "obj.data")
    assert ids(found) == [(i, f"label_{i}") for i in range(10)]
    assert found.stats.as_dict()["per_class"] == {"label_2": 1, "label_4": 1}


# -- KITTI -----------------------------------------------------------------------------------
def test_kitti_classes_are_the_set_seen() -> None:
    found = import_path(KITTI)
    assert found.format == "kitti"
    assert found.schema.id_rule == "implicit"
    assert found.schema.names == ("Car", "Cyclist", "DontCare", "Misc", "Pedestrian", "Truck")
    assert all(c.id is None for c in found.schema.classes)
    assert found.schema.annotation_types == ("box", "box3d")
    assert found.schema.attributes == ("alpha", "occluded", "truncated")
    stats = found.stats.as_dict()
    assert stats["images"] == 6
    assert stats["per_class"] == {
        "Car": 5, "Cyclist": 1, "DontCare": 15, "Misc": 1, "Pedestrian": 2, "Truck": 1
    }  # fmt: skip
    assert stats["per_type"] == {"box": 25, "box3d": 10}  # DontCare has no 3D box
    one = import_path(KITTI / "training/label_2/000000.txt")
    assert one.schema.names == ("Pedestrian",)


# -- VOC -------------------------------------------------------------------------------------
def test_voc_padilla_folder_of_xml() -> None:
    found = import_path(DATA / "voc" / PADILLA / "pascalvoc_format")
    assert found.schema.id_rule == "implicit"
    assert found.schema.names == ("aeroplane", "person", "tvmonitor")
    assert found.schema.attributes == ("difficult", "pose", "truncated")
    stats = found.stats.as_dict()
    assert stats["per_class"] == {"aeroplane": 5, "person": 3, "tvmonitor": 1}
    assert stats["image_sizes"] == {"486x500": 1, "500x281": 1, "500x366": 1, "500x375": 1}


def test_voc_parts_and_actions_from_datumaro() -> None:
    found = import_path(VOC1)
    assert found.schema.names == ("cat", "person")
    person = found.schema.by_name()["person"]
    assert person.parts == ("head",)
    assert "actions/jumping" in found.schema.attributes
    assert "actions/walking" in found.schema.attributes


def test_voc_labelmap_makes_classes_positional() -> None:
    found = import_path(VOC2)
    assert found.schema.id_rule == "positional"
    assert found.schema.names[:3] == ("background", "aeroplane", "bicycle")
    assert found.schema.names[-1] == "ignored"
    assert len(found.schema.classes) == 22
    assert found.stats.as_dict()["per_class"] == {"aeroplane": 1, "background": 1}


# -- dataset folders ---------------------------------------------------------------------------
def test_dataset_folders_are_detected() -> None:
    (kitti,) = dataset_schemas(KITTI)
    assert kitti.format == "kitti"
    (yolo,) = dataset_schemas(YOLO_PADILLA)
    assert yolo.format == "yolo"
    (voc,) = dataset_schemas(VOC1)
    assert voc.format == "voc"
    (instances,) = dataset_schemas(DATUMARO_COCO / "coco_instances")
    # train and val declare the same categories: one schema, the union of their types
    assert instances.format == "coco"
    assert len(instances.files) == 2
    assert instances.schema.annotation_types == ("box", "polygon", "rle", "crowd")
    assert instances.stats.as_dict()["annotations"] == 3
    (roboflow,) = dataset_schemas(DATUMARO_COCO / "coco_roboflow")
    assert roboflow.files[0].name == "_annotations.coco.json"
    assert dataset_schemas(COCO / "cocodataset__cocoapi") == []  # results only: no schema
