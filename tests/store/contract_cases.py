"""Writes every store must refuse, each with the error it raises: shared by the contract
(tests/store/test_contract_ledger.py) and the SQL projection checks. Protocol only.

A case makes what it needs through the client and returns the ops to refuse and the error.
"""

from __future__ import annotations

from collections.abc import Callable

from contract_helpers import T0, T1, blob, new_run_id, series

from lineal.client import Lineal
from lineal.errors import Conflict, InvalidInput, LinealError, NotFound
from lineal.model.ops import (
    AgentRegister,
    AliasSet,
    ArtifactRecord,
    EdgeRecord,
    MetricsBatch,
    Op,
    Redact,
    RunFinish,
    RunParams,
    RunStart,
    TagSet,
)

Case = Callable[[Lineal], tuple[list[Op], type[LinealError]]]


def _edge_to_unknown_child(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    known = lin.record_artifact("dataset", data=b"known")
    return [EdgeRecord(kind="derived_from", parent=known.digest, child=blob("ghost"))], NotFound


def _edge_from_unknown_run(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    known = lin.record_artifact("model", data=b"known")
    op = EdgeRecord(kind="generated", parent=f"run/{new_run_id()}", child=known.digest)
    return [op], NotFound


def _edge_from_unknown_agent(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    run = lin.start_run("train")
    return [EdgeRecord(kind="associated_with", parent="agent/mallory", child=run.ref)], NotFound


def _two_cycle(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    a = lin.record_artifact("dataset", data=b"a")
    b = lin.record_artifact("dataset", data=b"b")
    lin.link("derived_from", a, b)
    return [EdgeRecord(kind="derived_from", parent=b.digest, child=a.digest)], Conflict


def _long_cycle_across_kinds(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    a = lin.record_artifact("dataset", data=b"a")
    run = lin.start_run("train")
    model = lin.record_artifact("model", data=b"m")
    lin.link("used", a, run)
    lin.link("generated", run, model)
    return [EdgeRecord(kind="labeled_with", parent=model.digest, child=a.digest)], Conflict


def _cycle_within_one_batch(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    a = lin.record_artifact("dataset", data=b"a")
    run = lin.start_run("train")
    model = lin.record_artifact("model", data=b"m")
    return [
        EdgeRecord(kind="used", parent=a.digest, child=run.ref),
        EdgeRecord(kind="generated", parent=run.ref, child=model.digest),
        EdgeRecord(kind="labeled_with", parent=model.digest, child=a.digest),
    ], Conflict


def _unknown_node_after_good_edges(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    a = lin.record_artifact("dataset", data=b"a")
    run = lin.start_run("train")
    return [
        EdgeRecord(kind="used", parent=a.digest, child=run.ref),
        EdgeRecord(kind="used", parent="sha256:" + "e" * 64, child=run.ref),
    ], NotFound


def _finish_unknown_run(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    return [RunFinish(id=new_run_id(), status="finished", ended=T1)], NotFound


def _finish_twice(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    run = lin.finish_run(lin.start_run("train"), status="failed")
    return [RunFinish(id=run.id, status="finished", ended=T1)], Conflict


def _metrics_for_unknown_run(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    return [MetricsBatch(run=new_run_id(), series=(series("loss", [0], [1.0]),))], NotFound


def _metrics_going_back(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    run = lin.start_run("train")
    lin.log_metrics(run, {"loss": 1.0, "acc": 0.5}, step=5)
    # acc moves on, but loss starts below its latest step: the whole batch is refused
    op = MetricsBatch(
        run=run.id, series=(series("acc", [6], [0.6]), series("loss", [4, 7], [1, 2]))
    )
    return [op], Conflict


def _params_unknown_run(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    return [RunParams(id=new_run_id(), params={"lr": 0.1})], NotFound


def _params_set_twice(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    run = lin.start_run("train", params={"lr": 0.1})
    lin.store.append(RunParams(id=run.id, params={"split": "a"}))
    return [RunParams(id=run.id, params={"epochs": 3, "split": "b"})], Conflict


def _params_twice_in_one_batch(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    run = lin.start_run("train")
    ops: list[Op] = [
        RunParams(id=run.id, params={"split": "a"}),
        RunParams(id=run.id, params={"split": "a"}),
    ]
    return ops, Conflict


def _params_repeat_a_start_param(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    run = lin.start_run("train", params={"lr": 0.1})
    return [RunParams(id=run.id, params={"lr": 0.1})], Conflict


def _alias_to_other_names_version(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    lin.record_artifact("model", data=b"m1", name="det")
    other = lin.record_artifact("model", data=b"m2", name="cls")
    op = AliasSet(kind="model", name="det", alias="prod", digest=other.digest)
    return [op], NotFound


def _alias_under_other_kind(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    model = lin.record_artifact("model", data=b"m1", name="det")
    op = AliasSet(kind="dataset", name="det", alias="prod", digest=model.digest)
    return [op], NotFound


def _alias_to_unknown_digest(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    lin.record_artifact("model", data=b"m1", name="det")
    return [AliasSet(kind="model", name="det", alias="prod", digest=blob("ghost"))], NotFound


def _run_started_twice(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    run = lin.start_run("train")
    return [RunStart(id=run.id, name="again", started=T0)], Conflict


def _run_started_twice_in_one_batch(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    run_id = new_run_id()
    ops: list[Op] = [
        RunStart(id=run_id, name="one", started=T0),
        RunStart(id=run_id, name="two", started=T0),
    ]
    return ops, Conflict


def _digest_as_two_kinds_unnamed(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    lin.record_artifact("dataset", digest=blob("x"))
    return [ArtifactRecord(kind="config", digest=blob("x"))], Conflict


def _tag_unknown_node(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    return [TagSet(target=blob("ghost"), key="stage", value="x")], NotFound


def _tag_unknown_run(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    return [TagSet(target=f"run/{new_run_id()}", key="stage", value="x")], NotFound


def _redact_artifact_record(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    art = lin.record_artifact("dataset", data=b"a")
    assert art.seq is not None
    return [Redact(seq=art.seq, reason="erase")], InvalidInput


def _redact_agent_register(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    (alice,) = [r for r in lin.store.records(op="agent.register") if r.author == "alice"]
    return [Redact(seq=alice.seq, reason="erase")], InvalidInput


def _redact_twice(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    tag = lin.set_tag("agent/alice", "email", "alice@example.com")
    lin.redact(tag.seq, "gdpr")
    return [Redact(seq=tag.seq, reason="again")], Conflict


def _redact_a_later_record(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    head = lin.store.head()[0]
    return [Redact(seq=head + 5, reason="future")], InvalidInput


def _register_same_key_again(lin: Lineal) -> tuple[list[Op], type[LinealError]]:
    signer = lin.store.signer
    assert signer is not None
    return [AgentRegister(name="alice", public_key=signer.public_key)], Conflict


CASES: dict[str, Case] = {
    "edge-to-unknown-node": _edge_to_unknown_child,
    "edge-from-unknown-run": _edge_from_unknown_run,
    "edge-from-unknown-agent": _edge_from_unknown_agent,
    "cycle-a-b-a": _two_cycle,
    "cycle-through-a-run": _long_cycle_across_kinds,
    "cycle-within-one-batch": _cycle_within_one_batch,
    "unknown-node-after-good-edges": _unknown_node_after_good_edges,
    "finish-unknown-run": _finish_unknown_run,
    "finish-twice": _finish_twice,
    "metrics-unknown-run": _metrics_for_unknown_run,
    "metrics-going-back": _metrics_going_back,
    "params-unknown-run": _params_unknown_run,
    "params-set-twice": _params_set_twice,
    "params-twice-in-one-batch": _params_twice_in_one_batch,
    "params-repeat-a-start-param": _params_repeat_a_start_param,
    "alias-to-other-names-version": _alias_to_other_names_version,
    "alias-under-other-kind": _alias_under_other_kind,
    "alias-to-unknown-digest": _alias_to_unknown_digest,
    "run-start-same-id": _run_started_twice,
    "run-start-same-id-one-batch": _run_started_twice_in_one_batch,
    "digest-as-two-kinds-unnamed": _digest_as_two_kinds_unnamed,
    "tag-unknown-artifact": _tag_unknown_node,
    "tag-unknown-run": _tag_unknown_run,
    "redact-artifact-record": _redact_artifact_record,
    "redact-agent-register": _redact_agent_register,
    "redact-twice": _redact_twice,
    "redact-not-earlier": _redact_a_later_record,
    "register-same-key": _register_same_key_again,
}
