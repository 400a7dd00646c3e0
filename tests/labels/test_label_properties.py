"""Properties of the canonical schema: where ids are explicit (COCO) the order of classes in a
file does not change the digest; where indices are positional (YOLO) it does."""

from __future__ import annotations

import tempfile
from pathlib import Path
from random import Random

from hypothesis import given
from hypothesis import strategies as st

from lineal.labels import coco, yolo
from lineal.labels.diff import diff
from lineal.labels.schema import LabelSchema

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-", min_size=1, max_size=12)


@st.composite
def categories(draw: st.DrawFn) -> list[dict[str, object]]:
    names = draw(st.lists(NAMES, min_size=1, max_size=12, unique=True))
    ids = draw(
        st.lists(st.integers(0, 10_000), min_size=len(names), max_size=len(names), unique=True)
    )
    return [
        {"id": i, "name": n, "supercategory": draw(st.sampled_from(["", "vehicle", "animal"]))}
        for i, n in zip(ids, names, strict=True)
    ]


def coco_schema(items: list[dict[str, object]]) -> LabelSchema:
    body = {"images": [], "annotations": [], "categories": items}
    return coco.read_body(Path("instances.json"), body).schema


def yolo_schema(names: list[str]) -> LabelSchema:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "obj.names"
        path.write_text("".join(f"{n}\n" for n in names))
        return yolo.read(path).schema


@given(categories(), st.randoms(use_true_random=False))
def test_coco_category_order_does_not_change_the_digest(
    items: list[dict[str, object]], random: Random
) -> None:
    shuffled = list(items)
    random.shuffle(shuffled)
    assert coco_schema(shuffled).digest == coco_schema(items).digest
    assert coco_schema(shuffled).names == tuple(
        str(c["name"]) for c in sorted(items, key=lambda c: int(str(c["id"])))
    )


@given(st.lists(NAMES, min_size=2, max_size=12, unique=True), st.randoms(use_true_random=False))
def test_yolo_name_order_changes_the_digest(names: list[str], random: Random) -> None:
    shuffled = list(names)
    random.shuffle(shuffled)
    same = shuffled == names
    assert (yolo_schema(shuffled).digest == yolo_schema(names).digest) is same
    if not same:
        changed = diff(yolo_schema(names), yolo_schema(shuffled))
        assert changed.renumbered
        assert not changed.added
        assert not changed.removed


@given(categories())
def test_the_canonical_form_round_trips_and_diffs_to_nothing(
    items: list[dict[str, object]],
) -> None:
    schema = coco_schema(items)
    again = LabelSchema.from_canonical(schema.canonical())
    assert again == schema
    assert again.digest == schema.digest
    assert diff(schema, again).same


@given(categories(), st.data())
def test_a_rename_is_one_renamed_class(items: list[dict[str, object]], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(items) - 1))
    fresh = data.draw(NAMES.filter(lambda n: n not in {c["name"] for c in items}))
    renamed = [dict(c, name=fresh) if i == index else c for i, c in enumerate(items)]
    before, after = coco_schema(items), coco_schema(renamed)
    assert before.digest != after.digest
    change = diff(before, after)
    assert change.renamed == [
        {"id": items[index]["id"], "before": items[index]["name"], "after": fresh}
    ]
    assert not (change.added)
    assert not (change.removed)
    assert not (change.renumbered)
