"""The Store contract, writes read back: versions, aliases and their history, tags, run
params, finishing a run.

Runs on every backend of the ``store`` fixture (tests/conftest.py) through the Store protocol
alone; the store starts with alice's ``agent.register`` (record ``origin.seq(1)``).
"""

from __future__ import annotations

import pytest
from contract_helpers import T0, alias_at, assert_healthy, blob, new_run_id, resolve, state

from lineal.client import Lineal
from lineal.errors import Conflict, NotFound
from lineal.model.entities import Run
from lineal.model.filters import parse as parse_filter
from lineal.model.ops import AliasSet, ArtifactRecord, Op, RunFinish, RunParams, RunStart
from lineal.store.base import Store
from store_origin import Origin


def test_versions_are_numbered_per_kind_and_name_in_arrival_order(
    store: Store, origin: Origin
) -> None:
    lin = Lineal(store)
    v1 = lin.record_artifact("dataset", digest=blob("1"), name="coco")
    v2 = lin.record_artifact("dataset", digest=blob("2"), name="coco")
    again = lin.record_artifact("dataset", digest=blob("1"), name="coco")
    v3 = lin.record_artifact("dataset", digest=blob("3"), name="coco")
    other_name = lin.record_artifact("dataset", digest=blob("2"), name="voc")
    other_kind = lin.record_artifact("model", digest=blob("m"), name="coco")
    unnamed = lin.record_artifact("dataset", digest=blob("3"))

    assert [v1.version, v2.version, again.version, v3.version] == [1, 2, 1, 3]
    assert again.digest == v1.digest
    assert other_name.version == 1
    assert other_kind.version == 1
    assert unnamed.version is None
    assert store.versions("dataset", "coco") == [
        (1, blob("1"), v1.seq),
        (2, blob("2"), v2.seq),
        (3, blob("3"), v3.seq),
    ]
    assert store.versions("dataset", "voc") == [(1, blob("2"), other_name.seq)]
    assert store.versions("model", "coco") == [(1, blob("m"), other_kind.seq)]
    assert store.versions("dataset", "nope") == []
    assert store.names("dataset") == ["coco", "voc"]
    assert store.names("model") == ["coco"]
    assert store.latest_versions() == [
        ("dataset", "coco", 3, blob("3"), 3),
        ("dataset", "voc", 1, blob("2"), 1),
        ("model", "coco", 1, blob("m"), 1),
    ]
    assert store.latest_versions("model") == [("model", "coco", 1, blob("m"), 1)]
    assert store.version_of("dataset", "coco", blob("1")) == 1
    assert store.version_of("dataset", "coco", blob("m")) is None
    # a node is made once, by its first record: the second record of coco's v1 made none
    assert [(a.node, a.seq, a.version) for a in store.holders(blob("1"))] == [
        (f"dataset/coco@{blob('1')}", origin.seq(2), 1)
    ]
    assert v1.seq == origin.seq(2)
    assert [a.ref for a in store.holders(blob("3"))] == ["dataset/coco@v3", blob("3")]
    assert store.unnamed(blob("3")) == unnamed
    assert store.unnamed(blob("1")) is None
    assert store.head()[0] == origin.seq(8)  # every call was still recorded in the ledger
    assert_healthy(store)


def test_one_append_numbers_versions_as_appending_them_one_by_one(store: Store) -> None:
    """A batch of many named records (numbered at once, not one statement each) gets the
    numbers arrival order gives: a repeat of the same content is that version again."""
    Lineal(store).record_artifact("dataset", digest=blob("0"), name="coco")
    labels = ["1", "2", "1", "0", "3", "2", "4", "5", "6", "7", "8", "9"]
    batch: list[Op] = [ArtifactRecord(kind="dataset", digest=blob(x), name="coco") for x in labels]
    batch += [
        ArtifactRecord(kind="dataset", digest=blob("2"), name="voc"),
        ArtifactRecord(kind="model", digest=blob("2"), name="coco"),
        ArtifactRecord(kind="dataset", digest=blob("2")),
        ArtifactRecord(kind="dataset", digest=blob("2"), name="voc"),
    ]
    records = store.append(batch)

    firsts = {x: records[labels.index(x)].seq for x in dict.fromkeys(labels)}
    assert store.versions("dataset", "coco") == [
        (1, blob("0"), store.versions("dataset", "coco")[0][2]),
        *[(n, blob(x), firsts[x]) for n, x in enumerate("123456789", start=2)],
    ]
    assert store.versions("dataset", "voc") == [(1, blob("2"), records[12].seq)]
    assert store.versions("model", "coco") == [(1, blob("2"), records[13].seq)]
    assert store.version_of("dataset", "coco", blob("0")) == 1
    assert_healthy(store)


def test_alias_moves_and_keeps_its_history(store: Store) -> None:
    lin = Lineal(store)
    v1 = lin.record_artifact("model", digest=blob("m1"), name="det")
    v2 = lin.record_artifact("model", digest=blob("m2"), name="det")
    s1 = store.append(AliasSet(kind="model", name="det", alias="prod", digest=v1.digest))[0].seq
    s_other = lin.set_tag(v1, "note", "between")  # an unrelated record between the moves
    s2 = store.append(AliasSet(kind="model", name="det", alias="prod", digest=v2.digest))[0].seq
    assert s1 < s_other.seq < s2

    assert store.alias_holders("model", "det") == [("det", "prod", v2.digest, s2)]
    assert store.held_aliases("model", "det") == [("model", "det", "prod", 2, s2)]
    assert resolve(store, "model/det:prod").digest == v2.digest  # type: ignore[union-attr]
    # time travel
    assert alias_at(store, "model", "det", "prod", s1 - 1) is None
    assert alias_at(store, "model", "det", "prod", s1) == v1.digest
    assert alias_at(store, "model", "det", "prod", s2 - 1) == v1.digest
    assert alias_at(store, "model", "det", "prod", s2) == v2.digest

    # pointing it at the same version again closes the old row and opens a new one
    s3 = store.append(AliasSet(kind="model", name="det", alias="prod", digest=v2.digest))[0].seq
    # removal closes the current row and opens none
    s4 = store.append(AliasSet(kind="model", name="det", alias="prod", digest=None))[0].seq
    # the holder as of each moment names the record that set it then
    assert store.alias_holders("model", "det", s2) == [("det", "prod", v2.digest, s2)]
    assert store.alias_holders("model", "det", s3) == [("det", "prod", v2.digest, s3)]
    assert store.alias_holders("model", "det", s4) == []
    assert store.alias_holders("model", "det") == []
    assert store.held_aliases() == []
    with pytest.raises(NotFound):
        resolve(store, "model/det:prod")
    assert alias_at(store, "model", "det", "prod", s3) == v2.digest
    assert alias_at(store, "model", "det", "prod", s4) is None
    assert Lineal(store).show("model/det@v1")["aliases"] == []

    # aliases of one name are independent of each other and of other names
    lin.set_alias("model/det@v1", "staging")
    assert resolve(store, "model/det:staging").digest == v1.digest  # type: ignore[union-attr]
    assert Lineal(store).show("model/det@v1")["aliases"] == ["model/det:staging"]
    assert store.artifact_details(v1)["aliases"] == ["model/det:staging"]
    assert store.artifact_details(v2)["aliases"] == []
    assert alias_at(store, "model", "det", "prod", s4 - 1) == v2.digest  # history stays
    assert_healthy(store)


def test_tags_set_replace_and_remove(store: Store) -> None:
    lin = Lineal(store)
    art = lin.record_artifact("dataset", data=b"a")
    lin.set_tag(art, "stage", "dev")
    lin.set_tag(art, "stage", "prod")
    lin.set_tag(art, "owner", "alice")
    assert store.tags(art.digest) == {"owner": "alice", "stage": "prod"}
    lin.set_tag(art, "stage", None)
    assert store.tags(art.digest) == {"owner": "alice"}

    assert store.artifact_details(art)["tags"] == {"owner": "alice"}
    assert store.tag_values_beside("owner", where_key="owner", where_value="alice") == ["alice"]

    # removing a tag that was never set is recorded but changes nothing
    before = store.head()[0]
    lin.set_tag(art, "never", None)
    assert store.head()[0] == before + 1
    assert store.tags(art.digest) == {"owner": "alice"}
    # tags on runs and agents
    run = lin.start_run("train")
    lin.set_tag(run, "gpu", "a100")
    lin.set_tag("agent/alice", "team", "vision")
    assert store.tags(f"run/{run.id}") == {"gpu": "a100"}
    assert store.tags("agent/alice") == {"team": "vision"}
    assert Lineal(store).show(run.ref)["tags"] == {"gpu": "a100"}
    assert_healthy(store)


def test_run_params_read_back_exactly(store: Store) -> None:
    params = {
        "epochs": 0,
        "dropout": 0.0,
        "amp": False,
        "suffix": "",
        "scheduler": None,
        "layers": [],
        "extra": {},
        "lr": 0.1,
        "nested": {"a": [1, 2.5, "é"], "b": None},
    }
    run = Lineal(store).start_run("train", params=params, meta={"host": "gpu-1"})
    assert dict(run.params) == params
    assert resolve(store, run.ref).params == params  # type: ignore[union-attr]
    assert_healthy(store)


def test_run_params_after_start(store: Store) -> None:
    lin = Lineal(store)
    run = lin.start_run("train", params={"lr": 0.1})
    added = {
        "epochs": 3,
        "ratio": 0.8,
        "big": 2**62,
        "negative": -1.5,
        "split": "train",
        "amp": True,
        "off": False,
        "none": None,
        "layers": [64, 32],
        "nested": {"a": 1},
    }
    record = store.append(RunParams(id=run.id, params=added))[0]
    assert record.seq > run.seq
    # numbers compare as numbers, a bool is no number, the rest compares as its JSON
    for matching, text in [
        (True, "params.epochs = 3.0"),
        (True, "params.big >= 4e18"),
        (True, "params.negative < 0 and params.ratio > 0.5 and params.lr = 0.1"),
        (True, "params.amp = true and params.off = false and params.none = null"),
        (False, "params.amp = 1"),
        (True, "params.split = train"),
        (False, "params.split = eval"),
    ]:
        found = [r.id for r in store.search_runs(parse_filter(text))[0]]
        assert found == ([run.id] if matching else []), text
    assert resolve(store, run.ref).params == {"lr": 0.1, **added}  # type: ignore[union-attr]
    assert_healthy(store)

    # a key is set once: again, or one the start set, or twice in one append is refused
    before = state(store)
    refused: list[list[Op]] = [
        [RunParams(id=run.id, params={"epochs": 3})],
        [RunParams(id=run.id, params={"fresh": 1, "split": "eval"})],
        [RunParams(id=run.id, params={"lr": 0.2})],
        [RunParams(id=run.id, params={"fresh": 1}), RunParams(id=run.id, params={"fresh": 2})],
    ]
    for ops in refused:
        with pytest.raises(Conflict, match="already"):
            store.append(ops)
        assert state(store) == before
    with pytest.raises(NotFound):
        store.append(RunParams(id=new_run_id(), params={"lr": 0.1}))
    assert state(store) == before

    # other runs have their own keys
    other = lin.start_run("eval")
    store.append(RunParams(id=other.id, params={"epochs": "many"}))
    assert resolve(store, other.ref).params == {"epochs": "many"}  # type: ignore[union-attr]
    assert_healthy(store)


def test_finish_sets_duration_and_error(store: Store) -> None:
    run_id = new_run_id()
    store.append(RunStart(id=run_id, name="train", started=T0))
    running = resolve(store, f"run/{run_id}")
    assert isinstance(running, Run)
    assert (running.duration, running.error, running.ended) == (None, None, None)
    assert Lineal(store).show(f"run/{run_id}")["duration"] is None

    ended = "2026-01-01T00:01:30.250000Z"
    store.append(RunFinish(id=run_id, status="failed", ended=ended, error="CUDA out of memory"))
    got = store.get_run(run_id)
    assert (got.status, got.ended, got.duration, got.error) == (
        "failed",
        ended,
        90.25,
        "CUDA out of memory",
    )
    finished = resolve(store, f"run/{run_id}")
    assert isinstance(finished, Run)
    assert (finished.status, finished.duration, finished.error) == (
        "failed",
        90.25,
        "CUDA out of memory",
    )
    shown = Lineal(store).show(f"run/{run_id}")
    assert (shown["duration"], shown["error"]) == (90.25, "CUDA out of memory")

    # without an error, through the client: a duration of its own, no error
    lin = Lineal(store)
    quick = lin.finish_run(lin.start_run("eval"))
    assert quick.duration is not None
    assert quick.duration >= 0
    assert quick.error is None
    same = store.get_run(quick.id)
    assert (same.status, same.duration, same.error) == ("finished", quick.duration, None)
    with pytest.raises(NotFound):
        store.get_run(new_run_id())
    assert_healthy(store)
