"""Label files are untrusted input: every file an importer reads resolves inside the dataset
folder (symlinks followed), XML entities are refused, and every malformed file gets one clear
error naming it; nothing hangs."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cli_checks import error_and_hint
from lineal.labels import coco, voc, yolo
from lineal.labels.detect import dataset_schemas, import_path
from lineal.labels.schema import LabelFileError

if TYPE_CHECKING:
    from conftest import Cli

SECRET = "aws_secret_access_key=AKIAEXAMPLE\nsecond-secret-line\n"
KITTI_LINE = "Car 0.00 0 1.55 614.24 181.78 727.31 284.77 1.57 1.73 4.15 1.00 1.75 13.22 1.62\n"

# A few hundred bytes of nested entities: expat expands them to megabytes, a piece at a time.
LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE annotation [\n <!ENTITY a "laugh">\n'
    + "".join(f' <!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">\n' for i in range(8))
    + "]>\n<annotation><object><name>&i;</name></object></annotation>\n"
)


def error_of(path: Path, **options: str) -> LabelFileError:
    with pytest.raises(LabelFileError) as caught:
        import_path(path, **options)  # type: ignore[arg-type]
    return caught.value


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside every dataset folder of the test, like ~/.aws/credentials."""
    path = tmp_path / "home" / "credentials"
    path.parent.mkdir()
    path.write_text(SECRET)
    return path


def darknet(root: Path, names: str) -> Path:
    (root / "obj_train_data").mkdir(parents=True)
    (root / "obj_train_data" / "a.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (root / "obj.data").write_text(f"classes = 2\nnames = {names}\n")
    return root


def test_obj_data_naming_a_file_outside_is_refused(tmp_path: Path, secret: Path) -> None:
    folder = darknet(tmp_path / "set", str(secret))
    error = error_of(folder)
    assert str(error) == (
        f"{folder / 'obj.data'}:2: names {secret}, outside the dataset folder {folder}"
    )
    assert error.hint is not None
    assert "inside" in error.hint or "into the dataset folder" in error.hint
    relative = darknet(tmp_path / "rel", "../home/credentials")
    assert "outside the dataset folder" in str(error_of(relative))
    # Given the obj.data file, its folder is the root: ../data/x is looked for one level up.
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "obj.names").write_text("stolen\n")
    above = darknet(tmp_path / "above", "data/obj.names")
    assert "outside the dataset folder" in str(error_of(above / "obj.data"))


def test_a_names_file_inside_the_folder_still_works(tmp_path: Path) -> None:
    folder = darknet(tmp_path / "set", "data/obj.names")
    (folder / "data").mkdir()
    (folder / "data" / "obj.names").write_text("car\nperson\n")
    assert import_path(folder).schema.names == ("car", "person")
    inside = darknet(tmp_path / "abs", str(tmp_path / "abs" / "obj.names"))
    (inside / "obj.names").write_text("car\nperson\n")
    assert import_path(inside).schema.names == ("car", "person")


@pytest.mark.parametrize("fmt", ["yolo", "kitti", "coco", "voc"])
def test_symlinks_out_of_the_folder_are_refused(tmp_path: Path, secret: Path, fmt: str) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    if fmt == "yolo":
        (folder / "classes.txt").symlink_to(secret)
    elif fmt == "kitti":
        (folder / "label_2").mkdir()
        (outside / "000000.txt").write_text(KITTI_LINE.replace("Car", "Stolen"))
        (folder / "label_2" / "000000.txt").symlink_to(outside / "000000.txt")
    elif fmt == "coco":
        (outside / "x.json").write_text(json.dumps({"categories": [{"id": 1, "name": "x"}]}))
        (folder / "instances.json").symlink_to(outside / "x.json")
    else:
        (folder / "Annotations").mkdir()
        (folder / "Annotations" / "a.xml").write_text(
            "<annotation><object><name>cat</name></object></annotation>"
        )
        (folder / "labelmap.txt").symlink_to(secret)
    error = error_of(folder)
    assert "outside the dataset folder" in str(error), str(error)
    assert str(error).startswith(str(folder)), str(error)
    # Read leniently (as `lineal add` does), the file is skipped with that problem (and as
    # nothing else is left, that problem is the error).
    for lenient in (False, True):
        with pytest.raises(LabelFileError, match="outside the dataset folder"):
            dataset_schemas(folder, lenient=lenient)


def test_a_file_named_on_the_command_line_is_read_where_it_points(tmp_path: Path) -> None:
    # What a user names is trusted, as cat trusts it: its own folder is the root.
    target = tmp_path / "elsewhere" / "instances.json"
    target.parent.mkdir()
    target.write_text(json.dumps({"categories": [{"id": 1, "name": "car"}]}))
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert import_path(link).schema.names == ("car",)


def test_add_records_no_line_of_a_file_outside(
    tmp_path: Path, secret: Path, lineal_cli: Cli
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    assert lineal_cli("init", cwd=work).returncode == 0
    darknet(work / "set", str(secret))
    done = lineal_cli("add", "set", cwd=work)
    assert done.returncode == 0, done.stderr
    assert "outside the dataset folder" in done.stderr
    assert "unexpected" not in done.stderr
    with sqlite3.connect(work / ".lineal" / "lineal.db") as db:
        payloads = b"".join(bytes(row[0]) for row in db.execute("SELECT payload FROM ledger"))
    assert b"second-secret-line" not in payloads
    assert b"AKIAEXAMPLE" not in payloads
    done = lineal_cli("schema", "import", "set/obj.data", cwd=work)
    assert error_and_hint(done)[0] == (
        f"error: set/obj.data:2: names {secret}, outside the dataset folder set"
    )


def test_xml_entities_are_refused_without_expanding_them(ws: Path, lineal_cli: Cli) -> None:
    folder = ws / "voc"
    (folder / "Annotations").mkdir(parents=True)
    bomb = folder / "Annotations" / "a.xml"
    bomb.write_text(LAUGHS)
    for args in (["schema", "import", str(bomb)], ["add", str(folder)]):
        done = lineal_cli(*args, cwd=ws, timeout=60)  # it used to run for hours
        assert "declares the XML entity 'a'" in done.stderr, done.stderr
        assert "unexpected" not in done.stderr
    error = error_of(bomb)
    assert (
        str(error) == f"{bomb}:3: declares the XML entity 'a': lineal refuses entity declarations"
    )
    assert error.hint is not None
    assert "<!ENTITY>" in error.hint
    external = folder / "Annotations" / "b.xml"
    external.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE annotation [\n'
        f' <!ENTITY x SYSTEM "file://{ws}/secret">\n]>\n'
        "<annotation><object><name>&x;</name></object></annotation>\n"
    )
    assert "declares the XML entity 'x'" in str(error_of(external))


def test_voc_still_reads_plain_xml_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<annotation>\n<size><width>4</width><height>2</height></size>\n'
        "<object><name>c&amp;t</name>\n<bndbox><xmin>0</xmin><ymin>0</ymin><xmax>x</xmax>"
        "<ymax>1</ymax></bndbox></object>\n</annotation>\n"
    )
    found = voc.read(path, lenient=True)
    assert found.schema.names == ()
    assert [str(p) for p in found.problems] == [f"{path}:5: xmax 'x' is not a number"]
    path.write_text(path.read_text().replace(">x<", ">3<"))
    assert voc.read(path).schema.names == ("c&t",)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ("big.json", b'{"categories": [{"id": ' + b"9" * 5000 + b', "name": "x"}]}', "digits"),
        ("binary.json", bytes(range(256)) * 4, "not UTF-8 text"),
        ("data.yaml", b"names: " + b"[" * 100_000, "nested too deeply"),
        ("obj.names", b"\xff\xfe\x00c\x00a\x00r", "not UTF-8 text"),
        ("binary.xml", bytes(range(256)) * 4, "malformed XML"),
        ("empty.xml", b"", "malformed XML"),
    ],
)
def test_malformed_files_get_one_clear_error(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    error = error_of(path)
    assert str(error).startswith(str(path)), str(error)
    assert message in str(error), str(error)
    assert error.hint


def test_a_yaml_alias_bomb_is_no_name(tmp_path: Path) -> None:
    path = tmp_path / "data.yaml"
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 6)]
    path.write_text("\n".join([*lines, "names: [*a5]", "nc: *a5", ""]))  # a name 50 MB long
    error = error_of(path)
    assert str(error) == f"{path} at names[0]: a name must be text, not a list or mapping"


def test_binary_labelmap_names_the_file(tmp_path: Path, lineal_cli: Cli) -> None:
    folder = tmp_path / "voc"
    (folder / "Annotations").mkdir(parents=True)
    (folder / "Annotations" / "a.xml").write_text(
        "<annotation><object><name>cat</name></object></annotation>"
    )
    (folder / "labelmap.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    error = error_of(folder)
    assert str(error) == f"{folder / 'labelmap.txt'}: not UTF-8 text (byte 0: invalid start byte)"
    done = lineal_cli("schema", "import", "voc", cwd=tmp_path)
    assert error_and_hint(done)[0] == (
        "error: voc/labelmap.txt: not UTF-8 text (byte 0: invalid start byte)"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_not_waited_on(tmp_path: Path, lineal_cli: Cli) -> None:
    os.mkfifo(tmp_path / "fifo.txt")
    for args in (["fifo.txt"], ["fifo.txt", "--format", "kitti"]):
        done = lineal_cli("schema", "import", *args, cwd=tmp_path, timeout=60)
        assert error_and_hint(done)[0] == "error: fifo.txt: fifo.txt is not a regular file"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_an_image_that_is_a_fifo_has_no_size(ws: Path, lineal_cli: Cli) -> None:
    pytest.importorskip("PIL.Image")  # image sizes are read only with Pillow
    folder = ws / "set"
    (folder / "labels" / "train").mkdir(parents=True)
    (folder / "images" / "train").mkdir(parents=True)
    (folder / "data.yaml").write_text("names: [car]\n")
    (folder / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    os.mkfifo(folder / "images" / "train" / "a.png")
    done = lineal_cli("schema", "import", "set", "--json", cwd=ws, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["stats"]["image_sizes"] == {}


def test_non_finite_numbers_make_no_statistics(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    (folder / "labels").mkdir(parents=True)
    (folder / "classes.txt").write_text("car\n")
    (folder / "labels" / "a.txt").write_text("0 0.5 0.5 1e999 1e999\n0 0.5 0.5 0.5 0.5\n")
    stats = yolo.read(folder).stats.as_dict()
    assert stats["annotations"] == 2
    assert stats["box_area"]["count"] == 1
    path = tmp_path / "huge.json"
    path.write_text(
        json.dumps(
            {
                "images": [{"id": 1, "width": 10**400, "height": 4}],
                "annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10**400, 1]}],
                "categories": [{"id": 1, "name": "car"}, {"id": 2**64, "name": "van"}],
            }
        )
    )
    found = coco.read(path, lenient=True)
    assert found.schema.names == ("car",)
    assert [str(p) for p in found.problems] == [
        f"{path} at $.categories[1].id: category id does not fit in 64 bits",
        f"{path} at $.images[0].width: width {10**400!r} is not a number",
        f"{path} at $.annotations[0].bbox: bbox [0, 0, {10**400!r}, 1] is not 4 numbers",
    ]
