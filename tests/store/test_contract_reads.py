"""The Store contract, reads: resolving references, the catalogue of names, versions and
aliases, the model registry's promotions and approvals, labels and details of nodes.

Runs on every backend of the ``store`` fixture (tests/conftest.py) through the Store protocol
alone; the store starts with alice's ``agent.register`` (record ``origin.seq(1)``).
"""

from __future__ import annotations

from typing import Any

import pytest
from contract_helpers import assert_healthy, blob, resolve

from lineal.client import Lineal
from lineal.errors import InvalidInput, NotFound
from lineal.model.entities import Artifact, Run
from lineal.model.grants import PolicyApply
from lineal.model.ops import ModelApprove, ModelPromote
from lineal.store.base import Store


@pytest.fixture
def catalogue(store: Store) -> dict[str, Any]:
    """Three versions of dataset/coco, an alias, a run, and digests sharing a prefix."""
    lin = Lineal(store)
    shared = "sha256:abcdef01"
    twins = [shared + "0" * 55 + "1", shared + "0" * 55 + "2"]
    with lin.atomic():
        for n in (1, 2, 3):
            lin.record_artifact("dataset", digest=blob(f"coco{n}"), name="coco", size=n)
        lin.record_artifact("model", digest=twins[0], name="twin")
        lin.record_artifact("model", digest=twins[1], name="twin")
    # after the block: what the block's own writes read like inside it is the test below
    lin.set_alias("dataset/coco@v2", "prod")
    run = lin.start_run("train", params={"lr": 0.1, "layers": [64, 32]}, meta={"gpu": "a100"})
    unnamed = lin.record_artifact("file", data=b"loose", uri="s3://bucket/loose")
    return {"run": run, "twins": twins, "unnamed": unnamed}


def test_a_transaction_reads_its_own_writes(store: Store) -> None:
    lin = Lineal(store)
    with lin.atomic():
        for n in (1, 2):
            lin.record_artifact("dataset", digest=blob(f"coco{n}"), name="coco")
        assert resolve(store, "dataset/coco").digest == blob("coco2")  # type: ignore[union-attr]
        lin.set_alias("dataset/coco@v1", "prod")  # resolves v1 in the open block
        run = lin.start_run("train")
        assert store.get_run(run.id) == run  # numbered as it is stored
    assert resolve(store, "dataset/coco:prod").digest == blob("coco1")  # type: ignore[union-attr]


def test_resolve_references(store: Store, catalogue: dict[str, Any]) -> None:
    latest = resolve(store, "dataset/coco")
    assert isinstance(latest, Artifact)
    assert (latest.digest, latest.name, latest.version, latest.size) == (
        blob("coco3"),
        "coco",
        3,
        3,
    )
    assert resolve(store, "dataset/coco@v1").digest == blob("coco1")  # type: ignore[union-attr]

    by_prefix = resolve(store, f"dataset/coco@{blob('coco2')[:15]}")
    assert isinstance(by_prefix, Artifact)
    assert (by_prefix.digest, by_prefix.version) == (blob("coco2"), 2)
    full = resolve(store, f"dataset/coco@{blob('coco2')}")
    assert full == by_prefix

    aliased = resolve(store, "dataset/coco:prod")
    assert isinstance(aliased, Artifact)
    assert (aliased.digest, aliased.version) == (blob("coco2"), 2)

    run = catalogue["run"]
    found = resolve(store, f"run/{run.id}")
    assert isinstance(found, Run)
    assert found == run
    assert found.params == {"lr": 0.1, "layers": [64, 32]}
    assert found.meta == {"gpu": "a100"}
    assert found.status == "running"

    bare = resolve(store, catalogue["unnamed"].digest[:16])
    assert isinstance(bare, Artifact)
    assert (bare.digest, bare.name, bare.version) == (catalogue["unnamed"].digest, None, None)
    assert bare.uri == "s3://bucket/loose"
    assert bare.size == 5
    # a bare digest finds named artifacts too (without their name)
    assert resolve(store, blob("coco1")).digest == blob("coco1")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "ref",
    [
        "dataset/nope",
        "model/coco",  # the name exists, but under another kind
        "dataset/coco@v4",
        "dataset/coco:staging",
        "dataset/coco@sha256:ffffffffffff",
        "sha256:ffffffffffff",
        "run/01ARZ3NDEKTSV4RRFFQ69G5FAV",
    ],
)
def test_resolve_not_found(store: Store, catalogue: dict[str, Any], ref: str) -> None:
    with pytest.raises(NotFound):
        resolve(store, ref)


def test_resolve_not_found_names_latest_version(store: Store, catalogue: dict[str, Any]) -> None:
    with pytest.raises(NotFound, match=r"the latest is dataset/coco@v3"):
        resolve(store, "dataset/coco@v9")
    # a digest of another name is no version of this one
    with pytest.raises(NotFound):
        resolve(store, f"dataset/coco@{catalogue['twins'][0]}")


def test_resolve_ambiguous_prefix(store: Store, catalogue: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match="ambiguous"):
        resolve(store, "sha256:abcdef01")
    with pytest.raises(InvalidInput, match="ambiguous"):
        resolve(store, "model/twin@sha256:abcdef0100")
    # the twins differ only in their last hex digit: the full digest tells them apart
    assert resolve(store, catalogue["twins"][1]).digest == catalogue["twins"][1]  # type: ignore[union-attr]
    named = resolve(store, f"model/twin@{catalogue['twins'][0]}")
    assert named.version == 1  # type: ignore[union-attr]


# -- aliases, tags, metrics ------------------------------------------------------------------


def test_catalogue_reads(store: Store, catalogue: dict[str, Any]) -> None:
    run, twins, loose = catalogue["run"], catalogue["twins"], catalogue["unnamed"]
    coco = [resolve(store, f"dataset/coco@v{n}") for n in (1, 2, 3)]
    assert store.names("dataset") == ["coco"]
    assert store.names("model") == ["twin"]
    assert store.names("report") == []
    assert store.latest_versions() == [
        ("dataset", "coco", 3, blob("coco3"), 3),
        ("model", "twin", 2, twins[1], 2),
    ]
    assert store.latest_versions("dataset") == [("dataset", "coco", 3, blob("coco3"), 3)]
    assert store.latest_versions("file") == []  # unnamed artifacts have no versions
    assert [a.ref for a in store.artifacts()] == [
        "dataset/coco@v1",
        "dataset/coco@v2",
        "dataset/coco@v3",
        "model/twin@v1",
        "model/twin@v2",
        loose.digest,
    ]
    assert store.artifacts("dataset") == coco
    assert store.artifacts("file") == [loose]
    assert [(v, d) for v, d, _ in store.versions("model", "twin")] == [(1, twins[0]), (2, twins[1])]
    assert store.held_aliases() == [("dataset", "coco", "prod", 2, store.head()[0] - 2)]
    assert store.held_aliases("model") == []
    assert store.held_aliases("dataset", "voc") == []
    assert store.alias_holders("dataset", None) == [
        ("coco", "prod", blob("coco2"), store.head()[0] - 2)
    ]

    details = store.artifact_details(coco[1])  # type: ignore[arg-type]
    assert details["versions"] == ["dataset/coco@v1", "dataset/coco@v2", "dataset/coco@v3"]
    assert details["aliases"] == ["dataset/coco:prod"]
    assert details["same_content"] == []
    assert details["tags"] == {}
    assert store.artifact_details(loose)["versions"] == []

    assert store.labels([coco[0].node, run.ref, "agent/alice", loose.digest]) == {  # type: ignore[union-attr]
        coco[0].node: ("dataset/coco@v1", "dataset"),  # type: ignore[union-attr]
        run.ref: (run.ref, "run"),
        "agent/alice": ("agent/alice", "agent"),
        loose.digest: (loose.digest, "file"),
    }
    got = store.get_run(run.id)
    assert got == resolve(store, run.ref)
    assert store.run_details(run.id) == {
        "metrics": {},
        "metric_points": 0,
        "summary": {},
        "tags": {},
    }
    assert_healthy(store)


def test_the_same_bytes_under_two_names(store: Store) -> None:
    lin = Lineal(store)
    first = lin.record_artifact("dataset", data=b"same", name="coco")
    second = lin.record_artifact("dataset", data=b"same", name="voc")
    loose = lin.record_artifact("dataset", data=b"same")
    assert [a.ref for a in store.holders(first.digest)] == [
        "dataset/coco@v1",
        "dataset/voc@v1",
        first.digest,
    ]
    assert store.unnamed(first.digest) == loose
    assert store.artifact_details(first)["same_content"] == [
        "dataset/voc@v1",
        f"dataset {first.digest}",
    ]
    assert second.node != first.node
    assert store.version_of("dataset", "voc", first.digest) == 1
    assert store.holders(blob("never")) == []


def test_promotions_and_approvals(store: Store) -> None:
    lin = Lineal(store)
    v1 = lin.record_artifact("model", digest=blob("m1"), name="det")
    v2 = lin.record_artifact("model", digest=blob("m2"), name="det")
    # The checks a promotion records are those of the policy in force (see test_grants.py).
    store.append(
        PolicyApply(policies={"prod": {"metrics": {"mAP": {"min": 0.7}}, "lineage_complete": True}})
    )
    passed = {"check": "metric mAP", "passed": True, "detail": "0.8 >= 0.7", "fix": None}
    complete = {"check": "lineage complete", "passed": True, "detail": "all there", "fix": None}
    failed = {"check": "lineage complete", "passed": False, "detail": "no code", "fix": "add it"}
    first = store.append(
        ModelPromote(
            name="det",
            alias="prod",
            digest=v1.digest,
            reason="baseline",
            policy="prod",
            checks=(passed, complete),
        )
    )[0]
    approved = store.append(
        ModelApprove(name="det", alias="prod", digest=v2.digest, reason="looks good")
    )[0]
    second = store.append(
        ModelPromote(
            name="det",
            alias="prod",
            digest=v2.digest,
            reason="better",
            policy="prod",
            checks=(passed, failed),
            override=True,
        )
    )[0]
    promoted = store.promotions("det")
    assert [p["seq"] for p in promoted] == [first.seq, second.seq]
    assert promoted[0] == {
        "name": "det",
        "alias": "prod",
        "digest": v1.digest,
        "previous": None,
        "author": "alice",
        "reason": "baseline",
        "policy": "prod",
        "checks": [passed, complete],
        "override": False,
        "seq": first.seq,
    }
    assert (promoted[1]["previous"], promoted[1]["policy"], promoted[1]["override"]) == (
        v1.digest,
        "prod",
        True,
    )
    assert promoted[1]["checks"] == [passed, failed]
    assert store.promotions("det", as_of=second.seq - 1) == promoted[:1]
    assert store.promotions("other") == []
    assert store.approvals("det", v2.digest, "prod") == [("alice", "looks good", approved.seq)]
    assert store.approvals("det", v1.digest, "prod") == []
    # a promotion moves the alias as alias.set would, with its history
    assert resolve(store, "model/det:prod") == v2
    assert store.alias_holders("model", "det", first.seq) == [("det", "prod", v1.digest, first.seq)]
    assert store.held_aliases("model") == [("model", "det", "prod", 2, second.seq)]
    # a promotion or approval of no version of the name is refused, and changes nothing
    head = store.head()
    with pytest.raises(NotFound):
        store.append(ModelPromote(name="det", alias="dev", digest=blob("x"), reason="r"))
    with pytest.raises(NotFound):
        store.append(ModelApprove(name="cls", alias="prod", digest=v1.digest, reason="r"))
    assert store.head() == head
    assert_healthy(store)


def test_presence_says_what_exists_and_the_edges_of_some(store: Store) -> None:
    lin = Lineal(store)
    data = lin.record_artifact("dataset", digest=blob("p1"), name="pool")
    loose = lin.record_artifact("file", data=b"presence")
    run = lin.start_run("train")
    done = lin.start_run("eval")
    lin.finish_run(done, status="failed")
    used = lin.link("used", data, run)
    made = lin.link("generated", run, loose, role="out")
    lin.link("used", data, done)
    missing = "sha256:" + "0" * 64
    nodes = [data.node, loose.digest, run.ref, done.ref, "agent/alice", missing, "run/absent"]
    nodes += ["agent/nobody"]
    states, edges = store.presence(nodes)
    assert states == {
        data.node: "dataset",
        loose.digest: "file",
        run.ref: "running",
        done.ref: "failed",
        "agent/alice": "agent",
    }
    assert edges == []
    # the edges with an end among edges_of, each once, in recording order
    states, edges = store.presence([], edges_of=[run.ref, loose.digest, "run/absent"])
    assert states == {}
    assert edges == [used, made]
    assert store.presence([], edges_of=[]) == ({}, [])
    # past one statement's share of values: read in parts, the same answer
    many = [f"sha256:{n:064x}" for n in range(1, 1101)] + [data.node, run.ref]
    assert store.presence(many, edges_of=many)[0] == {data.node: "dataset", run.ref: "running"}
    # both at once, in one read
    assert store.presence([run.ref, missing], edges_of=[done.ref]) == (
        {run.ref: "running"},
        [store.edges(done.ref)[0]],
    )
