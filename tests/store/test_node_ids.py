"""Node numbers for lineage walks (migration 3): given in the order edges first name their
nodes, alike when written one by one, in batches, replayed by verify, or numbered afresh by the
migration on a store that predates them; a tampered number is caught by verify."""

from __future__ import annotations

import pytest

from lineal.client import Lineal
from lineal.lineage.queries import downstream, upstream
from lineal.model.entities import Artifact
from lineal.store.sql.base import SqlStore
from lineal.store.sql.migrations import MIGRATIONS

#: Reads SQL internals: runs on the SQL backends of ``store_uri`` only (tests/conftest.py).
pytestmark = pytest.mark.sql


def _history(store: SqlStore) -> tuple[Lineal, list[Artifact]]:
    repo = Lineal(store)
    with repo.atomic():  # one batch: several edges, nodes named twice
        raw = [repo.record_artifact("dataset", data=b"raw%d" % i, name="raw") for i in range(3)]
        clean = repo.record_artifact("dataset", data=b"clean", name="clean")
        for one in raw:
            repo.link("derived_from", one, clean)
    run = repo.start_run("train")
    repo.link("used", clean, run)  # one record at a time
    model = repo.record_artifact("model", data=b"weights", name="det")
    repo.link("generated", run, model)
    return repo, [*raw, clean, model]


def _numbers(store: SqlStore) -> list[tuple[object, ...]]:
    return store.sql().all("SELECT id, node, seq FROM node_ids ORDER BY id")


BATCH_COLUMNS = ("batch", "server", "server_key_id", "server_sig")  # migration 5


def test_numbers_follow_first_mention_and_survive_a_fresh_migration(store: SqlStore) -> None:
    repo, (raw0, raw1, raw2, clean, model) = _history(store)
    numbers = _numbers(store)
    run = f"run/{repo.store.sql().one('SELECT id FROM runs')[0]}"  # type: ignore[index]
    assert [node for _, node, _ in numbers] == [
        raw0.node, clean.node, raw1.node, raw2.node, run, model.node
    ]  # fmt: skip
    assert [n for n, _, _ in numbers] == list(range(1, 7))
    before = upstream(repo, "model/det")
    assert store.verify().ok

    # A store from before migration 3: no numbers at all. Migrating numbers it alike.
    db = store.sql()
    with store.atomic():
        for statement in (
            "DROP INDEX edges_up",
            "DROP INDEX edges_down",
            "ALTER TABLE edges DROP COLUMN parent_id",
            "ALTER TABLE edges DROP COLUMN child_id",
            "DROP TABLE node_ids",
            "DROP INDEX commits_batch",
            *(f"ALTER TABLE commits DROP COLUMN {c}" for c in BATCH_COLUMNS),
            "DROP TABLE roles",
            "DROP TABLE policies",
            "DROP TABLE tokens",
            "DROP TABLE audit",
            "DROP TABLE audit_refs",
            "DROP TABLE audit_heads",
            "DELETE FROM schema_version WHERE version >= 3",
        ):
            db.execute(statement)
    assert store.schema_version() == 2
    assert store.migrate() == MIGRATIONS[-1][0]
    assert _numbers(store) == numbers
    assert store.verify().ok
    after = upstream(repo, "model/det")
    assert after.nodes == before.nodes
    assert after.edges == before.edges
    assert set(downstream(repo, "dataset/raw@v2").nodes) == {raw1.node, clean.node, run,
                                                              model.node}  # fmt: skip


def test_a_changed_number_is_caught_by_verify(store: SqlStore) -> None:
    _history(store)
    assert store.verify().ok
    with store.atomic():  # point an edge's walk somewhere else: lineage would lie
        store.sql().execute("UPDATE edges SET parent_id = 1 WHERE kind = 'used'")
    report = store.verify()
    assert not report.ok
    assert report.problem is not None
    assert "edges" in report.problem.what
