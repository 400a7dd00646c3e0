"""The Store contract, what was erased: ``redactions`` says which record, about what, when, by
whom and why; ``erasable`` lists what may still go; retention rules erase old runs' payloads
unless a model version depends on them, once.

Runs on every backend of the ``store`` fixture (tests/conftest.py) through the Store protocol
alone; the store starts with alice's ``agent.register``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from contract_helpers import assert_healthy, state

from lineal import redaction, retention
from lineal.client import Lineal
from lineal.errors import Conflict, InvalidInput, PermissionDenied
from lineal.ledger.keys import Signer
from lineal.model.ops import AgentRegister, Redact
from lineal.store.base import Store


@pytest.fixture
def admin(store: Store) -> Lineal:
    """A client whose agent, alice, holds the admin role: the store's first agent."""
    return Lineal(store)


def test_redactions_name_record_subject_author_and_reason(store: Store) -> None:
    lin = Lineal(store)
    run = lin.start_run("train")
    kept = lin.log_metrics(run, {"loss": 1.0}, step=0)
    batch = lin.log_metrics(run, {"loss": 0.5}, step=1)
    tag = lin.set_tag(run, "owner", "jane.doe@example.com")
    art = lin.record_artifact("dataset", data=b"a", name="faces")
    other = lin.set_tag(art, "contact", "jane@example.com")
    node = f"run/{run.id}"
    assert store.erasable([node]) == [
        (kept.seq, "metrics.batch", node),
        (batch.seq, "metrics.batch", node),
        (tag.seq, "tag.set", node),
    ]
    assert store.erasable([art.node]) == [(other.seq, "tag.set", art.node)]

    first = lin.redact(batch.seq, "wrong values")
    second = lin.redact(tag.seq, "gdpr request 17")
    found = store.redactions(node)
    assert [(r["seq"], r["op"], r["subject"], r["by_seq"], r["author"], r["reason"])
            for r in found] == [
        (batch.seq, "metrics.batch", node, first.seq, "alice", "wrong values"),
        (tag.seq, "tag.set", node, second.seq, "alice", "gdpr request 17"),
    ]  # fmt: skip
    assert [r["time"] for r in found] == [first.time, second.time]
    assert store.redactions(art.node) == []
    assert [r["seq"] for r in store.redactions()] == [batch.seq, tag.seq]
    # what went is not erasable again; what stays still is
    assert store.erasable([node, art.node]) == [
        (kept.seq, "metrics.batch", node),
        (other.seq, "tag.set", art.node),
    ]
    shown = lin.show(node)["redactions"]
    assert [r["seq"] for r in shown] == [batch.seq, tag.seq]
    log = {entry["seq"]: entry for entry in lin.log()}
    assert log[tag.seq]["redaction"]["reason"] == "gdpr request 17"
    assert log[kept.seq]["payload"] is not None
    assert "redaction" not in log[kept.seq]
    report = store.verify()  # a replay gives the same subjects: the redact records hold them
    assert report.ok, report.problem
    assert report.redacted == 2


def test_a_redaction_about_another_subject_is_refused(store: Store) -> None:
    lin = Lineal(store)
    run, other = lin.start_run("train"), lin.start_run("other")
    batch = lin.log_metrics(run, {"loss": 1.0}, step=0)
    before = state(store)
    with pytest.raises(InvalidInput, match="is about run/"):
        store.append(Redact(seq=batch.seq, reason="x", subject=f"run/{other.id}"))
    assert state(store) == before
    assert_healthy(store)


def test_redaction_service_plans_and_erases_a_run(admin: Lineal, store: Store) -> None:
    run = admin.start_run("train")
    admin.log_metrics(run, {"loss": 1.0}, step=0)
    tag = admin.set_tag(run, "owner", "jane")
    planned = redaction.plan(admin, f"run/{run.id}", "gdpr", only="tags")
    assert [(one.seq, one.op) for one in planned.erase] == [(tag.seq, "tag.set")]
    (done,) = redaction.apply(admin, [planned])
    assert done.applied
    assert [one.by_seq for one in done.erase] == [tag.seq + 1]
    assert store.tags(f"run/{run.id}") == {}
    with pytest.raises(Conflict, match="already redacted by alice"):
        redaction.plan(admin, str(tag.seq), "again")
    with pytest.raises(InvalidInput, match=r"\(agent\.register\) is one later records"):
        redaction.plan(admin, "1", "no")
    with pytest.raises(InvalidInput, match="bad --only"):
        redaction.plan(admin, f"run/{run.id}", "x", only="params")
    assert redaction.plan(admin, f"run/{run.id}", "x", only="tags").erase == ()
    mine = admin.set_tag("agent/alice", "email", "alice@example.com")
    planned = redaction.plan(admin, "agent/alice", "gdpr")
    assert [(one.seq, one.subject) for one in planned.erase] == [(mine.seq, "agent/alice")]


def test_only_an_admin_may_redact(store: Store, reopen: Callable[[Signer], Store]) -> None:
    lin = Lineal(store)
    run = lin.start_run("train")
    tag = lin.set_tag(f"run/{run.id}", "email", "bob@example.com")
    bob = Signer.generate("bob")
    store.append(AgentRegister(name="bob", public_key=bob.public_key))  # no role
    as_bob = reopen(bob)
    try:
        by_bob = Lineal(as_bob)
        planned = redaction.plan(by_bob, f"run/{run.id}", "x")
        before = state(store)
        with pytest.raises(PermissionDenied, match="only the admin role"):
            redaction.apply(by_bob, [planned])
        with pytest.raises(PermissionDenied, match="only the admin role"):
            retention.apply(by_bob, [retention.Rule("r", "metrics", "1d")])
        # the store refuses it too, whoever bypasses the service
        with pytest.raises(PermissionDenied, match="needs role admin"):
            as_bob.append(Redact(seq=tag.seq, reason="x"))
        assert state(store) == before
    finally:
        as_bob.close()


def _rules(text: str) -> tuple[retention.Rule, ...]:
    import tomllib

    return retention.parse(tomllib.loads(text))


def test_retention_erases_old_metrics_unless_a_model_depends_on_them(
    admin: Lineal, store: Store
) -> None:
    feeds_model, feeds_alias, loose = (admin.start_run(n) for n in ("a", "b", "c"))
    for run in (feeds_model, feeds_alias, loose):
        admin.log_metrics(run, {"loss": 1.0}, step=0)
        admin.log_metrics(run, {"loss": 0.5}, step=1)
        admin.set_tag(run, "owner", "jane")
    model = admin.record_artifact("model", data=b"m1", name="net")
    admin.link("generated", feeds_model, model)
    held = admin.record_artifact("model", data=b"m2", name="best")
    admin.link("generated", feeds_alias, held)
    admin.set_alias("model/best@v1", "staging")
    later = datetime.now(UTC) + timedelta(days=100)
    rules = _rules(
        '[[retention]]\nname = "metrics"\nkind = "metrics"\nolder_than = "90d"\n'
        'unless = "registered"\n'
    )

    # not yet 90 days old: nothing
    assert retention.apply(admin, rules, dry_run=True).erased == 0
    dry = retention.apply(admin, rules, dry_run=True, now=later)
    assert dry.dry_run
    (outcome,) = dry.rules
    assert outcome.runs == (f"run/{loose.id}",)
    assert set(outcome.kept) == {f"run/{feeds_model.id}", f"run/{feeds_alias.id}"}
    assert [one.op for one in outcome.erase] == ["metrics.batch", "metrics.batch"]
    assert store.redactions() == []  # a dry run writes nothing

    done = retention.apply(admin, rules, now=later)
    assert done.erased == 2
    assert store.metric_series(loose.id) == {}
    assert store.metric_series(feeds_model.id)["loss"].values.tolist() == [1.0, 0.5]
    assert store.tags(f"run/{loose.id}") == {"owner": "jane"}  # the rule's kind only
    reasons = {r["reason"] for r in store.redactions(f"run/{loose.id}")}
    assert reasons == {"retention rule metrics: metrics of runs older than 90d, unless registered"}
    # idempotent: what went is gone, a second apply erases nothing
    assert retention.apply(admin, rules, now=later).erased == 0

    # "aliased" keeps only runs upstream of a model version holding an alias
    aliased = _rules(
        '[[retention]]\nname = "tags"\nkind = "tags"\nolder_than = "1w"\nunless = "aliased"\n'
    )
    done = retention.apply(admin, aliased, now=later)
    assert sorted(one.subject for one in done.rules[0].erase) == sorted(
        [f"run/{feeds_model.id}", f"run/{loose.id}"]
    )
    assert store.tags(f"run/{feeds_alias.id}") == {"owner": "jane"}
    report = store.verify()
    assert report.ok, report.problem
    assert report.redacted == 4
