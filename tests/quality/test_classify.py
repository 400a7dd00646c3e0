"""Classifications that propagate (lineal.quality.classify): a tag set on any node reaches
everything downstream, worked out at query time, on every backend of the ``store`` fixture
(SQLite, PostgreSQL, a live server over HTTP), and `lineal show` says what a node inherits."""

from __future__ import annotations

import pytest

from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.model.entities import Artifact, Run
from lineal.quality.classify import carried, check_class, classes, classified
from lineal.quality.show import show
from lineal.store.base import Store


def _pipeline(lin: Lineal) -> dict[str, Artifact | Run]:
    """raw -> ingest -> clean -> train -> model; and an unrelated dataset."""
    raw = lin.record_artifact("dataset", data=b"raw faces", name="raw")
    ingest = lin.start_run("ingest")
    clean = lin.record_artifact("dataset", data=b"clean faces", name="clean")
    train = lin.start_run("train")
    model = lin.record_artifact("model", data=b"weights", name="detector")
    other = lin.record_artifact("dataset", data=b"street signs", name="signs")
    lin.link("used", raw, ingest, role="input")
    lin.link("generated", ingest, clean)
    lin.link("used", clean, train, role="train")
    lin.link("used", other, train, role="train")
    lin.link("generated", train, model)
    return {"raw": raw, "ingest": ingest, "clean": clean, "train": train, "model": model,
            "signs": other}  # fmt: skip


def test_a_later_tag_reaches_earlier_descendants(store: Store) -> None:
    lin = Lineal(store)
    nodes = _pipeline(lin)
    assert carried(lin, "model/detector") == []
    assert classified(lin) == []
    before = store.head()[0]
    tagged = lin.set_tag(nodes["raw"], "classification", "PII")  # after everything downstream

    (held,) = carried(lin, "model/detector")
    assert (held.classification, held.label, held.distance, held.seq) == (
        "pii", "dataset/raw@v1", 4, tagged.seq,
    )  # fmt: skip
    assert held.text() == "pii from dataset/raw@v1 (4 edges up)"
    assert [c.text() for c in carried(lin, "dataset/raw")] == ["pii (own tag)"]
    assert carried(lin, "dataset/signs") == []
    assert carried(lin, "model/detector", as_of=before) == []  # as the store stood then

    listed = {one.label: one for one in classified(lin)}
    train = nodes["train"]
    assert isinstance(train, Run)
    assert set(listed) == {"dataset/raw@v1", "run/" + nodes["ingest"].id, "dataset/clean@v1",
                           train.ref, "model/detector@v1"}  # fmt: skip
    assert [c.distance for c in listed["dataset/clean@v1"].carried] == [2]
    assert listed["model/detector@v1"].kind == "model"
    assert listed["model/detector@v1"].as_dict()["classifications"] == ["pii"]
    assert classified(lin, "restricted") == []
    assert classified(lin, "Pii")[0].label == "dataset/clean@v1"  # by reference


def test_several_sources_nearest_first_and_untagging(store: Store) -> None:
    lin = Lineal(store)
    nodes = _pipeline(lin)
    lin.set_tag(nodes["raw"], "classification", "pii")
    lin.set_tag(nodes["clean"], "classification", "restricted, pii")
    texts = [c.text() for c in carried(lin, "model/detector")]
    assert texts == [
        "pii from dataset/clean@v1 (2 edges up)",
        "restricted from dataset/clean@v1 (2 edges up)",
        "pii from dataset/raw@v1 (4 edges up)",
    ]
    # what `lineal show` (and the server's /show) carries: the same answer as a dict
    body = show(lin, "model/detector")
    assert [one["text"] for one in body["classified"]] == texts
    assert body["classified"][0]["from"] == "dataset/clean@v1"
    assert show(lin, "dataset/signs")["classified"] == []

    lin.set_tag(nodes["clean"], "classification", None)
    assert [c.text() for c in carried(lin, "model/detector")] == [
        "pii from dataset/raw@v1 (4 edges up)"
    ]
    lin.set_tag(nodes["raw"], "classification", None)
    assert carried(lin, "model/detector") == []
    assert classified(lin) == []


def test_class_names() -> None:
    assert classes("PII, restricted,,pii ") == ("pii", "restricted")
    assert classes(" , ") == ()
    assert check_class(" PII ") == "pii"
    with pytest.raises(InvalidInput, match="one class name"):
        check_class("pii,restricted")
