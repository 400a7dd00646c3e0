"""Verify catches damage to the ledger, the commits or a projection, naming the first bad seq.

The deterministic cases run on both backends (the ``store`` fixture); the Hypothesis
properties run on SQLite only, each example in a fresh temporary store.
"""

from __future__ import annotations

import sqlite3
import tempfile
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from lineal.client import Lineal
from lineal.errors import LinealError
from lineal.ledger.chain import commit_message, record_hash
from lineal.ledger.keys import Signer
from lineal.model import canonical
from lineal.model.digests import digest_bytes
from lineal.model.entities import EDGE_KINDS, node_type
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
from lineal.model.series import Series
from lineal.store.base import VerifyReport
from lineal.store.registry import open_store
from lineal.store.sql.base import SqlStore
from lineal.store.sql.migrations import PROJECTION_TABLES

#: Edits SQL rows behind the store's back: runs on the SQL backends of ``store_uri`` only.
pytestmark = pytest.mark.sql

T0 = "2026-01-01T00:00:00.000000Z"
T1 = "2026-01-01T00:00:01.000000Z"
RECORD_COLUMNS = ("seq", "time", "author", "op", "payload_digest", "hash", "payload")
TEXT_FIELDS = ("time", "author", "op", "payload_digest", "hash")


# -- helpers ---------------------------------------------------------------------------------
def blob(label: str) -> str:
    return digest_bytes(label.encode())


def bad_at(store: SqlStore, seq: int, what: str | None = None) -> VerifyReport:
    report = store.verify()
    assert not report.ok, f"verify missed damage at seq {seq}"
    assert report.problem is not None
    assert report.problem.seq == seq, report.problem
    if what is not None:
        assert what in report.problem.what, report.problem
    return report


def healthy(store: SqlStore) -> None:
    report = store.verify()
    assert report.ok, report.problem


def other_char(text: str, at: int) -> str:
    """``text`` with the character at ``at`` replaced by a different ASCII character."""
    replacement = "0" if text[at] != "0" else "1"
    return text[:at] + replacement + text[at + 1 :]


def flip(data: bytes, at: int, mask: int = 0x01) -> bytes:
    changed = bytearray(data)
    changed[at] ^= mask
    return bytes(changed)


def record_row(store: SqlStore, seq: int) -> tuple[Any, ...]:
    row = store.sql().one(f"SELECT {', '.join(RECORD_COLUMNS)} FROM ledger WHERE seq = ?", (seq,))
    assert row is not None
    return tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)


def insert_record(store: SqlStore, row: Sequence[Any]) -> None:
    marks = ", ".join("?" * len(RECORD_COLUMNS))
    store.sql().execute(f"INSERT INTO ledger ({', '.join(RECORD_COLUMNS)}) VALUES ({marks})", row)


def set_field(store: SqlStore, seq: int, column: str, value: Any) -> None:
    store.sql().execute(f"UPDATE ledger SET {column} = ? WHERE seq = ?", (value, seq))


def commit_ranges(store: SqlStore) -> list[tuple[int, int]]:
    """(first seq, last seq) of every commit."""
    ranges, first = [], 1
    for commit in store.commits():
        ranges.append((first, commit.last_seq))
        first = commit.last_seq + 1
    return ranges


# -- a populated store on both backends ------------------------------------------------------
@dataclass
class History:
    store: SqlStore
    seqs: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def history(store: SqlStore) -> History:
    """Records 1..13 in 8 commits (1 | 2-4 | 5 | 6-8 | 9 | 10-11 | 12 | 13), every op kind."""
    lin = Lineal(store)
    seqs: dict[str, int] = {"agent": 1}
    with lin.atomic():
        v1 = lin.record_artifact("dataset", digest=blob("v1"), name="coco", meta={"rows": 10})
        v2 = lin.record_artifact("dataset", digest=blob("v2"), name="coco", uri="s3://b/v2")
        seqs["derive"] = lin.link("derived_from", v1, v2).seq or 0
    seqs["v1"], seqs["v2"] = v1.seq or 0, v2.seq or 0
    run = lin.start_run("train", params={"lr": 0.1, "epochs": 3})
    seqs["run"] = run.seq or 0
    with lin.atomic():
        seqs["used"] = lin.link("used", v2, run).seq or 0
        seqs["m0"] = lin.log_metrics(run, {"loss": 2.0, "acc": 0.1}, step=0).seq
        seqs["m1"] = lin.log_metrics(run, {"loss": 1.0, "acc": 0.5}, step=1).seq
    seqs["run_tag"] = lin.set_tag(run, "gpu", "a100").seq
    with lin.atomic():
        store.append(AliasSet(kind="dataset", name="coco", alias="prod", digest=v1.digest))
        store.append(AliasSet(kind="dataset", name="coco", alias="prod", digest=v2.digest))
    seqs["alias1"], seqs["alias2"] = 10, 11
    lin.finish_run(run)
    seqs["finish"] = store.head()[0]
    seqs["art_tag"] = lin.set_tag(v2, "stage", "clean").seq
    assert seqs == {
        "agent": 1, "v1": 2, "v2": 3, "derive": 4, "run": 5, "used": 6, "m0": 7, "m1": 8,
        "run_tag": 9, "alias1": 10, "alias2": 11, "finish": 12, "art_tag": 13,
    }  # fmt: skip
    assert [c.last_seq for c in store.commits()] == [1, 4, 5, 8, 9, 11, 12, 13]
    healthy(store)
    return History(store, seqs)


# -- the ledger ------------------------------------------------------------------------------
@pytest.mark.parametrize("column", TEXT_FIELDS)
def test_changed_record_field(history: History, column: str) -> None:
    store = history.store
    index = RECORD_COLUMNS.index(column)
    for seq in (1, 3, 7, 12, 13):
        original = record_row(store, seq)[index]
        for at in (0, len(original) // 2, len(original) - 1):
            set_field(store, seq, column, other_char(original, at))
            bad_at(store, seq, "hash does not match")
        set_field(store, seq, column, original)
        healthy(store)


def test_changed_payload(history: History) -> None:
    store = history.store
    for seq in (1, 2, 7, 13):
        original = record_row(store, seq)[6]
        for at in (0, len(original) // 2, len(original) - 1):
            set_field(store, seq, "payload", flip(original, at, 0x20))
            bad_at(store, seq, "payload does not match its digest")
        set_field(store, seq, "payload", original)
    # a different, well-formed payload: the tag says something else now
    forged = canonical.encode(TagSet(target=blob("v2"), key="stage", value="raw").payload())
    set_field(store, 13, "payload", forged)
    bad_at(store, 13, "payload does not match its digest")
    # a payload erased without a redact record
    set_field(store, 9, "payload", None)
    bad_at(store, 9, "never redacted")


def test_deleted_record(history: History) -> None:
    store = history.store
    for seq in (1, 2, 6, 10):
        row = record_row(store, seq)
        store.sql().execute("DELETE FROM ledger WHERE seq = ?", (seq,))
        bad_at(store, seq, "missing")
        insert_record(store, row)
        healthy(store)
    # the last record: its commit names a record that is gone
    store.sql().execute("DELETE FROM ledger WHERE seq = 13")
    bad_at(store, 13, "does not exist")


def _chained_extra(store: SqlStore, author: str = "alice") -> tuple[Any, ...]:
    seq, head = store.head()
    op = TagSet(target="agent/alice", key="role", value="admin")
    payload = canonical.encode(op.payload())
    digest = digest_bytes(payload)
    hashed = record_hash(head, seq + 1, T1, author, op.OP, digest)
    return (seq + 1, T1, author, op.OP, digest, hashed, payload)


def test_extra_record_without_commit(history: History) -> None:
    store = history.store
    insert_record(store, _chained_extra(store))
    bad_at(store, 14, "not covered by any signed commit")


def _forge_commit(store: SqlStore, seq: int, signer: Signer, key_id: str, author: str) -> None:
    row = record_row(store, seq)
    before = store.sql().one("SELECT MAX(last_seq) FROM commits WHERE last_seq < ?", (seq,))
    previous = before[0] if before and before[0] is not None else 0
    sig = signer.sign(commit_message(seq, row[5], previous))  # chained to the commit before
    store.sql().execute(
        "INSERT INTO commits (last_seq, last_hash, author, key_id, sig) VALUES (?, ?, ?, ?, ?)",
        (seq, row[5], author, key_id, sig),
    )


def test_extra_record_signed_by_an_unregistered_key(history: History, signer: Signer) -> None:
    store = history.store
    mallory = Signer.generate("mallory")
    insert_record(store, _chained_extra(store))
    # mallory's key under its own id: no such key was ever registered for alice
    _forge_commit(store, 14, mallory, mallory.key_id, "alice")
    bad_at(store, 14, "never registered")
    # mallory's signature under alice's key id
    store.sql().execute("DELETE FROM commits WHERE last_seq = 14")
    _forge_commit(store, 14, mallory, signer.key_id, "alice")
    bad_at(store, 14, "signature does not match")
    # mallory writing as herself, never registered
    store.sql().execute("DELETE FROM commits WHERE last_seq = 14")
    store.sql().execute("DELETE FROM ledger WHERE seq = 14")
    insert_record(store, _chained_extra(store, author="mallory"))
    _forge_commit(store, 14, mallory, mallory.key_id, "mallory")
    bad_at(store, 14, "never registered")
    # the genuine key makes the same record valid (so the checks above were about the key)
    store.sql().execute("DELETE FROM commits WHERE last_seq = 14")
    store.sql().execute("DELETE FROM ledger WHERE seq = 14")
    insert_record(store, _chained_extra(store))
    _forge_commit(store, 14, signer, signer.key_id, "alice")
    store.sql().execute(
        "INSERT INTO tags (target, key, value, seq) VALUES ('agent/alice', 'role', 'admin', 14)"
    )
    healthy(store)


def test_a_deleted_commit_is_found_though_one_agent_wrote_both_transactions(
    history: History,
) -> None:
    """Commits chain (each signs the seq its predecessor ended at): deleting one merges two
    transactions, and the next commit's signature no longer holds, whoever wrote them."""
    store = history.store
    store.sql().execute("DELETE FROM commits WHERE last_seq = 8")  # 6-8 and 9 by alice
    bad_at(store, 8, "the commit ending at seq 8 was deleted")


def test_resigned_middle_commit(history: History, signer: Signer) -> None:
    """Replace a commit with one signed by another key; the chain itself is intact."""
    store = history.store
    mallory = Signer.generate("mallory")
    store.sql().execute("DELETE FROM commits WHERE last_seq = 8")
    _forge_commit(store, 8, mallory, signer.key_id, "alice")
    bad_at(store, 8, "signature does not match")
    store.sql().execute("UPDATE commits SET key_id = ? WHERE last_seq = 8", (mallory.key_id,))
    bad_at(store, 8, "never registered")


def test_swapped_records(history: History) -> None:
    store = history.store
    for first in (1, 6, 12):
        a, b = record_row(store, first), record_row(store, first + 1)
        for seq, row in ((first, b), (first + 1, a)):
            store.sql().execute(
                "UPDATE ledger SET time = ?, author = ?, op = ?, payload_digest = ?, hash = ?, "
                "payload = ? WHERE seq = ?",
                (*row[1:], seq),
            )
        bad_at(store, first, "hash does not match")
        for row in (a, b):
            store.sql().execute("DELETE FROM ledger WHERE seq = ?", (row[0],))
            insert_record(store, row)
        healthy(store)


# -- the commits -----------------------------------------------------------------------------
def test_replaced_commit_signature(history: History) -> None:
    store = history.store
    sigs = {c.last_seq: c.sig for c in store.commits()}
    replacements = [
        sigs[4],  # a genuine signature, of another commit
        "ab" * 64,  # well-formed hex, right length
        other_char(sigs[8], 10),  # one character off
        "not hex at all",
    ]
    for last_seq in (1, 8, 13):
        for replacement in replacements:
            if replacement == sigs[last_seq]:
                continue
            store.sql().execute(
                "UPDATE commits SET sig = ? WHERE last_seq = ?", (replacement, last_seq)
            )
            bad_at(store, last_seq, "signature does not match")
        store.sql().execute(
            "UPDATE commits SET sig = ? WHERE last_seq = ?", (sigs[last_seq], last_seq)
        )
        healthy(store)


def test_changed_commit_fields(history: History) -> None:
    store = history.store
    commit = next(c for c in store.commits() if c.last_seq == 8)
    store.sql().execute(
        "UPDATE commits SET last_hash = ? WHERE last_seq = 8", (other_char(commit.last_hash, 0),)
    )
    bad_at(store, 8, "does not match the record it closes")
    store.sql().execute("UPDATE commits SET last_hash = ? WHERE last_seq = 8", (commit.last_hash,))
    # the author of a commit must be the author of every record in it: the first is named
    store.sql().execute("UPDATE commits SET author = 'mallory' WHERE last_seq = 8")
    bad_at(store, 6, "inside a commit by 'mallory'")
    store.sql().execute("UPDATE commits SET author = 'alice' WHERE last_seq = 8")
    # a commit for a record that does not exist
    store.sql().execute(
        "INSERT INTO commits (last_seq, last_hash, author, key_id, sig) VALUES (?, ?, ?, ?, ?)",
        (20, commit.last_hash, "alice", commit.key_id, commit.sig),
    )
    bad_at(store, 20, "does not exist")
    store.sql().execute("DELETE FROM commits WHERE last_seq = 20")
    # dropping the last commit leaves its records unsigned
    store.sql().execute("DELETE FROM commits WHERE last_seq = 13")
    bad_at(store, 13, "not covered")


# -- the projections -------------------------------------------------------------------------
PROJECTION_DAMAGE: dict[str, tuple[str, tuple[Any, ...], int]] = {
    "artifact-meta": (
        "UPDATE artifacts SET meta = ? WHERE digest = ?",
        ('{"rows":11}', blob("v1")),
        2,
    ),
    "artifact-uri": ("UPDATE artifacts SET uri = NULL WHERE digest = ?", (blob("v2"),), 3),
    "extra-version": (
        "INSERT INTO versions (kind, name, version, digest, seq) VALUES (?, ?, ?, ?, ?)",
        ("dataset", "coco", 3, blob("v3"), 3),
        3,
    ),
    "renumbered-version": ("UPDATE versions SET version = 7 WHERE seq = 3", (), 3),
    "deleted-param": ("DELETE FROM params WHERE key = ?", ("epochs",), 5),
    "changed-param": ("UPDATE params SET value = ? WHERE key = ?", ("0.2", "lr"), 5),
    "run-status": ("UPDATE runs SET status = 'failed'", (), 5),
    "deleted-edge": ("DELETE FROM edges WHERE kind = 'used'", (), 6),
    "param-num": ("UPDATE params SET num = 0.2 WHERE key = ?", ("lr",), 5),
    "run-duration": ("UPDATE runs SET duration = duration + 1", (), 5),
    "run-error": ("UPDATE runs SET error = 'oom'", (), 5),
    # run_metrics holds each metric's latest value: m1 (seq 8) logged it
    "changed-metric": ("UPDATE run_metrics SET value = 0.25 WHERE key = 'loss'", (), 8),
    "changed-metric-step": ("UPDATE run_metrics SET step = 0 WHERE key = 'acc'", (), 8),
    "changed-metric-points": ("UPDATE run_metrics SET points = 1 WHERE key = 'acc'", (), 8),
    "nan-metric": ("UPDATE run_metrics SET value = NULL WHERE key = 'loss'", (), 8),
    "deleted-latest-metric": ("DELETE FROM run_metrics WHERE key = 'acc'", (), 8),
    # metric_batches holds one row per key per batch
    "deleted-metric": ("DELETE FROM metric_batches WHERE seq = 7 AND key = 'acc'", (), 7),
    "changed-batch-points": (
        "UPDATE metric_batches SET points = 2 WHERE seq = 7 AND key = 'loss'",
        (),
        7,
    ),
    "changed-batch-steps": (
        "UPDATE metric_batches SET last_step = 5 WHERE seq = 8 AND key = 'loss'",
        (),
        8,
    ),
    "extra-batch": (
        "INSERT INTO metric_batches (run_id, key, seq, points, first_step, last_step) "
        "SELECT run_id, 'lr', seq, points, first_step, last_step FROM metric_batches "
        "WHERE seq = 7 AND key = 'loss'",
        (),
        7,
    ),
    "tag-value": ("UPDATE tags SET value = 'h100' WHERE key = 'gpu'", (), 9),
    "alias-reopened": ("UPDATE aliases SET until_seq = NULL WHERE seq = 10", (), 10),
    "alias-retargeted": ("UPDATE aliases SET digest = ? WHERE seq = 11", (blob("v1"),), 11),
    "extra-tag": (
        "INSERT INTO tags (target, key, value, seq) VALUES (?, 'stage', 'gold', 12)",
        (blob("v1"),),
        12,
    ),
    "extra-agent": (
        "INSERT INTO agents (name, public_key, key_id, seq) VALUES ('mallory', ?, ?, 1)",
        ("ab" * 32, "ab" * 8),
        1,
    ),
    "fake-redaction": ("INSERT INTO redactions (seq, by_seq, reason) VALUES (9, 13, 'x')", (), 9),
}


@pytest.mark.parametrize(
    ("sql", "params", "seq"), list(PROJECTION_DAMAGE.values()), ids=list(PROJECTION_DAMAGE)
)
def test_changed_projection_row(
    history: History, sql: str, params: tuple[Any, ...], seq: int
) -> None:
    store = history.store
    assert store.sql().execute(sql, params) == 1
    bad_at(store, seq, "differs from the ledger's replay")


def test_heartbeats_are_not_a_projection(history: History) -> None:
    """Liveness rows are written outside the ledger: verify neither compares nor needs them."""
    store = history.store
    run_id = store.sql().one("SELECT id FROM runs")[0]  # type: ignore[index]
    store.beat(run_id, "gpu-1", 4242, None)
    store.sql().execute("UPDATE heartbeats SET beat = 0, host = 'elsewhere'")
    healthy(store)
    store.forget_beat(run_id)
    healthy(store)


# == Hypothesis: random valid histories on SQLite ============================================
ALICE = Signer.generate("alice")
ULID_CHARS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DIGESTS = [digest_bytes(f"content-{n}".encode()) for n in range(8)]
ARTIFACT_KINDS = ("dataset", "model", "file")
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=6)
JSON = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
MAPPINGS = st.dictionaries(TEXT, JSON, max_size=2)
METRIC_KEYS = ("loss", "acc", "val/loss")
#: A summary may name logged metrics; numbers and "nan"/"inf"/"-inf" override their value.
SUMMARIES = st.dictionaries(
    st.sampled_from(METRIC_KEYS) | TEXT,
    JSON | st.sampled_from(("nan", "inf", "-inf")),
    max_size=3,
)
PARAM_KEYS = ("lr", "epochs", "batch", "split", "seed")
#: Any float64 at all: metric values and times travel as bytes, NaN and infinities included.
FLOAT64 = st.floats(width=64)
#: The seq a redaction names in a transaction that is refused (agent.register: unredactable).
REFUSED: list[Op] = [
    Redact(seq=1, reason="refused"),
    TagSet(target=blob("never recorded"), key="k", value="v"),
]


@dataclass
class _State:
    """What the ops drawn so far have recorded: enough to draw only valid next ops."""

    nodes: list[str] = field(default_factory=lambda: ["agent/alice"])  # creation order
    kinds: dict[str, str] = field(default_factory=dict)  # digest -> kind
    versions: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    running: dict[str, bool] = field(default_factory=dict)  # run id -> still running
    params: dict[str, set[str]] = field(default_factory=dict)  # run id -> keys set
    #: (run id, metric key) -> the highest step logged (a batch may not start below it)
    steps: dict[tuple[str, str], int] = field(default_factory=dict)
    redactable: list[int] = field(default_factory=list)
    tag_keys: dict[int, tuple[str, str]] = field(default_factory=dict)  # seq -> (target, key)
    seq: int = 1  # alice's agent.register


def _edges(state: _State) -> list[tuple[str, str, str]]:
    """Every valid (kind, parent, child): parents come first, so no edge closes a cycle."""
    found = []
    for i, parent in enumerate(state.nodes):
        for child in state.nodes[i + 1 :]:
            pair = (node_type(parent), node_type(child))
            found += [(k, parent, child) for k, types in EDGE_KINDS.items() if types == pair]
    return found


def _draw_op(draw: st.DrawFn, state: _State, name: str) -> Op:  # noqa: PLR0911 - one per op
    if name == "artifact.record":
        digest = draw(st.sampled_from(DIGESTS))
        kind = state.kinds.get(digest) or draw(st.sampled_from(ARTIFACT_KINDS))
        label = draw(st.none() | st.sampled_from(("coco", "resnet")))
        if digest not in state.kinds:
            state.kinds[digest] = kind
            state.nodes.append(digest)
        if label is not None:
            named = state.versions.setdefault((kind, label), [])
            if digest not in named:
                named.append(digest)
        return ArtifactRecord(
            kind=kind,
            digest=digest,
            name=label,
            size=draw(st.none() | st.integers(0, 2**63 - 1)),
            uri=draw(st.none() | TEXT),
            meta=draw(MAPPINGS),
        )
    if name == "edge.record":
        kind, parent, child = draw(st.sampled_from(_edges(state)))
        role = draw(st.none() | st.sampled_from(("train", "eval")))
        return EdgeRecord(kind=kind, parent=parent, child=child, role=role)
    if name == "run.start":
        run_id = draw(
            st.builds(
                str.__add__,
                st.sampled_from("01234567"),
                st.text(ULID_CHARS, min_size=25, max_size=25),
            ).filter(lambda r: r not in state.running)
        )
        state.running[run_id] = True
        state.nodes.append(f"run/{run_id}")
        params = draw(st.dictionaries(st.sampled_from(PARAM_KEYS), JSON))
        state.params[run_id] = set(params)
        return RunStart(
            id=run_id,
            name=draw(st.sampled_from(("train", "eval"))),
            started=T0,
            params=params,
            meta=draw(MAPPINGS),
        )
    if name == "run.params":
        run_id = draw(
            st.sampled_from(
                sorted(r for r, keys in state.params.items() if len(keys) < len(PARAM_KEYS))
            )
        )
        free = [key for key in PARAM_KEYS if key not in state.params[run_id]]
        keys = draw(st.lists(st.sampled_from(free), min_size=1, max_size=2, unique=True))
        state.params[run_id].update(keys)
        return RunParams(id=run_id, params={key: draw(JSON) for key in keys})
    if name == "run.finish":
        run_id = draw(st.sampled_from(sorted(r for r, on in state.running.items() if on)))
        state.running[run_id] = False
        return RunFinish(
            id=run_id,
            status=draw(st.sampled_from(("finished", "failed", "killed"))),
            ended=T1,
            summary=draw(SUMMARIES),
            error=draw(st.none() | TEXT),
        )
    if name == "metrics.batch":
        run_id = draw(st.sampled_from(sorted(state.running)))
        keys = draw(st.lists(st.sampled_from(METRIC_KEYS), min_size=1, max_size=3, unique=True))
        state.redactable.append(state.seq)
        return MetricsBatch(run=run_id, series=tuple(_series(draw, state, run_id, k) for k in keys))
    if name == "tag.set":
        state.redactable.append(state.seq)
        tag = TagSet(
            target=draw(st.sampled_from(state.nodes)),
            key=draw(st.sampled_from(("stage", "owner"))),
            value=draw(st.none() | TEXT),
        )
        state.tag_keys[state.seq] = (tag.target, tag.key)
        return tag
    if name == "alias.set":
        kind, label = draw(st.sampled_from(sorted(state.versions)))
        return AliasSet(
            kind=kind,
            name=label,
            alias=draw(st.sampled_from(("prod", "staging"))),
            digest=draw(st.none() | st.sampled_from(state.versions[kind, label])),
        )
    target = draw(st.sampled_from(state.redactable))
    state.redactable.remove(target)
    return Redact(seq=target, reason=draw(TEXT.filter(str.strip)))


def _series(draw: st.DrawFn, state: _State, run_id: str, key: str) -> Series:
    """Points of one key whose steps never go back, from the highest step logged so far.

    (A redaction can only lower the stored latest step, so this stays valid after one.)
    """
    size = draw(st.integers(1, 3))
    last = state.steps.get((run_id, key))
    if last is None:
        last = draw(st.sampled_from((0, -5, 2**62, -(2**63))))
    steps = [last]
    for _ in range(size):
        steps.append(steps[-1] + draw(st.integers(0, 3)))
    steps = steps[1:]
    state.steps[run_id, key] = steps[-1]
    return Series(
        key,
        array("q", steps),
        array("d", draw(st.lists(FLOAT64, min_size=size, max_size=size))),
        array("d", draw(st.lists(FLOAT64, min_size=size, max_size=size))),
    )


def _available(state: _State, redacts: bool) -> list[str]:
    names = ["artifact.record", "run.start", "tag.set"]
    if _edges(state):
        names.append("edge.record")
    if any(state.running.values()):
        names.append("run.finish")
    if state.running:
        names.append("metrics.batch")
    if any(len(keys) < len(PARAM_KEYS) for keys in state.params.values()):
        names.append("run.params")
    if state.versions:
        names.append("alias.set")
    if redacts and state.redactable:
        names.append("redact")
    return names


@dataclass
class Txn:
    ops: list[Op]
    one_call: bool  # one append() of the list, or one append() per op inside atomic()
    refused_after: int | None  # in atomic mode: try a refused op after this many ops


@st.composite
def histories(draw: st.DrawFn, *, redacts: bool = False) -> list[Txn]:
    """Transactions of ops, each valid given the ones before it."""
    state = _State()
    txns: list[Txn] = []
    for _ in range(draw(st.integers(1, 8))):
        ops = []
        for _ in range(draw(st.integers(1, 4))):
            state.seq += 1
            ops.append(_draw_op(draw, state, draw(st.sampled_from(_available(state, redacts)))))
        one_call = draw(st.booleans())
        refused = None if one_call else draw(st.none() | st.integers(0, len(ops)))
        txns.append(Txn(ops, one_call, refused))
    return txns


def build(directory: str, txns: list[Txn]) -> SqlStore:
    store = open_store(f"sqlite:///{Path(directory) / 'lineal.db'}", ALICE, create=True)
    store.append(AgentRegister(name="alice", public_key=ALICE.public_key))
    for txn in txns:
        if txn.one_call:
            store.append(txn.ops)
            continue
        with store.atomic():
            for n, op in enumerate(txn.ops):
                if n == txn.refused_after:
                    for bad in REFUSED:
                        with pytest.raises(LinealError):
                            store.append(bad)
                store.append(op)
            if txn.refused_after == len(txn.ops):
                with pytest.raises(LinealError):
                    store.append(REFUSED[0])
    return store


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(histories(redacts=True))
def test_random_valid_histories_verify(txns: list[Txn]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = build(directory, txns)
        try:
            report = store.verify()
            assert report.ok, report.problem
            ops = [op for txn in txns for op in txn.ops]
            assert report.records == 1 + len(ops)
            assert report.commits == 1 + len(txns)
            assert report.redacted == sum(isinstance(op, Redact) for op in ops)
            assert [c.last_seq for c in store.commits()][-1] == store.head()[0]
        finally:
            store.close()


@PROPERTY
@given(histories(), st.data())
def test_flipped_ledger_byte_is_found(txns: list[Txn], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = build(directory, txns)
        try:
            seq = data.draw(st.integers(1, store.head()[0]), label="seq")
            column = data.draw(st.sampled_from((*TEXT_FIELDS, "payload")), label="column")
            value = record_row(store, seq)[RECORD_COLUMNS.index(column)]
            raw = value if isinstance(value, bytes) else value.encode()
            at = data.draw(st.integers(0, len(raw) - 1), label="byte")
            mask = data.draw(st.integers(1, 255), label="mask")
            mark = "?" if column == "payload" else "CAST(? AS TEXT)"
            store.sql().execute(
                f"UPDATE ledger SET {column} = {mark} WHERE seq = ?", (flip(raw, at, mask), seq)
            )
            bad_at(store, seq)
        finally:
            store.close()


@PROPERTY
@given(histories(), st.data())
def test_flipped_commit_byte_is_found(txns: list[Txn], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = build(directory, txns)
        try:
            first, last = data.draw(st.sampled_from(commit_ranges(store)), label="commit")
            column = data.draw(st.sampled_from(("last_hash", "author", "key_id", "sig")))
            row = store.sql().one(f"SELECT {column} FROM commits WHERE last_seq = ?", (last,))
            assert row is not None
            raw = row[0].encode()
            at = data.draw(st.integers(0, len(raw) - 1), label="byte")
            mask = data.draw(st.integers(1, 255), label="mask")
            store.sql().execute(
                f"UPDATE commits SET {column} = CAST(? AS TEXT) WHERE last_seq = ?",
                (flip(raw, at, mask), last),
            )
            report = store.verify()
            assert report.problem is not None
            assert first <= report.problem.seq <= last, report.problem
        finally:
            store.close()


def _text_cells(store: SqlStore) -> list[tuple[str, str, int, str, int]]:
    """(table, column, rowid, value, row seq) of every non-empty text value in a projection."""
    cells = []
    for table, columns in PROJECTION_TABLES.items():
        types = {r[1]: r[2] for r in store.sql().all(f"PRAGMA table_info({table})")}
        for column in columns:
            if types[column] != "TEXT":
                continue  # integer and real columns
            rows = store.sql().all(
                f"SELECT rowid, {column}, seq FROM {table} WHERE {column} <> '' ORDER BY rowid"
            )
            cells += [(table, column, rowid, value, seq) for rowid, value, seq in rows]
    return cells


@PROPERTY
@given(histories(redacts=True), st.data())
def test_flipped_projection_byte_is_found(txns: list[Txn], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = build(directory, txns)
        try:
            table, column, rowid, value, seq = data.draw(
                st.sampled_from(_text_cells(store)), label="cell"
            )
            raw = value.encode()
            at = data.draw(st.integers(0, len(raw) - 1), label="byte")
            mask = data.draw(st.integers(1, 255), label="mask")
            try:
                store.sql().execute(
                    f"UPDATE {table} SET {column} = CAST(? AS TEXT) WHERE rowid = ?",
                    (flip(raw, at, mask), rowid),
                )
            except sqlite3.IntegrityError:
                reject()  # the flip collides with another row's key: no such state can exist
            bad_at(store, seq, "differs from the ledger's replay")
        finally:
            store.close()
