"""What the Store contract's tests share: sample digests and series, transactions that fail on
purpose, and a reader's whole view of a store, all through the Store protocol alone.

The contract runs on every backend of the ``store_uri`` fixture (tests/conftest.py), one that
speaks SQL or not: nothing here (nor in tests/store/test_contract*.py) may reach past the
protocol (test_contract_meta.py checks).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from typing import Any

from ulid import ULID

from lineal.errors import NotFound
from lineal.model.digests import digest_bytes
from lineal.model.entities import Artifact, Run
from lineal.model.refs import parse
from lineal.model.series import Series
from lineal.store.base import Store

T0 = "2026-01-01T00:00:00.000000Z"
T1 = "2026-01-01T00:00:01.000000Z"


def blob(label: str) -> str:
    """A distinct, stable artifact digest per label."""
    return digest_bytes(label.encode())


def new_run_id() -> str:
    return str(ULID())


def series(
    key: str,
    steps: Sequence[int],
    values: Sequence[float],
    times: Sequence[float] | None = None,
) -> Series:
    """One metric's points (times default to one second past the epoch, per point)."""
    return Series(
        key,
        array("q", steps),
        array("d", values),
        array("d", [1.0] * len(steps) if times is None else times),
    )


def resolve(store: Store, ref: str) -> Artifact | Run:
    return store.resolve(parse(ref))


def artifact(store: Store, ref: str) -> Artifact:
    found = resolve(store, ref)
    assert isinstance(found, Artifact), found
    return found


def run_of(store: Store, ref: str) -> Run:
    found = resolve(store, ref)
    assert isinstance(found, Run), found
    return found


def latest(store: Store, run_id: str) -> dict[str, tuple[float | None, int | None]]:
    """``key -> (latest value, its step)`` of a run's metrics (step None: set by a summary)."""
    return {
        key: (one["value"], one["step"])
        for key, one in store.run_details(run_id)["metrics"].items()
    }


def points(store: Store, run_id: str) -> dict[str, tuple[list[int], list[float]]]:
    """``key -> (steps, values)`` of every logged point of a run's metrics."""
    return {
        key: (list(one.steps), list(one.values))
        for key, one in sorted(store.metric_series(run_id).items())
    }


def alias_at(store: Store, kind: str, name: str, alias: str, as_of: int | None) -> str | None:
    """The digest ``KIND/NAME:ALIAS`` pointed at as of seq ``as_of`` (None: it was not held),
    asked both ways the protocol answers it: alias_holders and resolve_at, which must agree."""
    held = {a: d for n, a, d, _ in store.alias_holders(kind, name, as_of) if n == name}
    digest = held.get(alias)
    try:
        nodes = store.resolve_at(parse(f"{kind}/{name}:{alias}"), as_of)
    except NotFound:
        nodes = []
    assert nodes == ([] if digest is None else [f"{kind}/{name}@{digest}"])
    return digest


class Boom(Exception):
    """Raised inside a transaction to make it roll back."""


def fail_inside(store: Store, body: Callable[[], object]) -> None:
    """Run ``body`` inside ``store.atomic()`` (a savepoint when nested), then raise Boom."""
    with store.atomic():
        body()
        raise Boom


def assert_healthy(store: Store) -> None:
    report = store.verify()
    assert report.ok, report.problem
    seq, head = store.head()
    assert report.records == seq
    assert report.head == head


def state(store: Store) -> dict[str, Any]:
    """Everything a reader can learn through the protocol: the ledger, the commits and every
    artifact, run, edge, tag, alias and metric the projections answer with, and verify's
    counts (a projection row changed without a record would fail verify or change these)."""
    artifacts = store.artifacts()
    runs, _ = store.search_runs(None)
    agents = store.agents()
    nodes = (
        [a.node for a in artifacts] + [r.ref for r in runs] + [f"agent/{a.name}" for a in agents]
    )
    report = store.verify()
    return {
        "head": store.head(),
        "records": list(store.records()),
        "commits": list(store.commits()),
        "agents": agents,
        "artifacts": artifacts,
        "artifact_details": [store.artifact_details(a) for a in artifacts],
        "latest_versions": store.latest_versions(),
        "held_aliases": store.held_aliases(),
        "runs": runs,
        "run_details": {r.id: store.run_details(r.id) for r in runs},
        "metric_series": {r.id: store.metric_series(r.id) for r in runs},
        "edges": {n: store.edges(n) for n in nodes},
        "tags": {n: store.tags(n) for n in nodes},
        "labels": store.labels(nodes),
        "verify": (report.as_dict(), report.counts),
    }
