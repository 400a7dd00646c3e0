"""JSON text over HTTP (lineal.store.wire_json): orjson's text is the standard library's, a NaN
is never written as null, and what orjson refuses or would read wrongly takes the standard
library; each case runs with orjson (when installed) and without it."""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from typing import Any

import pytest

from lineal.lineage.graph import Node
from lineal.lineage.through import Through
from lineal.model.entities import Edge
from lineal.store import wire_json
from lineal.store.base import Columns, NodeRow

MODES = ["standard", "orjson"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "orjson":
        pytest.importorskip("orjson")  # the server extra installs it
        assert wire_json._FAST is not None
    else:
        monkeypatch.setattr(wire_json, "_FAST", None)
    return request.param


def standard(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


#: A lineage answer's shape: text (some not ASCII, some to escape), integers, None, lists.
GRAPH = {
    "direction": "upstream",
    "roots": ["model/detector@sha256:" + "ab" * 32],
    "as_of": None,
    "nodes": [
        {
            "id": "run/01JD3XQ4M000000000000000Z4",
            "type": "run",
            "kind": "run",
            "label": "run/01JD3XQ4M000000000000000Z4",
            "name": 'tr\u00e4in "v2"\n\t\\ \u2028 \U0001f600',
            "version": None,
            "status": "running",
            "depth": 1,
            "aliases": ["model/detector:prod", "model/detector:\u00e9t\u00e9"],
        },
    ],
    "edges": [{"kind": "used", "parent": "a", "child": "b", "role": None, "seq": 2**62}],
    "counts": {"run": 1},
}


def test_a_float_free_body_is_written_as_the_standard_library_writes_it(mode: str) -> None:
    assert wire_json.dumps(GRAPH, floats=False) == standard(GRAPH)
    assert wire_json.loads(standard(GRAPH), floats=False) == GRAPH


@pytest.mark.parametrize("floats", [True, False])
@pytest.mark.parametrize("body", [{"x": 2**64}, {1: "one"}, [-(2**70)]])
def test_what_orjson_refuses_takes_the_standard_library(mode: str, floats: bool, body: Any) -> None:
    assert wire_json.dumps(body, floats=floats) == standard(body)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_nan_is_refused_never_written_as_null(mode: str, value: float) -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        wire_json.dumps({"loss": [1.5, value]})


def test_a_body_with_floats_reads_big_integers_exactly(mode: str) -> None:
    text = b'{"n": 123456789012345678901234567890, "x": 0.1}'
    assert wire_json.loads(text) == {"n": 123456789012345678901234567890, "x": 0.1}


def test_a_lineage_answer_crosses_the_wire_unchanged(mode: str) -> None:
    node, run = "dataset/raw@sha256:" + "cd" * 32, "run/01JD3XQ4M000000000000000Z4"
    rows = {
        node: NodeRow(node, "artifact", "dataset", "raw", 1, None, ("dataset/raw:x",)),
        run: NodeRow(run, "run", "run", "tr\u00e4in", None, "running", ()),
    }
    edges = [Edge(kind="used", parent=node, child=run, role="train", seq=7)]
    answer = ({node: 0, run: 1}, edges, rows)
    assert wire_json.decode_answer("subgraph", wire_json.encode_answer("subgraph", answer)) == (
        answer
    )
    columns = Columns(
        id=[node, run], type=["artifact", "run"], kind=["dataset", "run"],
        name=["raw", "tr\u00e4in"],
        version=[1, None], status=[None, "running"], aliases=[("dataset/raw:x",), ()],
        depth=[0, 1], parent=[0], child=[1], edge_kind=["used"], role=["train"], seq=[7],
    )  # fmt: skip
    assert columns.answer() == answer
    closure = ([node], columns, [run.removeprefix("run/")])
    assert "closure" in wire_json.FLOAT_FREE
    text = wire_json.encode_answer("closure", closure)
    assert json.loads(text)["roots"] == [node]
    assert wire_json.decode_answer("closure", text) == closure


def _hints(cls: type) -> dict[str, Any]:
    if dataclasses.is_dataclass(cls):
        names = {f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")}
    else:
        names = set(cls._fields)  # type: ignore[attr-defined]
    hints = typing.get_type_hints(cls)
    return {name: hints[name] for name in names}


def _holds_float(hint: Any) -> bool:
    return hint is float or any(_holds_float(arg) for arg in typing.get_args(hint))


@pytest.mark.parametrize("cls", [NodeRow, Edge, Node, Through, Columns])
def test_lineage_answers_hold_no_float(cls: type) -> None:
    # What lets orjson write them (FLOAT_FREE, services' floats=False): a float field added
    # to a node or an edge must take the standard library, which spells NaN.
    hints = _hints(cls)
    assert hints  # the check looked at fields
    assert not [name for name, hint in hints.items() if _holds_float(hint)]


def test_the_float_check_sees_a_float() -> None:
    assert _holds_float(float | None)
    assert _holds_float(tuple[str, float])
    assert not _holds_float(int | None)
