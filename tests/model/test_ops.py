"""lineal.model.ops and lineal.model.entities: payloads round-trip, bad ones are refused.

Every op in the vocabulary needs a sample here; a new op without one fails the first test.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from array import array
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineal.errors import InvalidInput
from lineal.model import canonical
from lineal.model.entities import EDGE_KINDS, Agent, Artifact, Edge, Run
from lineal.model.grants import PolicyApply, RoleGrant, RoleRevoke
from lineal.model.ops import (
    OPS,
    AgentRegister,
    AgentRevoke,
    AgentRotate,
    AliasSet,
    ArtifactRecord,
    EdgeRecord,
    MetricsBatch,
    ModelApprove,
    ModelPromote,
    Op,
    Redact,
    RunFinish,
    RunParams,
    RunStart,
    TagSet,
    op_from_payload,
)
from lineal.model.series import Series

D1 = "sha256:" + "a" * 64
D2 = "sha256:" + "b" * 64
ULID1 = "01JD3XQ4M5N6P7Q8R9S0T1V2W3"
ULID2 = "01JD3XQ4M5N6P7Q8R9S0T1V2W4"
KEY = "0f" * 32
T = "2026-11-25T11:37:31.000000Z"
NAN, INF = math.nan, math.inf
PACKED = Series("loss", array("q", [1]), array("d", [0.5]), array("d", [1.0])).packed()

SAMPLES: list[Op] = [
    AgentRegister(name="alice@example.com", public_key=KEY),
    AgentRotate(name="alice", previous=KEY, public_key="1e" * 32, certificate="ab" * 64),
    AgentRevoke(name="alice", public_key=KEY, reason="laptop stolen"),
    ArtifactRecord(kind="dataset", digest=D1),
    ArtifactRecord(
        kind="dataset",
        digest=D1,
        name="coco-synth",
        size=0,
        uri="s3://bucket/key",
        meta={"license": "CC-BY-4.0", "n": [1, 2.5, None, True], "é": {"nested": "ü"}},
    ),
    EdgeRecord(kind="used", parent=D1, child=f"run/{ULID1}", role="train"),
    EdgeRecord(kind="derived_from", parent=D1, child=D2),
    EdgeRecord(kind="associated_with", parent="agent/alice", child=f"run/{ULID1}"),
    RunStart(id=ULID1, name="train", started=T, params={"lr": 0.001, "epochs": 3}, meta={}),
    RunFinish(id=ULID1, status="finished", ended=T, summary={"acc": 0.9}),
    RunFinish(id=ULID1, status="failed", ended=T),
    MetricsBatch(
        run=ULID1,
        series=(
            Series("loss", array("q", [0, 1]), array("d", [0.5, NAN]), array("d", [1.5, 2.5])),
            Series("val/x:y", array("q", [2]), array("d", [-0.0]), array("d", [1e9])),
            Series("inf", array("q", [-5]), array("d", [INF]), array("d", [-INF])),
        ),
    ),
    RunParams(id=ULID1, params={"split.train": {"fraction": 0.8}, "n": 3}),
    RunFinish(id=ULID1, status="crashed", ended=T, error="killed by SIGKILL"),
    AliasSet(kind="model", name="detector", alias="production", digest=D1),
    AliasSet(kind="model", name="detector", alias="production", digest=None),
    TagSet(target=D1, key="team", value="vision"),
    TagSet(target=f"run/{ULID1}", key="team", value=None),
    Redact(seq=3, reason="erasure request"),
    ModelPromote(
        name="detector",
        alias="production",
        digest=D1,
        reason="beats v2",
        policy="production",
        checks=({"check": "metric mAP", "passed": False, "detail": "0.7", "fix": "train"},),
        override=True,
    ),
    ModelApprove(name="detector", alias="production", digest=D1, reason="reviewed"),
    RoleGrant(agent="bob", role="approver"),
    RoleRevoke(agent="bob", role="approver"),
    PolicyApply(
        protected=("production",),
        policies={"production": {"metrics": {"mAP": {"min": 0.8}}, "approvers": {"lead": 1}}},
    ),
]


def _id(op: Op) -> str:
    return op.OP


def test_every_op_has_a_sample() -> None:
    assert {op.OP for op in SAMPLES} == set(OPS)
    assert [cls.OP for cls in OPS.values()] == list(OPS)


@pytest.mark.parametrize("op", SAMPLES, ids=_id)
def test_payload_round_trips(op: Op) -> None:
    cls = type(op)
    assert cls.from_payload(op.payload()) == op


@pytest.mark.parametrize("op", SAMPLES, ids=_id)
def test_payload_round_trips_through_canonical_bytes(op: Op) -> None:
    data = canonical.encode(op.payload())
    rebuilt = op_from_payload(op.OP, canonical.decode(data))
    assert rebuilt == op
    assert canonical.encode(rebuilt.payload()) == data


@pytest.mark.parametrize("op", SAMPLES, ids=_id)
def test_payload_names_every_field(op: Op) -> None:
    assert set(op.payload()) == {f.name for f in dataclasses.fields(op)}  # type: ignore[arg-type]


@pytest.mark.parametrize("op", SAMPLES, ids=_id)
def test_unknown_keys_are_refused(op: Op) -> None:
    with pytest.raises(InvalidInput, match="unknown keys: bogus"):
        type(op).from_payload({**op.payload(), "bogus": 1})


def _required(cls: type[Op]) -> list[str]:
    return [
        f.name
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]


@pytest.mark.parametrize(
    ("cls", "key"),
    [(cls, key) for cls in OPS.values() for key in _required(cls)],
    ids=lambda v: v if isinstance(v, str) else v.OP,
)
def test_missing_keys_are_refused(cls: type[Op], key: str) -> None:
    sample = next(op for op in SAMPLES if type(op) is cls)
    payload = sample.payload()
    del payload[key]
    with pytest.raises(InvalidInput, match=key):
        cls.from_payload(payload)


@pytest.mark.parametrize("payload", [[], "x", None, 1, {1: "x"}])
def test_non_object_payloads_are_refused(payload: Any) -> None:
    with pytest.raises(InvalidInput, match="object with string keys"):
        RunStart.from_payload(payload)


BAD_VALUES: list[tuple[type[Op], dict[str, Any]]] = [
    (AgentRegister, {"name": ""}),
    (AgentRegister, {"name": "has space"}),
    (AgentRegister, {"public_key": "xyz"}),
    (AgentRegister, {"public_key": "0F" * 32}),
    (AgentRegister, {"public_key": 5}),
    (ArtifactRecord, {"kind": "run"}),
    (ArtifactRecord, {"kind": "Dataset"}),
    (ArtifactRecord, {"digest": "sha256:abc"}),
    (ArtifactRecord, {"digest": "md5:" + "a" * 32}),
    (ArtifactRecord, {"name": "-x"}),
    (ArtifactRecord, {"size": -1}),
    (ArtifactRecord, {"size": True}),
    (ArtifactRecord, {"size": 1.5}),
    (ArtifactRecord, {"uri": 5}),
    (ArtifactRecord, {"meta": []}),
    (ArtifactRecord, {"meta": "x"}),
    (EdgeRecord, {"kind": "bogus"}),
    (EdgeRecord, {"kind": ["used"]}),
    (EdgeRecord, {"parent": "sha256:abc"}),
    (EdgeRecord, {"child": D1}),
    (EdgeRecord, {"role": "has space"}),
    (EdgeRecord, {"parent": f"run/{ULID1}", "child": f"run/{ULID1}"}),
    (RunStart, {"id": ULID1.lower()}),
    (RunStart, {"name": ""}),
    (RunStart, {"started": "yesterday"}),
    (RunStart, {"started": 1}),
    (RunStart, {"params": []}),
    (RunStart, {"meta": None}),
    (RunFinish, {"status": "running"}),
    (RunFinish, {"status": "done"}),
    (RunFinish, {"ended": "2026-11-25"}),
    (RunFinish, {"summary": [1]}),
    (MetricsBatch, {"run": "x"}),
    (MetricsBatch, {"series": []}),
    (MetricsBatch, {"series": "abcd"}),
    (MetricsBatch, {"series": [{"key": "loss", "n": 1, "steps": "AAAAAAAAAAA="}]}),
    (MetricsBatch, {"series": [dict(PACKED, key="")]}),
    (MetricsBatch, {"series": [dict(PACKED, key=5)]}),
    (MetricsBatch, {"series": [dict(PACKED, n=2)]}),
    (MetricsBatch, {"series": [dict(PACKED, n=0)]}),
    (MetricsBatch, {"series": [dict(PACKED, n=True)]}),
    (MetricsBatch, {"series": [dict(PACKED, values="not base64!")]}),
    (MetricsBatch, {"series": [dict(PACKED, times=5)]}),
    (MetricsBatch, {"series": [PACKED, PACKED]}),
    (MetricsBatch, {"series": [5]}),
    (RunParams, {"params": {}}),
    (RunParams, {"params": []}),
    (RunParams, {"id": "x"}),
    (RunFinish, {"error": 5}),
    (AliasSet, {"kind": "run"}),
    (AliasSet, {"name": "a b"}),
    (AliasSet, {"alias": "v3"}),
    (AliasSet, {"alias": "latest"}),
    (AliasSet, {"alias": "1prod"}),
    (AliasSet, {"alias": None}),
    (AliasSet, {"digest": "sha256:abc"}),
    (TagSet, {"target": "dataset/x"}),
    (TagSet, {"key": ""}),
    (TagSet, {"key": "a b"}),
    (TagSet, {"value": 5}),
    (Redact, {"seq": 0}),
    (Redact, {"seq": True}),
    (Redact, {"seq": "3"}),
    (Redact, {"reason": "   "}),
    (Redact, {"reason": None}),
]


@pytest.mark.parametrize(
    ("cls", "change"), BAD_VALUES, ids=[f"{c.OP}-{'-'.join(v)}" for c, v in BAD_VALUES]
)
def test_bad_values_are_refused(cls: type[Op], change: dict[str, Any]) -> None:
    sample = next(op for op in SAMPLES if type(op) is cls)
    payload = {**sample.payload(), **change}
    with pytest.raises(InvalidInput) as caught:
        cls.from_payload(payload)
    # A bad value is reported as a bad value, never as a payload with keys missing.
    assert "incomplete" not in str(caught.value)
    with pytest.raises(InvalidInput):
        cls(**payload)


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)


@given(st.sampled_from(SAMPLES), st.data())
def test_any_json_field_value_is_accepted_or_refused_with_invalid_input(
    sample: Op, data: st.DataObject
) -> None:
    payload = sample.payload()
    key = data.draw(st.sampled_from(sorted(payload)))
    payload[key] = data.draw(json_values)
    try:
        op = type(sample).from_payload(payload)
    except InvalidInput as exc:
        message = str(exc)
    else:
        assert type(op) is type(sample)
        return
    # A wrong type is reported as a bad value, not as a TypeError dressed up as a missing key.
    assert "incomplete" not in message


def test_unknown_op_lists_the_vocabulary() -> None:
    with pytest.raises(InvalidInput) as caught:
        op_from_payload("artifact.delete", {})
    message = str(caught.value)
    assert "'artifact.delete'" in message
    for name in OPS:
        assert name in message


def test_only_leaves_are_redactable() -> None:
    assert {name for name, cls in OPS.items() if cls.REDACTABLE} == {"metrics.batch", "tag.set"}


# --- Edges ------------------------------------------------------------------------------------

NODES = {
    "artifact": (D1, D2),
    "run": (f"run/{ULID1}", f"run/{ULID2}"),
    "agent": ("agent/alice", "agent/bob@example.com"),
}


@pytest.mark.parametrize(
    ("kind", "parent_type", "child_type"),
    list(itertools.product(EDGE_KINDS, NODES, NODES)),
)
def test_edge_kinds_enforce_endpoint_types(kind: str, parent_type: str, child_type: str) -> None:
    parent, child = NODES[parent_type][0], NODES[child_type][1]
    if EDGE_KINDS[kind] == (parent_type, child_type):
        edge = Edge(kind=kind, parent=parent, child=child)
        assert EdgeRecord.from_payload({"kind": kind, "parent": parent, "child": child}) == (
            EdgeRecord(kind=kind, parent=edge.parent, child=edge.child)
        )
    else:
        with pytest.raises(InvalidInput, match=f"a '{kind}' edge joins a"):
            Edge(kind=kind, parent=parent, child=child)
        with pytest.raises(InvalidInput, match=f"a '{kind}' edge joins a"):
            EdgeRecord(kind=kind, parent=parent, child=child)


def test_edge_kinds_are_as_documented() -> None:
    assert EDGE_KINDS == {
        "used": ("artifact", "run"),
        "generated": ("run", "artifact"),
        "derived_from": ("artifact", "artifact"),
        "labeled_with": ("artifact", "artifact"),
        "rendered_from": ("artifact", "artifact"),
        "informed_by": ("run", "run"),
        "associated_with": ("agent", "run"),
    }


@pytest.mark.parametrize("kind", ["derived_from", "informed_by"])
def test_an_edge_cannot_join_a_node_to_itself(kind: str) -> None:
    node = NODES[EDGE_KINDS[kind][0]][0]
    with pytest.raises(InvalidInput, match="to itself"):
        Edge(kind=kind, parent=node, child=node)


@pytest.mark.parametrize(
    "node", ["sha256:abc", "run/x", "agent/", "agent/-x", "dataset/x", "", "SHA256:" + "a" * 64]
)
def test_bad_nodes_are_refused(node: str) -> None:
    with pytest.raises(InvalidInput, match="bad node"):
        Edge(kind="used", parent=node, child=f"run/{ULID1}")


# --- Entities ---------------------------------------------------------------------------------

ENTITIES: list[Any] = [
    Artifact(kind="dataset", digest=D1, name="coco", version=2, size=10, meta={"a": 1}),
    Run(id=ULID1, name="train", params={"lr": 0.1}),
    Agent(name="alice", public_key=KEY),
    Edge(kind="used", parent=D1, child=f"run/{ULID1}", role="train"),
]
ENTITY_IDS = [type(e).__name__ for e in ENTITIES]
FROZEN_TYPES = [type(e) for e in ENTITIES] + list(OPS.values())


@pytest.mark.parametrize("entity", ENTITIES, ids=ENTITY_IDS)
def test_entities_are_frozen(entity: Any) -> None:
    first = dataclasses.fields(entity)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(entity, first, getattr(entity, first))
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(entity, first)


@pytest.mark.parametrize("entity", ENTITIES + SAMPLES, ids=ENTITY_IDS + [_id(op) for op in SAMPLES])
def test_entities_and_ops_are_slotted(entity: Any) -> None:
    assert "__slots__" in type(entity).__dict__
    assert not hasattr(entity, "__dict__")
    with pytest.raises((dataclasses.FrozenInstanceError, AttributeError, TypeError)):
        entity.not_a_field = 1


@pytest.mark.parametrize("cls", FROZEN_TYPES, ids=lambda c: c.__name__)
def test_entities_and_ops_are_frozen_keyword_only_dataclasses(cls: type) -> None:
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    assert params.frozen
    assert all(f.kw_only for f in dataclasses.fields(cls))


@pytest.mark.parametrize("entity", ENTITIES, ids=ENTITY_IDS)
def test_entities_refuse_positional_arguments(entity: Any) -> None:
    values = [getattr(entity, f.name) for f in dataclasses.fields(entity)]
    with pytest.raises(TypeError):
        type(entity)(*values)


@pytest.mark.parametrize(
    ("cls", "fields"),
    [
        (Artifact, {"kind": "run", "digest": D1}),
        (Artifact, {"kind": "dataset", "digest": "sha256:abc"}),
        (Artifact, {"kind": "dataset", "digest": D1, "name": "a/b"}),
        (Artifact, {"kind": "dataset", "digest": D1, "size": -1}),
        (Artifact, {"kind": "dataset", "digest": D1, "size": True}),
        (Artifact, {"kind": "dataset", "digest": D1, "size": "10"}),
        (Run, {"id": "not-a-ulid", "name": "train"}),
        (Run, {"id": ULID1, "name": ""}),
        (Run, {"id": ULID1, "name": "train", "status": "paused"}),
        (Run, {"id": ULID1, "name": "train", "status": ["running"]}),
        (Agent, {"name": "", "public_key": KEY}),
        (Agent, {"name": "alice", "public_key": KEY[:-1]}),
        (Agent, {"name": "alice", "public_key": KEY.upper()}),
        (Agent, {"name": "alice", "public_key": None}),
        (Edge, {"kind": "uses", "parent": D1, "child": f"run/{ULID1}"}),
        (Edge, {"kind": None, "parent": D1, "child": f"run/{ULID1}"}),
        (Edge, {"kind": "used", "parent": D1, "child": f"run/{ULID1}", "role": ""}),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else "-".join(f"{k}" for k in v),
)
def test_entities_validate_on_construction(cls: type, fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        cls(**fields)


@pytest.mark.parametrize("op", SAMPLES, ids=_id)
def test_encode_is_the_canonical_encoding_of_the_payload(op: Op) -> None:
    # MetricsBatch writes its bytes by hand for speed; they must be exactly canonical.
    assert op.encode() == canonical.encode(op.payload())


def test_metric_batches_keep_nan_and_infinities_exactly() -> None:
    sample = next(op for op in SAMPLES if isinstance(op, MetricsBatch))
    back = MetricsBatch.from_payload(canonical.decode(sample.encode()))
    loss, _, inf = back.series
    assert math.isnan(loss.values[1])
    assert list(inf.values) == [INF]
    assert list(inf.times) == [-INF]
    assert list(inf.steps) == [-5]
    assert math.copysign(1.0, back.series[1].values[0]) == -1.0  # -0.0 stays negative


def _ordered(key: str, steps: list[int]) -> Series:
    n = len(steps)
    return Series(key, array("q", steps), array("d", [0.0] * n), array("d", [0.0] * n), True)


def test_a_series_known_ordered_stays_so_only_while_it_is() -> None:
    run = "01JD3XQ4M0000000000000000A"
    kept = _ordered("loss", [1, 2])
    kept.extend(_ordered("loss", [2, 5]))
    assert kept.ordered
    MetricsBatch(run=run, series=(kept,))
    broken = _ordered("loss", [1, 7])
    broken.extend(_ordered("loss", [3, 4]))  # in order each, not together
    assert not broken.ordered
    with pytest.raises(InvalidInput, match="steps go back"):
        MetricsBatch(run=run, series=(broken,))
    unknown = Series("loss", array("q", [2, 1]), array("d", [0.0, 0.0]), array("d", [0.0, 0.0]))
    unknown.extend(_ordered("loss", [3]))
    with pytest.raises(InvalidInput, match="steps go back"):
        MetricsBatch(run=run, series=(unknown,))


@pytest.mark.parametrize(
    ("changes", "what"),
    [
        ({"public_key": KEY}, "needs a new key"),
        ({"certificate": "ab" * 63}, "bad rotation certificate"),
        ({"certificate": "AB" * 64}, "bad rotation certificate"),
        ({"previous": "xy"}, "bad public key"),
        ({"name": "bad name"}, "agent name"),
    ],
)
def test_a_rotation_checks_its_fields(changes: dict[str, str], what: str) -> None:
    fields = {"name": "alice", "previous": KEY, "public_key": "1e" * 32, "certificate": "ab" * 64}
    with pytest.raises(InvalidInput, match=what):
        AgentRotate(**{**fields, **changes})


def test_a_revocation_needs_a_reason() -> None:
    with pytest.raises(InvalidInput, match="needs a reason"):
        AgentRevoke(name="alice", public_key=KEY, reason=" ")


def test_the_rotation_message_is_kept_apart_from_every_other_signed_message() -> None:
    from lineal.ledger.chain import batch_message, commit_message
    from lineal.model.agent_ops import rotation_message

    message = rotation_message("alice", KEY, "1e" * 32)
    assert message.startswith(b"lineal-agent-rotate/1\n")
    for other in (commit_message(1, KEY), commit_message(1, KEY, 0), batch_message(D1)):
        assert not other.startswith(b"lineal-agent-rotate")
    assert rotation_message("bob", KEY, "1e" * 32) != message
