"""A policy's ``deny_classifications``: a promotion of a model with a denied classification
upstream is refused with a one-line reason naming the tagged ancestor; `lineal verify` holds
every promotion to the tags as they stood at its seq, and refuses a forged one."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineal.client import Lineal
from lineal.errors import InvalidInput, PermissionDenied
from lineal.model.entities import Artifact
from lineal.model.grants import PolicyApply
from lineal.model.ops import EdgeRecord, ModelPromote
from lineal.registry.grants import apply
from lineal.registry.promote import PolicyRefused, check_version, promote
from lineal.settings import parse
from lineal.store.base import Store

POLICY = """
[policy.production]
deny_classifications = ["PII", "restricted"]
"""


def _model(repo: Lineal, raw: Artifact, content: bytes) -> Artifact:
    """raw -> ingest -> clean -> train -> model/det (a new version)."""
    ingest = repo.start_run("ingest")
    clean = repo.record_artifact("dataset", data=b"clean " + content, name="clean")
    train = repo.start_run("train")
    model = repo.record_artifact("model", data=content, name="det")
    repo.link("used", raw, ingest, role="input")
    repo.link("generated", ingest, clean)
    repo.link("used", clean, train, role="train")
    repo.link("generated", train, model)
    return model


def _forged(model: Artifact) -> ModelPromote:
    """A promotion to production that says its classifications check passed."""
    return ModelPromote(
        name="det",
        alias="production",
        digest=model.digest,
        reason="claims to pass",
        policy="production",
        checks=({"check": "classifications", "passed": True, "detail": "", "fix": None},),
        override=False,
    )


@pytest.fixture
def repo(ws: Path) -> Lineal:
    (ws / "lineal.toml").write_text(POLICY)
    with Lineal.open(path=ws) as opened:
        apply(opened)
        yield opened  # type: ignore[misc]


def test_a_denied_classification_upstream_refuses_the_promotion(repo: Lineal) -> None:
    raw = repo.record_artifact("dataset", data=b"faces", name="raw")
    _model(repo, raw, b"v1")
    done = promote(repo, "det@v1", "production", "clean data")
    assert [(c["check"], c["passed"]) for c in done["checks"]] == [("classifications", True)]
    assert done["checks"][0]["detail"] == "nothing upstream is classified pii or restricted"

    repo.set_tag(raw, "classification", "pii")  # later: reaches v1 too, recorded before it
    _model(repo, raw, b"v2")
    head = repo.store.head()
    with pytest.raises(PolicyRefused) as caught:
        promote(repo, "det@v2", "production", "ship it")
    assert repo.store.head() == head  # nothing written
    message = str(caught.value)
    assert "\n" not in message
    assert "classifications: model/det@v2 carries pii from dataset/raw@v1 (4 edges up)" in message
    assert "lineal tag dataset/raw@v1 --unset classification" in (caught.value.hint or "")
    (now,) = check_version(repo, "det@v1", "production")
    assert now["passed"] is False  # the tag reaches what was promoted before it

    # An admin may still override; the record says the check failed, and verify holds:
    # each promotion against the tags of its own seq.
    forced = promote(repo, "det@v2", "production", "legal cleared it", override=True)
    assert forced["override"] is True
    repo.set_tag(raw, "classification", None)
    again = promote(repo, "det@v1", "production", "tag withdrawn")
    assert again["checks"][0]["passed"] is True
    report = repo.verify()
    assert report.ok, report.problem


def test_a_promotion_that_hides_a_denied_classification_is_refused(repo: Lineal) -> None:
    raw = repo.record_artifact("dataset", data=b"faces", name="raw")
    model = _model(repo, raw, b"v1")
    repo.set_tag(raw, "classification", "restricted")
    forged = _forged(model)
    with pytest.raises(PermissionDenied, match="dataset/raw@v1 upstream is classified restricted"):
        repo.store.append(forged)
    assert repo.verify().ok


def test_edges_in_the_same_batch_count_for_the_promotion(repo: Lineal) -> None:
    raw = repo.record_artifact("dataset", data=b"faces", name="raw")
    train = repo.start_run("train")
    model = repo.record_artifact("model", data=b"w", name="det")
    repo.set_tag(raw, "classification", "pii")
    head = repo.store.head()
    edges = [
        EdgeRecord(kind="used", parent=raw.node, child=train.ref, role="train"),
        EdgeRecord(kind="generated", parent=train.ref, child=model.node),
    ]
    with pytest.raises(PermissionDenied, match="dataset/raw@v1 upstream is classified pii"):
        repo.store.append([*edges, _forged(model)])  # one batch: its edges project first
    assert repo.store.head() == head


def test_every_store_refuses_a_forged_pass(store: Store) -> None:
    """The same check on SQLite, PostgreSQL and a server (which checks a client's batch)."""
    lin = Lineal(store)
    store.append(PolicyApply(policies={"production": {"deny_classifications": ["pii"]}}))
    raw = lin.record_artifact("dataset", data=b"faces", name="raw")
    train = lin.start_run("train")
    model = lin.record_artifact("model", data=b"w", name="det")
    lin.link("used", raw, train, role="train")
    lin.link("generated", train, model)
    passed = store.append(_forged(model))  # nothing classified yet: the claim holds
    lin.set_tag(raw, "classification", "PII")
    with pytest.raises(PermissionDenied, match="dataset/raw@v1 upstream is classified pii"):
        store.append(_forged(model))
    assert passed[0].seq < store.head()[0]
    report = store.verify()  # the first promotion, replayed as of its seq, still holds
    assert report.ok, report.problem


def test_the_policy_key_is_checked() -> None:
    found = parse({"policy": {"production": {"deny_classifications": ["PII", "restricted"]}}})
    assert found.policies["production"].deny_classifications == ("pii", "restricted")
    with pytest.raises(InvalidInput, match="deny_classifications"):
        parse({"policy": {"production": {"deny_classifications": "pii"}}})
