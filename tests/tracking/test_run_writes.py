"""How a tracked run writes to a SQL store: one transaction for each call that is durable when
it returns, none more, and nothing of it slower than it must be with the chain head held.

On SQLite and PostgreSQL (the chain head is what every writer of the store waits for).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import lineal
from lineal.client import Lineal
from lineal.ledger.keys import Signer
from lineal.model.digests import digest_bytes
from lineal.model.ops import AgentRegister, ArtifactRecord
from lineal.store.registry import open_store
from lineal.workspace import Workspace


@pytest.fixture(params=["sqlite", "postgres"])
def sql_repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Lineal]:
    """A workspace on each SQL backend, open, with ``dataset/train`` recorded."""
    uri = None if request.param == "sqlite" else str(request.getfixturevalue("pg_uri"))
    lineal.init(tmp_path, uri=uri, agent="tester")
    with Lineal.open(path=tmp_path) as repo:
        repo.store.append(ArtifactRecord(kind="dataset", name="train", digest=digest_bytes(b"t")))
        yield repo


def _transactions(repo: Lineal, after: int) -> list[list[str]]:
    """The ops of each transaction committed after seq ``after``, in order."""
    ops = {r.seq: r.op for r in repo.store.records(after=after)}
    found, start = [], after
    for commit in repo.store.commits():
        if commit.last_seq > after:
            found.append([ops[seq] for seq in range(start + 1, commit.last_seq + 1)])
            start = commit.last_seq
    return found


def test_a_run_commits_once_for_each_call_that_must_be_durable(sql_repo: Lineal) -> None:
    head = sql_repo.store.head()[0]
    out = Path(sql_repo.require_workspace().require_root()).parent / "model.txt"
    out.write_text("weights")
    with lineal.start_run(
        "r", params={"lr": 0.1}, repo=sql_repo, capture=False, flush_interval=3600
    ) as run:
        beats = sql_repo.store.sql().all("SELECT run_id FROM heartbeats")  # type: ignore[attr-defined]
        assert beats == [(run.id,)]  # the first beat rode with the start
        run.use("dataset/train")
        for step in range(10):
            run.log({"loss": 1.0 / (step + 1), "acc": step / 10}, step=step)
        run.log_artifact(out, name="m")
    assert _transactions(sql_repo, head) == [
        ["run.start"],
        ["edge.record"],
        ["artifact.record", "edge.record"],  # the output and its `generated` edge
        ["metrics.batch", "run.finish"],  # the last points land with the finish
    ]
    assert sql_repo.store.sql().all("SELECT run_id FROM heartbeats") == []  # type: ignore[attr-defined]
    shown = sql_repo.show(run.ref)
    assert shown["status"] == "finished"
    assert run.info.status == "finished"
    assert run.info.metrics == {"loss": 0.1, "acc": 0.9}  # as the store keeps them
    assert sql_repo.verify().ok


def test_a_finish_that_fails_keeps_the_last_points(sql_repo: Lineal) -> None:
    run = lineal.start_run("r", repo=sql_repo, capture=False, flush_interval=3600)
    run.log({"loss": 0.5}, step=3)
    sql_repo.finish_run(run.info)  # ended elsewhere: the run's own finish is refused
    with pytest.raises(lineal.Conflict, match="already finished"):
        run.finish()
    assert sql_repo.store.get_run(run.id).metrics == {"loss": 0.5}


def test_runs_of_one_client_share_one_flusher_store(
    sql_repo: Lineal, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Workspace] = []
    real = Workspace.open

    def counted(self: Workspace, *, write: bool = True) -> object:
        opened.append(self)
        return real(self, write=write)

    monkeypatch.setattr(Workspace, "open", counted)
    for n in range(3):
        with lineal.start_run(f"r{n}", repo=sql_repo, capture=False) as run:
            run.log({"x": float(n)})
    assert len(opened) == 1  # opened by the first run, handed back, lent to the next
    assert sql_repo.store.get_run(run.id).metrics == {"x": 2.0}


def test_a_lent_store_is_kept_until_the_client_closes(tmp_path: Path) -> None:
    lineal.init(tmp_path, agent="tester")
    repo = Lineal.open(path=tmp_path)
    lent = repo.lend_store()
    assert lent is not None
    assert lent is not repo.store
    repo.take_back(lent)
    again = repo.lend_store()
    assert again is lent
    other = repo.lend_store()  # lent out already: another one
    assert other is not lent
    repo.take_back(again)
    repo.close()
    repo.take_back(other)  # after close: closed, not kept
    for store in (lent, other):
        with pytest.raises(Exception, match="closed"):
            store.head()


def test_a_check_with_nothing_to_record_opens_no_transaction(
    sql_repo: Lineal, monkeypatch: pytest.MonkeyPatch
) -> None:
    with lineal.start_run("r", repo=sql_repo, capture=False) as run:
        run.use("dataset/train")
        opened: list[bool] = []
        real = sql_repo.store.atomic
        monkeypatch.setattr(sql_repo.store, "atomic", lambda: opened.append(True) or real())
        assert run.check_schemas() == []
        assert opened == []


def test_a_heartbeat_does_not_wait_for_the_chain_head(pg_uri: str, signer: Signer) -> None:
    import psycopg

    from lineal.store.sql.postgres import HEAD_LOCK

    store = open_store(pg_uri, signer, create=True)
    store.append(AgentRegister(name=signer.name, public_key=signer.public_key))
    holder = psycopg.connect(pg_uri, autocommit=True)
    try:
        holder.execute("BEGIN")
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (HEAD_LOCK,))  # an append under way
        store.sql().execute("SET lock_timeout = '5s'")  # type: ignore[attr-defined]
        store.beat("01J0000000000000000000RUN0", "host", 1, None)  # not refused after 5 s
        store.forget_beat("01J0000000000000000000RUN0")
        holder.execute("ROLLBACK")
    finally:
        holder.close()
        store.close()


def test_an_output_is_hashed_and_copied_before_its_transaction(
    sql_repo: Lineal, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineal import datasets

    store: Any = sql_repo.store
    seen: list[str] = []
    real = datasets.snapshot

    def snapshot(*args: Any, **kwargs: Any) -> Any:
        seen.append("snapshot in a transaction" if store._txn is not None else "snapshot")
        return real(*args, **kwargs)

    monkeypatch.setattr(datasets, "snapshot", snapshot)
    out = Path(sql_repo.require_workspace().require_root()).parent / "model.txt"
    out.write_text("weights")
    with lineal.start_run("r", repo=sql_repo, capture=False) as run:
        made = run.log_artifact(out, name="m")
        assert seen == ["snapshot"]  # the chain head was free meanwhile
    edges = [(e.kind, e.parent, e.child) for e in sql_repo.edges(run.ref)]
    assert edges == [("generated", run.ref, made.node)]


def test_what_an_add_records_with_a_version_lands_with_it_or_not_at_all(sql_repo: Lineal) -> None:
    from lineal import datasets

    out = Path(sql_repo.require_workspace().require_root()).parent / "model.txt"
    out.write_text("weights")

    def refuse(artifact: object) -> None:
        raise lineal.InvalidInput("no")

    with pytest.raises(lineal.InvalidInput):
        datasets.add(sql_repo, [out], name="m", kind="model", then=refuse)
    assert sql_repo.versions("model", "m") == []  # the version went with what failed
    made = datasets.add(sql_repo, [out], name="m", kind="model").artifact
    with pytest.raises(lineal.InvalidInput):  # the same bytes: its own transaction, undone
        datasets.add(sql_repo, [out], name="m", kind="model", then=refuse)
    assert [a.digest for a in sql_repo.artifacts("model")] == [made.digest]


def test_many_finishes_in_one_append_act_as_one_by_one(sql_repo: Lineal) -> None:
    from ulid import ULID

    from lineal.model.ops import RunFinish, RunStart

    def new_run_id() -> str:
        return str(ULID())

    store = sql_repo.store
    ids = [new_run_id() for _ in range(3)]
    started = ["2026-12-07T10:00:00.000000Z"] * 3
    store.append([RunStart(id=i, name="r", started=s) for i, s in zip(ids, started, strict=True)])
    finish = [
        RunFinish(id=i, status="finished", ended="2026-12-07T10:00:02.500000Z", summary={"acc": n})
        for n, i in enumerate(ids)
    ]
    store.append(finish)  # one statement group for the three
    for n, run_id in enumerate(ids):
        run = store.get_run(run_id)
        assert (run.status, run.duration, run.metrics) == ("finished", 2.5, {"acc": n})
    later = new_run_id()
    store.append(RunStart(id=later, name="r", started=started[0]))
    head = store.head()
    twice = [RunFinish(id=later, status="finished", ended=started[0])] * 2
    with pytest.raises(lineal.Conflict, match="already finished"):
        store.append(twice)  # the second finish of the batch is refused, and the first with it
    unknown = [RunFinish(id=later, status="failed", ended=started[0]),
               RunFinish(id=new_run_id(), status="failed", ended=started[0])]  # fmt: skip
    with pytest.raises(lineal.NotFound, match="unknown run"):
        store.append(unknown)
    assert store.head() == head
    assert store.get_run(later).status == "running"
    assert sql_repo.verify().ok
