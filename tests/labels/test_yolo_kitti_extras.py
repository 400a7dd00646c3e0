"""What KITTI and YOLO labels leave to other files: image sizes, read from the image files
beside the labels in each format's own layout; and YOLO pose sets, whose keypoint layout is
in data.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lineal.labels import kitti, yolo
from lineal.labels.images import ImageSizes, candidates
from lineal.labels.schema import LabelFileError
from shared_data import SHARED_DATA

Image = pytest.importorskip("PIL.Image")

DATA = SHARED_DATA
KITTI_LABELS = DATA / "kitti/open-mmlab__OpenPCDet/data/kitti/training/label_2"
YOLO_STRICT = DATA / "yolo/openvinotoolkit__datumaro/tests/assets/yolo_dataset/strict"


def _image(path: Path, size: tuple[int, int], kind: str = "PNG") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size).save(path, kind)


@pytest.mark.usefixtures("shared_data")
def test_kitti_sizes_come_from_image_2(tmp_path: Path) -> None:
    labels = tmp_path / "training" / "label_2"
    shutil.copytree(KITTI_LABELS, labels)
    stems = sorted(p.stem for p in labels.glob("*.txt"))
    for stem in stems[:4]:
        _image(tmp_path / "training" / "image_2" / f"{stem}.png", (1242, 375))
    _image(tmp_path / "training" / "image_2" / f"{stems[4]}.png", (1224, 370))
    found = kitti.read(tmp_path / "training")
    stats = found.stats.as_dict()
    assert stats["images"] == len(stems) == 6
    assert stats["image_sizes"] == {"1242x375": 4, "1224x370": 1}  # one image is missing


@pytest.mark.usefixtures("shared_data")
def test_yolo_sizes_beside_darknet_labels_and_under_images(tmp_path: Path) -> None:
    darknet = tmp_path / "darknet"
    shutil.copytree(YOLO_STRICT, darknet)
    for label in (darknet / "obj_train_data").glob("*.txt"):
        _image(label.with_suffix(".jpg"), (10, 8), "JPEG")
    assert yolo.read(darknet).stats.as_dict()["image_sizes"] == {"10x8": 1}

    ultra = tmp_path / "ultra"
    (ultra / "labels" / "train").mkdir(parents=True)
    (ultra / "data.yaml").write_text("names: [car, person]\n")
    (ultra / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (ultra / "labels" / "train" / "b.txt").write_text("1 0.5 0.5 0.1 0.3\n")
    _image(ultra / "images" / "train" / "a.png", (640, 480))
    (ultra / "images" / "train" / "b.png").write_text("not an image")
    stats = yolo.read(ultra).stats.as_dict()
    assert stats["images"] == 2
    assert stats["image_sizes"] == {"640x480": 1}  # b's "image" is unreadable: not counted


def test_where_images_are_looked_for(tmp_path: Path) -> None:
    label = tmp_path / "set" / "labels" / "val" / "x.txt"
    assert candidates(label, {"labels": "images"}) == [
        tmp_path / "set" / "images" / "val",
        tmp_path / "set" / "labels" / "val",
    ]
    sizes = ImageSizes({"labels": "images"})
    assert sizes.size(label) is None  # no image anywhere
    _image(tmp_path / "set" / "labels" / "val" / "x.jpg", (3, 2), "JPEG")
    _image(tmp_path / "set" / "labels" / "val" / "x.png", (5, 4))
    assert ImageSizes({"labels": "images"}).size(label) == (5, 4)  # .png before .jpg


def _pose_set(root: Path, shape: str, lines: str) -> Path:
    (root / "labels" / "train").mkdir(parents=True)
    (root / "data.yaml").write_text(
        f"names: {{0: person}}\nkpt_shape: {shape}\nkpt_names: {{0: [nose, left_eye, right_eye]}}\n"
    )
    (root / "labels" / "train" / "a.txt").write_text(lines)
    return root


def test_yolo_pose_sets_import_keypoints_and_export_them_back(tmp_path: Path) -> None:
    from lineal.labels.export import export

    line = "0 0.5 0.5 0.2 0.4 0.5 0.3 2 0.45 0.28 2 0.55 0.28 1\n"
    found = yolo.read(_pose_set(tmp_path / "ok", "[3, 3]", line * 2))
    assert [(c.name, c.keypoints) for c in found.schema.classes] == [
        ("person", ("nose", "left_eye", "right_eye"))
    ]
    assert found.schema.annotation_types == ("box", "keypoints")
    assert found.stats.as_dict()["per_type"] == {"box": 2, "keypoints": 2}
    text = export(found.schema, "yolo")
    assert "kpt_shape:\n- 3\n- 3\n" in text
    assert "nose" in text

    bad = _pose_set(tmp_path / "bad", "[3, 3]", "0 0.5 0.5 0.2 0.4 0.5 0.3\n")
    with pytest.raises(LabelFileError, match=r"a.txt:1: expected .* 3 keypoints of 3 numbers"):
        yolo.read(bad)
    with pytest.raises(LabelFileError, match="kpt_shape must be"):
        yolo.read(_pose_set(tmp_path / "shape", "[3, 4]", line))
