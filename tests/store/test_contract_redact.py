"""The Store contract, redaction: an erased tag or metrics batch leaves the chain whole and
every answer as if it had never been written; what may not be erased is refused.

Runs on every backend of the ``store`` fixture (tests/conftest.py) through the Store protocol
alone; the store starts with alice's ``agent.register`` (record ``origin.seq(1)``).
"""

from __future__ import annotations

import math

import pytest
from contract_helpers import assert_healthy, latest, points, series, state

from lineal.client import Lineal
from lineal.errors import Conflict, InvalidInput
from lineal.model import canonical
from lineal.model.ops import MetricsBatch, Redact, TagSet
from lineal.store.base import Store


def test_redact_tag_set(store: Store) -> None:
    lin = Lineal(store)
    art = lin.record_artifact("dataset", data=b"a")
    public = lin.set_tag(art, "owner", "team-a")
    secret_value = "jane.doe@example.com"
    secret = lin.set_tag(art, "owner", secret_value)
    other = lin.set_tag(art, "stage", "raw")
    redaction = lin.redact(secret.seq, "gdpr erasure")

    stored = {r.seq: r for r in store.records()}
    assert stored[secret.seq].payload is None
    assert stored[secret.seq].hash == secret.hash  # the chain is untouched
    assert stored[secret.seq].payload_digest == secret.payload_digest
    assert stored[public.seq].payload is not None
    assert [(r.seq, canonical.decode(r.payload or b"")) for r in store.records(op="redact")] == [
        (redaction.seq, {"seq": secret.seq, "reason": "gdpr erasure", "subject": art.node})
    ]
    # the tag's history is re-derived without the erased value: the earlier one holds again
    assert store.tags(art.digest) == {"owner": "team-a", "stage": "raw"}
    assert store.artifact_details(art)["tags"] == {"owner": "team-a", "stage": "raw"}
    assert store.tag_values_beside("stage", where_key="owner", where_value="team-a") == ["raw"]
    assert store.tag_values_beside("stage", where_key="owner", where_value=secret_value) == []
    assert other.seq > public.seq
    log = {entry["seq"]: entry for entry in lin.log()}
    assert log[secret.seq]["redacted"] is True
    assert log[secret.seq]["payload"] is None

    report = store.verify()
    assert report.ok, report.problem
    assert report.redacted == 1


def test_redact_metrics_batch(store: Store) -> None:
    lin = Lineal(store)
    run = lin.start_run("train")
    kept = lin.log_metrics(run, {"loss": 1.0, "acc": 0.5}, step=0)
    erased = lin.log_metrics(run, {"loss": 0.5, "acc": 0.75}, step=1)
    lin.redact(erased.seq, "retention")

    assert next(store.records(after=erased.seq - 1)).payload is None
    assert kept.seq < erased.seq
    assert points(store, run.id) == {"acc": ([0], [0.5]), "loss": ([0], [1.0])}
    assert latest(store, run.id) == {"acc": (0.5, 0), "loss": (1.0, 0)}
    assert store.run_details(run.id)["metrics"] == {
        "acc": {"step": 0, "value": 0.5},
        "loss": {"step": 0, "value": 1.0},
    }
    assert store.run_details(run.id)["metric_points"] == 2
    report = store.verify()
    assert report.ok, report.problem
    assert report.redacted == 1


def test_redacting_the_latest_batch_rebuilds_run_metrics(store: Store) -> None:
    lin = Lineal(store)
    run = lin.start_run("train")
    other = lin.start_run("other")
    early = store.append(
        MetricsBatch(
            run=run.id,
            series=(series("loss", [0, 1, 2], [3.0, 2.0, 1.5]), series("acc", [0, 2], [0.1, 0.2])),
        )
    )[0]
    lin.log_metrics(other, {"loss": 9.0}, step=7)
    newest = store.append(
        MetricsBatch(
            run=run.id,
            series=(series("loss", [3, 4], [1.0, 0.75]), series("lr", [3], [0.01])),
        )
    )[0]
    assert latest(store, run.id) == {"acc": (0.2, 2), "loss": (0.75, 4), "lr": (0.01, 3)}
    assert store.run_details(run.id)["metric_points"] == 8

    lin.redact(newest.seq, "retention")
    # loss falls back to the earlier batch's last point; lr was only in the erased batch
    assert latest(store, run.id) == {"acc": (0.2, 2), "loss": (1.5, 2)}
    assert points(store, run.id) == {
        "acc": ([0, 2], [0.1, 0.2]),
        "loss": ([0, 1, 2], [3.0, 2.0, 1.5]),
    }
    assert early.seq < newest.seq
    assert latest(store, other.id) == {"loss": (9.0, 7)}
    assert points(store, other.id) == {"loss": ([7], [9.0])}
    details = store.run_details(run.id)
    assert details["metrics"] == {
        "acc": {"step": 2, "value": 0.2},
        "loss": {"step": 2, "value": 1.5},
    }
    assert details["metric_points"] == 5
    assert_healthy(store)

    # the erased steps are free again: steps now go on from the earlier batch's
    lin.log_metrics(run, {"loss": 1.25}, step=3)
    assert latest(store, run.id)["loss"] == (1.25, 3)
    assert points(store, run.id)["loss"] == ([0, 1, 2, 3], [3.0, 2.0, 1.5, 1.25])
    with pytest.raises(Conflict, match="goes back"):
        lin.log_metrics(run, {"loss": 1.0}, step=2)
    report = store.verify()
    assert report.ok, report.problem
    assert report.redacted == 1


def test_redacting_a_late_batch_restores_the_summary(store: Store) -> None:
    lin = Lineal(store)
    run = lin.start_run("train")
    lin.log_metrics(run, {"loss": 1.0, "acc": 0.5}, step=0)
    lin.finish_run(run, summary={"loss": 0.5, "best": "inf"})
    late = lin.log_metrics(run, {"loss": 0.25}, step=1)
    assert latest(store, run.id)["loss"] == (0.25, 1)

    lin.redact(late.seq, "late flush of a wrong value")
    assert latest(store, run.id) == {"acc": (0.5, 0), "best": (math.inf, None), "loss": (0.5, None)}
    assert points(store, run.id) == {"acc": ([0], [0.5]), "loss": ([0], [1.0])}
    assert store.run_details(run.id)["metric_points"] == 2
    report = store.verify()
    assert report.ok, report.problem
    assert report.redacted == 1


def test_redact_in_the_same_transaction_as_its_target(store: Store) -> None:
    lin = Lineal(store)
    run = lin.start_run("train")
    with lin.atomic():
        batch = lin.log_metrics(run, {"loss": 1.0}, step=0)
        tag = lin.set_tag(run, "secret", "s3cr3t")
        lin.redact(batch.seq, "oops")
        lin.redact(tag.seq, "oops")
    assert store.metric_series(run.id) == {}
    assert store.run_details(run.id)["metric_points"] == 0
    assert store.run_details(run.id)["metrics"] == {}
    assert store.tags(f"run/{run.id}") == {}
    report = store.verify()
    assert report.ok, report.problem
    assert report.redacted == 2


def test_redact_then_set_the_same_tag_in_one_append(store: Store) -> None:
    lin = Lineal(store)
    secret = lin.set_tag("agent/alice", "owner", "jane.doe@example.com")
    written = store.append(
        [
            Redact(seq=secret.seq, reason="gdpr"),
            TagSet(target="agent/alice", key="owner", value="team-a"),
        ]
    )
    assert [r.seq for r in written] == [secret.seq + 1, secret.seq + 2]
    assert store.tags("agent/alice") == {"owner": "team-a"}
    assert store.tag_values_beside("owner", where_key="owner", where_value="team-a") == ["team-a"]
    assert_healthy(store)


def test_redacting_an_artifact_record_is_refused(store: Store) -> None:
    lin = Lineal(store)
    art = lin.record_artifact("dataset", data=b"a", name="ds")
    assert art.seq is not None
    before = state(store)
    with pytest.raises(InvalidInput, match=r"artifact\.record"):
        lin.redact(art.seq, "please")
    assert state(store) == before
    assert_healthy(store)
