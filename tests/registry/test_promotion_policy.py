"""Promotions under policy: refused for each kind of failing check (nothing written) and
accepted once fixed; overrides for admins only, recorded with their reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from registry_helpers import approve_as, as_agent, dataset, evaluate, train, write_policy

from lineal.client import Lineal
from lineal.errors import InvalidInput, PermissionDenied
from lineal.model.entities import Artifact
from lineal.registry.promote import PolicyRefused, history, promote


def _refused(repo: Lineal, ref: str) -> set[str]:
    head = repo.store.head()
    with pytest.raises(PolicyRefused) as caught:
        promote(repo, ref, "production", "ship it")
    assert repo.store.head() == head  # a refused promotion writes nothing
    failed = {one.check for one in caught.value.outcomes if not one.passed}
    message = str(caught.value)
    assert all(name in message for name in failed)
    assert all(one.fix for one in caught.value.outcomes if not one.passed)
    assert "--override" in (caught.value.hint or "")
    return failed


def _accepted(repo: Lineal, ref: str) -> None:
    done = promote(repo, ref, "production", "all checks pass")
    assert done["ref"] == ref
    assert done["override"] is False
    assert all(check["passed"] for check in done["checks"])
    assert {c["check"] for c in done["checks"]} == {
        "metric mAP", "licenses", "schema match", "lineage complete", "approvers lead"
    }  # fmt: skip
    assert repo.resolve("model/det:production").digest == repo.resolve(ref).digest  # type: ignore[union-attr]


def _good(repo: Lineal, ws: Path) -> tuple[Artifact, Artifact]:
    data = dataset(repo, ws, "train", license="CC-BY-4.0")
    holdout = dataset(repo, ws, "holdout", alias="eval-approved")
    return data, holdout


Fix = Callable[[Lineal, Path, Artifact, Artifact], str]


def _metric(repo: Lineal, ws: Path) -> tuple[str, Fix]:
    data, holdout = _good(repo, ws)
    model = train(repo, ws, data, holdout, score=0.7)

    def fix(repo: Lineal, ws: Path, data: Artifact, holdout: Artifact) -> str:
        evaluate(repo, repo.resolve("model/det@v1"), holdout, 0.85)  # type: ignore[arg-type]
        return "model/det@v1"

    return model.ref, fix


def _retrain(**good: object) -> Fix:
    def fix(repo: Lineal, ws: Path, data: Artifact, holdout: Artifact) -> str:
        fixed = dataset(repo, ws, "train-fixed", license="CC-BY-4.0")
        kept = dataset(repo, ws, "holdout-fixed", alias="eval-approved")
        model = train(repo, ws, fixed, kept, content="fixed")
        approve_as(repo, ws, "bob", model.ref)
        return model.ref

    return fix


def _licence(repo: Lineal, ws: Path) -> tuple[str, Fix]:
    data = dataset(repo, ws, "train", license="CC-BY-NC-4.0")
    holdout = dataset(repo, ws, "holdout", alias="eval-approved")
    return train(repo, ws, data, holdout).ref, _retrain()


def _unknown_licence(repo: Lineal, ws: Path) -> tuple[str, Fix]:
    data = dataset(repo, ws, "train", license="LicenseRef-custom")
    holdout = dataset(repo, ws, "holdout", alias="eval-approved")
    return train(repo, ws, data, holdout).ref, _retrain()


def _schema(repo: Lineal, ws: Path) -> tuple[str, Fix]:
    data = dataset(repo, ws, "train", license="CC-BY-4.0")
    holdout = dataset(repo, ws, "holdout", alias="eval-approved", rename=("Car", "Automobile"))
    return train(repo, ws, data, holdout).ref, _retrain()


def _lineage(repo: Lineal, ws: Path) -> tuple[str, Fix]:
    data = dataset(repo, ws, "train", license="CC-BY-4.0", source=None)
    holdout = dataset(repo, ws, "holdout", alias="eval-approved")
    return train(repo, ws, data, holdout, code=False).ref, _retrain()


CASES = {
    "metric mAP": _metric,
    "licenses": _licence,
    "unknown licence": _unknown_licence,
    "schema match": _schema,
    "lineage complete": _lineage,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_for_each_failing_check_then_accepted(repo: Lineal, ws: Path, case: str) -> None:
    write_policy(ws)
    ref, fix = CASES[case](repo, ws)
    approve_as(repo, ws, "bob", ref)
    expected = "licenses" if case == "unknown licence" else case
    assert _refused(repo, ref) == {expected}
    fixed = fix(repo, ws, repo.resolve("dataset/train"), repo.resolve("dataset/holdout"))  # type: ignore[arg-type]
    _accepted(repo, fixed)


def test_approvers_required_by_role(repo: Lineal, ws: Path) -> None:
    write_policy(ws)
    data, holdout = _good(repo, ws)
    ref = train(repo, ws, data, holdout).ref
    assert _refused(repo, ref) == {"approvers lead"}
    head = repo.store.head()
    with pytest.raises(PermissionDenied, match="needs role approver or lead"):
        approve_as(repo, ws, "carol", ref)  # not a member of lead: the store refuses it
    assert repo.store.head()[0] == head[0] + 1  # carol's registration alone
    assert _refused(repo, ref) == {"approvers lead"}
    approve_as(repo, ws, "bob", ref, alias="staging")  # approves another alias
    assert _refused(repo, ref) == {"approvers lead"}
    approve_as(repo, ws, "bob", ref)
    _accepted(repo, ref)


def test_override_only_for_admins_and_recorded(repo: Lineal, ws: Path) -> None:
    write_policy(ws)
    data, holdout = _good(repo, ws)
    ref = train(repo, ws, data, holdout, score=0.5).ref
    approve_as(repo, ws, "bob", ref)
    bob = as_agent(repo, ws, "bob")
    try:
        head = repo.store.head()
        with pytest.raises(PermissionDenied, match="only the admin role"):
            promote(bob, ref, "production", "urgent fix", override=True)
        assert repo.store.head() == head
    finally:
        bob.close()
    with pytest.raises(InvalidInput, match="reason"):
        promote(repo, ref, "production", "  ", override=True)
    done = promote(repo, ref, "production", "hotfix for incident 42", override=True)
    assert done["override"] is True
    assert done["author"] == "tester"
    assert done["reason"] == "hotfix for incident 42"
    assert [c["check"] for c in done["checks"] if not c["passed"]] == ["metric mAP"]
    (held,) = history(repo, "det")["holders"]
    assert held["override"] is True
    assert held["reason"] == "hotfix for incident 42"
    assert repo.verify().ok


def test_override_of_a_passing_promotion_is_refused(repo: Lineal, ws: Path) -> None:
    write_policy(ws)
    data, holdout = _good(repo, ws)
    ref = train(repo, ws, data, holdout).ref
    approve_as(repo, ws, "bob", ref)
    with pytest.raises(InvalidInput, match="nothing to override"):
        promote(repo, ref, "production", "why not", override=True)


def test_licence_and_source_tags_state_what_the_data_was_recorded_without(
    repo: Lineal, ws: Path
) -> None:
    write_policy(ws)
    data = dataset(repo, ws, "train", license=None, source=None)
    holdout = dataset(repo, ws, "holdout", alias="eval-approved")
    ref = train(repo, ws, data, holdout).ref
    approve_as(repo, ws, "bob", ref)
    assert _refused(repo, ref) == {"licenses", "lineage complete"}
    repo.set_tag(data, "license", "CC-BY-NC-4.0")  # stated later, and denied
    repo.set_tag(data, "source", "https://example.org/train")
    assert _refused(repo, ref) == {"licenses"}
    repo.set_tag(data, "license", "CC-BY-4.0")  # corrected: the latest tag is what counts
    _accepted(repo, ref)
