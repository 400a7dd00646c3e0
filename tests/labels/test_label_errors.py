"""Bad label input: one clear error naming file and line (or JSON path); --lenient lists the
problems and imports the rest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lineal.labels.detect import import_path
from lineal.labels.schema import LabelFileError

CATEGORIES = [{"id": 1, "name": "car"}, {"id": 3, "name": "truck"}]


def coco_file(tmp_path: Path, **body: object) -> Path:
    path = tmp_path / "instances.json"
    content = {"images": [{"id": 1, "width": 640, "height": 480}], "categories": CATEGORIES}
    content.update(body)
    path.write_text(json.dumps(content, indent=1))
    return path


def error_of(path: Path, **options: str) -> LabelFileError:
    with pytest.raises(LabelFileError) as caught:
        import_path(path, **options)  # type: ignore[arg-type]
    return caught.value


def test_malformed_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "categories": [\n    {"id": 1, "name": "car"},\n  ]\n}\n')
    error = error_of(path)
    assert str(error).startswith(f"{path}:4: malformed JSON")
    assert "\n" not in str(error)


def test_duplicate_category_ids(tmp_path: Path) -> None:
    path = coco_file(tmp_path, categories=[*CATEGORIES, {"id": 3, "name": "van"}])
    error = error_of(path)
    assert str(error) == (
        f"{path} at $.categories[2].id: duplicate category id 3 ('truck' and 'van')"
    )


def test_unknown_category_and_image_and_lenient_report(tmp_path: Path) -> None:
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10]},
        {"id": 2, "image_id": 1, "category_id": 7, "bbox": [0, 0, 10, 10]},
        {"id": 3, "image_id": 9, "category_id": 3, "bbox": [0, 0, 10, 10]},
        {"id": 4, "image_id": 1, "category_id": 3, "bbox": [0, "x", 10, 10]},
    ]
    path = coco_file(tmp_path, annotations=annotations)
    error = error_of(path)
    assert str(error) == f"{path} at $.annotations[1].category_id: unknown category id 7"
    assert error.hint is not None
    assert "--lenient" in error.hint
    found = import_path(path, lenient=True)
    assert [str(p) for p in found.problems] == [
        f"{path} at $.annotations[1].category_id: unknown category id 7",
        f"{path} at $.annotations[2].image_id: unknown image id 9",
        f"{path} at $.annotations[3].bbox: bbox [0, 'x', 10, 10] is not 4 numbers",
    ]
    assert found.stats.as_dict()["per_class"] == {"car": 1}
    assert found.schema.names == ("car", "truck")


def test_no_categories(tmp_path: Path) -> None:
    path = tmp_path / "captions.json"
    path.write_text(json.dumps({"images": [], "annotations": [{"caption": "a dog"}]}))
    assert str(error_of(path)) == f"{path} at $.categories: categories missing"


def test_kitti_wrong_field_count_and_non_numeric(tmp_path: Path) -> None:
    folder = tmp_path / "label_2"
    folder.mkdir()
    good = "Car 0.00 0 1.55 614.24 181.78 727.31 284.77 1.57 1.73 4.15 1.00 1.75 13.22 1.62"
    (folder / "000000.txt").write_text(f"{good}\nCar 0.00 0 1.55 614.24\n")
    (folder / "000001.txt").write_text(good.replace("181.78", "top") + "\n" + good + "\n")
    error = error_of(folder, format="kitti")
    assert str(error) == f"{folder / '000000.txt'}:2: expected 15 fields (16 with a score), found 5"
    found = import_path(folder, format="kitti", lenient=True)
    assert [str(p) for p in found.problems] == [
        f"{folder / '000000.txt'}:2: expected 15 fields (16 with a score), found 5",
        f"{folder / '000001.txt'}:1: bbox top 'top' is not a number",
    ]
    assert found.stats.annotations == 2


def test_malformed_xml_and_non_numeric_box(tmp_path: Path) -> None:
    broken = tmp_path / "a.xml"
    broken.write_text("<annotation>\n  <object>\n    <name>car</name>\n  </annotation>\n")
    error = error_of(broken)
    assert str(error).startswith(f"{broken}:4: malformed XML: mismatched tag")
    box = tmp_path / "b.xml"
    box.write_text(
        "<annotation>\n<object>\n<name>car</name>\n<bndbox>\n<xmin>1</xmin>\n"
        "<ymin>two</ymin>\n<xmax>3</xmax>\n<ymax>4</ymax>\n</bndbox>\n</object>\n</annotation>\n"
    )
    assert str(error_of(box)) == f"{box}:6: ymin 'two' is not a number"


def test_yolo_index_out_of_range_and_malformed_yaml(tmp_path: Path) -> None:
    (tmp_path / "data.yaml").write_text("nc: 2\nnames: [car, truck]\n")
    labels = tmp_path / "labels" / "train"
    labels.mkdir(parents=True)
    (labels / "a.txt").write_text("0 0.5 0.5 0.1 0.1\n2 0.5 0.5 0.1 0.1\n1 0.5 half 0.1 0.1\n")
    error = error_of(tmp_path)
    assert str(error) == f"{labels / 'a.txt'}:2: class index 2 is not one of the 2 names"
    found = import_path(tmp_path, lenient=True)
    assert len(found.problems) == 2
    assert str(found.problems[1]).startswith(f"{labels / 'a.txt'}:3: non-numeric value")
    assert found.schema.names == ("car", "truck")

    bad = tmp_path / "bad.yaml"
    bad.write_text("names:\n  - car\n  - [truck\n")
    assert str(error_of(bad)).startswith(f"{bad}:4: malformed YAML")


def test_yolo_names_mapping_and_count_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "data.yaml"
    path.write_text("nc: 3\nnames:\n  1: truck\n  0: car\n")
    assert str(error_of(path)) == f"{path} at nc: nc is 3 but names lists 2"
    assert import_path(path, lenient=True).schema.names == ("car", "truck")


def test_a_missing_path_and_an_unknown_format(tmp_path: Path) -> None:
    from lineal.errors import InvalidInput, NotFound

    with pytest.raises(NotFound, match="no such file or folder"):
        import_path(tmp_path / "nope.json")
    odd = tmp_path / "labels.csv"
    odd.write_text("a,b\n")
    with pytest.raises(InvalidInput, match="cannot tell the label format"):
        import_path(odd)
    with pytest.raises(InvalidInput, match="bad format 'pascal'"):
        import_path(odd, format="pascal")
