"""Bounded fuzzing of what users hand lineal: label files for every importer (in process) and
arguments for a handful of commands (through the real CLI). Every input either works or gets
a LinealError (on the command line: an ``error:`` line, exit 1 or 2); never an "unexpected"
error, a traceback, or a hang.

A fixed corpus (the malformed inputs of issue 17) runs every time; Hypothesis adds a fixed
number of generated ones. A failure prints the input that caused it.
"""

from __future__ import annotations

import json
import os
import string
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lineal
from lineal.errors import LinealError
from lineal.labels import record
from lineal.labels.detect import import_path
from lineal.model import canonical

KITTI = "Car 0.00 0 1.55 614.24 181.78 727.31 284.77 1.57 1.73 4.15 1.00 1.75 13.22 1.62"
VOC = (
    '<?xml version="1.0"?>\n<annotation><size><width>4</width><height>2</height></size>\n'
    "<object><name>cat</name><bndbox><xmin>0</xmin><ymin>0</ymin><xmax>3</xmax><ymax>1</ymax>"
    "</bndbox></object></annotation>\n"
)
COCO = json.dumps(
    {
        "images": [{"id": 1, "width": 640, "height": 480}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10]}],
        "categories": [{"id": 1, "name": "car", "supercategory": "vehicle"}],
    }
)
#: Where each format's files go in a dataset folder, and a valid one to mutate.
LAYOUTS: dict[str, tuple[str, str]] = {
    "coco": ("instances.json", COCO),
    "kitti": ("label_2/000000.txt", KITTI + "\n"),
    "voc": ("Annotations/a.xml", VOC),
    "yolo-names": ("classes.txt", "car\nperson\n"),
    "yolo-yaml": ("data.yaml", "names: [car, person]\nnc: 2\nkpt_shape: [2, 3]\n"),
    "yolo-data": ("obj.data", "classes = 2\nnames = obj.names\n"),
    "yolo-labels": ("labels/a.txt", "0 0.5 0.5 0.2 0.2\n1 0.1 0.2 0.3 0.4 0.5 0.6\n"),
    "labelmap": ("labelmap.txt", "cat:255,0,0:head,tail:\n"),
}
#: The malformed inputs of issue 17 and their like, each with the layout it goes in.
CORPUS: list[tuple[str, bytes]] = [
    ("coco", b"[" * 100_000 + b"]" * 100_000),
    ("coco", b'{"categories": [{"id": ' + b"9" * 5_000 + b', "name": "x"}]}'),
    ("coco", b'{"categories": [{"id": 1, "name": "a\\u0000b"}]}'),
    ("coco", b'{"categories": [{"id": 1, "name": "\\ud800"}], "annotations": []}'),
    ("coco", b'{"categories": [{"id": 1, "name": "x", "keypoints": ["\\u0000"]}]}'),
    (
        "coco",
        b'{"categories": [{"id": 1, "name": "x"}], "annotations": [{"category_id": 1,'
        b' "attributes": {"\\u0000": 1}, "bbox": [1e308, 1e308, 1e308, 1e308]}]}',
    ),
    ("coco", b'{"categories": [{"id": 1, "name": "x", "skeleton": [[' + b"9" * 30 + b", 1]]}]}"),
    ("coco", bytes(range(256))),
    ("voc", b'<!DOCTYPE a [<!ENTITY x "&#0;">]><annotation>&x;</annotation>'),
    ("voc", b"<annotation>" + b"<a>" * 50_000 + b"</a>" * 50_000 + b"</annotation>"),
    ("voc", b'<?xml version="1.0" encoding="klingon"?><annotation/>'),
    ("voc", b"<annotation><object><name>\xff</name></object></annotation>"),
    ("kitti", b"Car\x00 " + KITTI[4:].encode()),
    ("kitti", b"\xed\xa0\x80 " + KITTI[4:].encode()),
    ("kitti", ("Car " + " ".join(["1e999"] * 14)).encode()),
    ("yolo-names", b"car\x00\nperson\n"),
    ("yolo-names", b"\x89PNG\r\n\x1a\n" + bytes(200)),
    ("yolo-yaml", b"names: " + b"[" * 100_000),
    ("yolo-yaml", b"names: {0: " + b"9" * 5_000 + b"}\n"),
    ("yolo-yaml", b"names: [a, b]\nkpt_shape: [1000000000, 3]\n"),
    ("yolo-yaml", b"names: [a]\nkpt_shape: [1, 3]\nkpt_names: {0: [[[1]]]}\n"),
    ("yolo-yaml", b"names: [a]\nnc: !!python/object:os.system ls\n"),
    ("yolo-data", b"classes = \xc2\xb2\nnames = obj.names\n"),
    ("yolo-data", b"classes = 2\nnames = " + b"a" * 300 + b"\n"),
    ("yolo-data", b"classes = 2\nnames = /etc/passwd\n"),
    ("yolo-data", b"classes = 2\nnames = ../../../../../../etc/passwd\n"),
    ("yolo-labels", b"0 " + b"9" * 5_000 + b" 0.5 0.5 0.5\n"),
    ("labelmap", bytes(range(128, 256))),
]


def _dataset(folder: Path, layout: str, content: bytes) -> Path:
    """A dataset folder holding ``content`` where ``layout`` puts it (and, for the YOLO parts,
    the files the rest of a YOLO set needs)."""
    relative, _ = LAYOUTS[layout]
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if layout in ("yolo-data", "yolo-labels"):
        if not (folder / "obj.data").exists():
            (folder / "classes.txt").write_text("car\nperson\n")
        (folder / "obj.names").write_text("car\nperson\n")
    if layout == "labelmap":
        (folder / "Annotations").mkdir(exist_ok=True)
        (folder / "Annotations" / "a.xml").write_text(VOC)
    return path


def _no_surprise(call: Callable[[], Any], what: object) -> Any:
    """``call()``, which may raise a LinealError and nothing else."""
    try:
        return call()
    except LinealError:
        return None
    except Exception as exc:  # the point of the test: anything else is a defect
        raise AssertionError(f"{type(exc).__name__}: {exc!s:.300} on {what!r:.300}") from exc


def _import_everything(folder: Path, path: Path) -> None:
    """What `lineal schema import` and `lineal add` do with a file and its folder, including
    recording: each result encodes canonically, as the ledger needs."""
    for target, lenient in ((path, False), (path, True), (folder, False), (folder, True)):
        found = _no_surprise(partial(import_path, target, lenient=lenient), target)
        if found is not None:
            canonical.encode(found.schema.canonical())  # a schema read is a schema storable
    schemas, problems = _no_surprise(partial(record.detect, folder), folder) or ([], [])
    meta = record.dataset_meta(schemas, problems, folder)
    canonical.encode(meta)  # what `lineal add` records must always be storable


@pytest.mark.parametrize(
    ("layout", "content"), CORPUS, ids=[f"{i}-{layout}" for i, (layout, _) in enumerate(CORPUS)]
)
def test_the_corpus_gets_clear_errors(tmp_path: Path, layout: str, content: bytes) -> None:
    path = _dataset(tmp_path / "set", layout, content)
    _import_everything(tmp_path / "set", path)


def _mutations(text: str) -> st.SearchStrategy[bytes]:
    """``text`` with a few characters replaced, inserted or cut, as bytes."""
    data = text.encode()
    edit = st.tuples(
        st.sampled_from(["replace", "insert", "cut"]),
        st.integers(0, max(0, len(data) - 1)),
        st.binary(min_size=1, max_size=8)
        | st.sampled_from([b"\x00", b"\xff", b"-1", b"1e999", b"9" * 30, b"[", b"{", b"<", b"&"]),
    )

    def apply(edits: list[tuple[str, int, bytes]]) -> bytes:
        out = bytearray(data)
        for kind, where, piece in edits:
            at = min(where, len(out))
            if kind == "replace":
                out[at : at + len(piece)] = piece
            elif kind == "insert":
                out[at:at] = piece
            else:
                del out[at : at + len(piece)]
        return bytes(out)

    return st.lists(edit, min_size=1, max_size=6).map(apply)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
_coco = st.fixed_dictionaries(
    {
        "categories": st.lists(
            st.fixed_dictionaries({"id": _json, "name": _json}, optional={"keypoints": _json}),
            max_size=3,
        ),
    },
    optional={
        "images": st.lists(st.dictionaries(st.sampled_from(["id", "width", "height"]), _json)),
        "annotations": st.lists(
            st.dictionaries(
                st.sampled_from(["image_id", "category_id", "bbox", "segmentation", "keypoints"]),
                _json,
            ),
            max_size=3,
        ),
    },
).map(lambda body: json.dumps(body).encode())
_lines = st.lists(
    st.lists(st.text(string.printable + "\x00é", min_size=1, max_size=6), max_size=16).map(
        " ".join
    ),
    max_size=4,
).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass"))
INPUTS = st.one_of(
    *(st.tuples(st.just(layout), _mutations(text)) for layout, (_, text) in LAYOUTS.items()),
    st.tuples(st.sampled_from(sorted(LAYOUTS)), st.binary(max_size=64)),
    st.tuples(st.just("coco"), _coco),
    st.tuples(st.sampled_from(["kitti", "yolo-labels", "yolo-names", "labelmap"]), _lines),
)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=INPUTS)
def test_generated_label_files_get_clear_errors(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[str, bytes]
) -> None:
    layout, content = case
    folder = tmp_path_factory.mktemp("set")
    path = _dataset(folder, layout, content)
    _import_everything(folder, path)


# -- the command line -----------------------------------------------------------------------
LINEAL = Path(sys.executable).parent / "lineal"
LONG = "a" * 300
#: Arguments given to commands as users might, beside the ones issue 17 found.
ARGUMENTS: list[list[str]] = [
    ["log", "--limit", "99999999999999999999"],
    ["log", "--limit", "-1"],
    ["log", "--op", "\x7f"],
    ["runs", "--where", "(" * 5_000 + "name = a" + ")" * 5_000],
    ["runs", "--where", "not " * 5_000 + "name = a"],
    ["runs", "--where", " and ".join(["params.lr = 1"] * 3_000)],
    ["runs", "--where", "metrics.x@99999999999999999999 > 1"],
    ["runs", "--where", "name ~ '" + "\\" * 3],
    ["runs", "--limit", str(2**64)],
    ["query", "started > 9999-99-99T99:99:99Z"],
    ["query", "uses(" + "x" * 5_000 + ")"],
    ["show", "dataset/x@sha256:" + "0" * 70],
    ["show", "run/" + "Z" * 26],
    ["upstream", "dataset/x", "--depth", "99999999999999999999"],
    ["run", "--in", LONG, "--", "true"],
    ["run", "--out", f"{LONG}/x", "--", "true"],
    ["run", "-p", "x=" + "[" * 10_000, "--", "true"],
    ["run", "--", LONG],
    ["add", LONG],
    ["add", "."],
    ["schema", "import", LONG],
    ["schema", "import", "bad.xml"],
    ["schema", "import", "deep.json"],
    ["schema", "import", "outside/obj.data"],
    ["schema", "diff", LONG, "deep.json"],
    ["scene", "add", LONG],
    ["tag", "dataset/x", "\x7f=1"],
    ["alias", "set", "dataset/x@v1", ":" * 300],
]


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    return subprocess.run(  # noqa: PLW1510 - the caller checks the exit code
        [str(LINEAL), *args],
        cwd=cwd,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _clean(done: subprocess.CompletedProcess[str], args: list[str]) -> None:
    shown = [a if len(a) < 80 else a[:40] + f"…({len(a)} chars)" for a in args]
    assert done.returncode in (0, 1, 2), (shown, done.returncode, done.stderr[-2000:])
    assert "unexpected" not in done.stderr, (shown, done.stderr[-2000:])
    assert "Traceback" not in done.stderr, (shown, done.stderr[-2000:])
    if done.returncode == 1:
        assert done.stderr.startswith("error: "), (shown, done.stderr[-2000:])


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with a dataset, a VOC bomb, deep JSON and an obj.data naming a file
    outside its folder."""
    root = tmp_path_factory.mktemp("fuzz")
    lineal.init(root, agent="tester")
    (root / "data").mkdir()
    (root / "data" / "a.txt").write_text("a")
    (root / "bad.xml").write_text('<!DOCTYPE a [<!ENTITY b "c">]><annotation>&b;</annotation>')
    (root / "deep.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    (root / "secret").write_text("password\n")
    (root / "outside").mkdir()
    (root / "outside" / "obj.data").write_text(f"names = {root / 'secret'}\n")
    return root


@pytest.mark.slow
@pytest.mark.parametrize("args", ARGUMENTS, ids=range(len(ARGUMENTS)))
def test_commands_give_clear_errors(workspace: Path, args: list[str]) -> None:
    _clean(_cli(args, workspace), args)


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    where=st.lists(
        st.sampled_from(
            [
                "(",
                ")",
                "not",
                "and",
                "or",
                "name",
                "metrics.x",
                "@",
                "=",
                "~",
                "'",
                "\\",
                "1e999",
                "-",
                "uses(",
                "dataset/x",
                ",",
                "\x7f",
                "é",
                "99999999999999999999",
                " ",
            ]
        ),
        max_size=30,
    ).map(" ".join),
    limit=st.sampled_from(["1", "0", "-5", "99999999999999999999", "x", "1e3"]),
)
def test_generated_filters_get_clear_errors(workspace: Path, where: str, limit: str) -> None:
    for command in (["runs", "--where", where, "--limit", limit], ["query", where]):
        _clean(_cli(command, workspace), command)
