"""Group commit of OpenLineage events: many threads' events share transactions, each caller
answered once its events are durable; a plan another writer overtook is found under the
ledger's lock and planned again, read afresh, never refused."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from openlineage_support import dataset, event, new_run_id

from lineal.client import Lineal
from lineal.errors import NotFound, Unauthenticated
from lineal.interop import openlineage_group as group
from lineal.interop.openlineage_group import GroupWriter
from lineal.interop.openlineage_ingest import ingest
from lineal.interop.openlineage_map import run_ulid
from lineal.interop.openlineage_plan import Known, first_stale, plan_event
from lineal.interop.openlineage_validate import validator
from lineal.store.base import Store


def _pairs(check: Any, events: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    return [(one, check.check(one)) for one in events]


def test_many_threads_share_transactions(store: Store) -> None:
    repo = Lineal(store)
    check = validator(None)
    writer = GroupWriter(repo, check)
    runs = [new_run_id() for _ in range(12)]
    results: list[Any] = []

    def send(run_id: str) -> None:
        events = [
            event("START", run_id, inputs=[dataset("db", "shared")]),
            event("COMPLETE", run_id, time="2026-12-01T10:01:00Z",
                  outputs=[dataset("db", f"out-{run_id}")]),
        ]  # fmt: skip
        results.append(writer.submit(_pairs(check, events), "bob").result(timeout=60))

    try:
        threads = [threading.Thread(target=send, args=(one,)) for one in runs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        writer.close()
    assert sum(one.events for one in results) == 24
    assert all([o["status"] for o in one.outcomes] == ["created"] * 2 for one in results)
    for run_id in runs:
        assert repo.store.get_run(run_ulid(run_id)).status == "finished"
    assert len(repo.versions("dataset", "db-shared")) == 1  # one node, whoever named it first
    head = repo.store.head()
    again = ingest(repo, [event("START", runs[0], inputs=[dataset("db", "shared")])])
    assert again.duplicates == 1  # what the group recorded, a later ingest finds
    assert repo.store.head() == head


def test_a_group_asks_each_admission_once_and_a_refused_request_writes_nothing(
    store: Store,
) -> None:
    repo = Lineal(store)
    check = validator(None)
    writer = GroupWriter(repo, check)
    gate = threading.Event()
    shared: list[dict[Any, Any]] = []

    def first(_: Store, asked: dict[Any, Any]) -> str:
        gate.wait(30)  # the writer is busy: the next requests queue up as one group
        return "alice"

    def refused(_: Store, asked: dict[Any, Any]) -> str:
        shared.append(asked)
        asked["token"] = "read"  # what this check read, the next of the group reuses
        raise Unauthenticated("project p needs a token", hint="log in")

    def admitted(_: Store, asked: dict[Any, Any]) -> str:
        shared.append(asked)
        assert asked.get("token") == "read"
        return "bob"

    runs = [new_run_id() for _ in range(3)]
    try:
        futures = [
            writer.submit(_pairs(check, [event("START", run)]), None, admit)
            for run, admit in zip(runs, (first, refused, admitted), strict=True)
        ]
        gate.set()
        assert futures[0].result(timeout=60).outcomes[0]["status"] == "created"
        with pytest.raises(Unauthenticated, match="needs a token"):
            futures[1].result(timeout=60)
        assert futures[2].result(timeout=60).outcomes[0]["status"] == "created"
    finally:
        writer.close()
    assert len(shared) == 2
    assert shared[0] is shared[1]  # one group, its answers shared
    assert repo.store.get_run(run_ulid(runs[0])).status == "running"
    with pytest.raises(NotFound):
        repo.store.get_run(run_ulid(runs[1]))  # refused: nothing of it written
    assert repo.store.get_run(run_ulid(runs[2])).status == "running"


def test_a_plan_another_writer_overtook_is_found_before_any_write(
    ws: Path, repo: Lineal, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = new_run_id()
    start = event("START", run_id, inputs=[dataset("db", "in")])
    plan = plan_event(repo, Known(), start, "run", "plain", None)
    assert first_stale(repo, [plan]) is None
    other = event("RUNNING", run_id, time="2026-12-01T10:00:30Z")

    real = group.prefetch

    def overtaken(*args: Any) -> set[str]:
        found = real(*args)  # what the group read; then another writer is first
        with Lineal.open(path=ws) as elsewhere:
            ingest(elsewhere, [other])
        return found

    monkeypatch.setattr(group, "prefetch", overtaken)
    check = validator(None)
    writer = GroupWriter(repo, check)
    more = [event("START", new_run_id(), inputs=[dataset("db", f"in{i}")]) for i in range(3)]
    try:
        late = event("COMPLETE", run_id, time="2026-12-01T10:01:00Z")
        commits = len(list(repo.store.commits()))
        result = writer.submit(_pairs(check, [start, late, *more]), None).result(timeout=60)
    finally:
        writer.close()
    assert [one["status"] for one in result.outcomes] == ["created"] * 5
    # The other writer's commit, then the group's five events planned again: one more
    # transaction for them all (each alone would be five).
    assert len(list(repo.store.commits())) == commits + 2
    run = repo.store.get_run(run_ulid(run_id))
    assert run.status == "finished"
    assert run.started == "2026-12-01T10:00:30.000000Z"  # the other writer's start stands
    used = [e for e in repo.edges(f"run/{run.id}") if e.kind == "used"]
    assert len(used) == 1  # the START's input, recorded once, in the second round
    assert first_stale(repo, [plan]) == 0


def test_plans_that_hold_are_appended_without_the_stale_check(
    repo: Lineal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stale-run check is a read with the ledger's lock held: a group that meets no
    other writer's runs is appended without it (the store's own refusal finds the rest)."""
    checked: list[int] = []
    real = group.first_stale

    def counted(*args: Any) -> int | None:
        checked.append(1)
        return real(*args)

    monkeypatch.setattr(group, "first_stale", counted)
    check = validator(None)
    writer = GroupWriter(repo, check)
    run_id = new_run_id()
    events = [
        event("START", run_id, inputs=[dataset("db", "in")]),
        event("COMPLETE", run_id, time="2026-12-01T10:01:00Z", outputs=[dataset("db", "out")]),
    ]
    try:
        result = writer.submit(_pairs(check, events), None).result(timeout=60)
    finally:
        writer.close()
    assert [one["status"] for one in result.outcomes] == ["created"] * 2
    assert repo.store.get_run(run_ulid(run_id)).status == "finished"
    assert checked == []


def test_a_group_another_writer_overtook_is_refused_alone_and_planned_again(
    store: Store, reopen: Any, signer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On every backend: the group's append meets the other writer's run start, the store
    refuses it, that nested transaction alone rolls back, and the group lands whole."""
    repo = Lineal(store)
    run_id = new_run_id()
    other = event("START", run_id, time="2026-12-01T10:00:30Z")
    real = group.prefetch

    def overtaken(*args: Any) -> set[str]:
        found = real(*args)
        elsewhere = reopen(signer)
        try:
            ingest(Lineal(elsewhere), [other])
        finally:
            elsewhere.close()
        return found

    monkeypatch.setattr(group, "prefetch", overtaken)
    check = validator(None)
    writer = GroupWriter(repo, check)
    events = [
        event("START", new_run_id(), inputs=[dataset("db", "a")]),
        event("COMPLETE", run_id, time="2026-12-01T10:01:00Z", outputs=[dataset("db", "b")]),
        event("START", new_run_id(), inputs=[dataset("db", "c")]),
    ]
    try:
        result = writer.submit(_pairs(check, events), None).result(timeout=60)
    finally:
        writer.close()
    assert [one["status"] for one in result.outcomes] == ["created"] * 3
    run = repo.store.get_run(run_ulid(run_id))
    assert (run.status, run.started) == ("finished", "2026-12-01T10:00:30.000000Z")
    assert repo.verify().ok
