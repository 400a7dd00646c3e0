"""On the demo store (`lineal demo`): a PII tag on a dataset set after the fact shows on the
production model and blocks its promotion, and the ledger still verifies."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pxr")
pytest.importorskip("sklearn")
pytest.importorskip("PIL")

from lineal.client import Lineal
from lineal.quality.classify import classified
from lineal.quality.show import show
from lineal.registry.grants import apply
from lineal.registry.promote import PolicyRefused, check_all, promote

MODEL = "model/street-classifier"


def test_a_pii_tag_on_a_dataset_shows_on_the_production_model_and_blocks_it(
    demo_copy: Path,
) -> None:
    here = demo_copy
    with Lineal.open(path=here) as repo:
        production = repo.resolve(f"{MODEL}:production")
        assert production.ref == f"{MODEL}@v2"
        assert show(repo, f"{MODEL}:production")["classified"] == []
        repo.set_tag(repo.resolve("dataset/render-train@v2"), "classification", "pii")

        shown = show(repo, f"{MODEL}:production")["classified"]
        assert [one["text"] for one in shown] == ["pii from dataset/render-train@v2 (2 edges up)"]
        listed = {one.label for one in classified(repo, "pii")}
        assert {"dataset/render-train@v2", f"{MODEL}@v2"} <= listed
        assert f"{MODEL}@v1" not in listed  # trained on v1's data: not downstream of the tag

        policy = (here / "lineal.toml").read_text()
        (here / "lineal.toml").write_text(
            policy.replace(
                "schema_match = true", 'schema_match = true\ndeny_classifications = ["pii"]'
            )
        )
        apply(repo)  # the demo's agent is the store's admin
        head = repo.store.head()
        with pytest.raises(PolicyRefused) as caught:
            promote(repo, f"{MODEL}@v2", "production", "re-approved")
        assert repo.store.head() == head
        assert (
            f"classifications: {MODEL}@v2 carries pii from dataset/render-train@v2 (2 edges up)"
            in str(caught.value)
        )
        (now,) = check_all(repo)
        assert now["passed"] is False
        assert [c["check"] for c in now["checks"] if not c["passed"]] == ["classifications"]
        report = repo.verify()
        assert report.ok, report.problem
