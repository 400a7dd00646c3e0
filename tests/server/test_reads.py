"""HttpStore answers every read of the Store protocol exactly as the SQL store behind it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from live_server import Served

from lineal.errors import LinealError
from lineal.model import filters
from lineal.model.refs import parse
from lineal.store.base import Store
from lineal.store.http import HttpStore
from lineal.store.registry import open_store
from lineal.store.wire import READS


@pytest.fixture(scope="module")
def pair(served: Served) -> Iterator[tuple[Store, Store]]:
    sql = open_store(served.store_uri)
    http = open_store(served.lineal_uri)
    assert isinstance(http, HttpStore)
    yield sql, http
    sql.close()
    http.close()


def calls(facts: dict[str, str], sql: Store) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    """Every read, called with arguments that find something (and some that find nothing)."""
    raw2 = sql.resolve(parse(facts["raw2"]))
    run_node = f"run/{facts['run']}"
    digest = facts["model_digest"]
    return [
        ("head", (), {}),
        ("records", (), {}),
        ("records", (), {"after": 2, "limit": 3, "newest_first": True}),
        ("records", (), {"op": "tag.set"}),
        ("commits", (), {}),
        ("leaf_hashes", (), {}),
        ("leaf_hashes", (), {"size": 4}),
        ("agents", (), {}),
        ("resolve", (parse(facts["raw"]),), {}),
        ("resolve", (parse(f"run/{facts['run']}"),), {}),
        ("resolve", (parse("model/detector:prod"),), {}),
        ("get_run", (facts["run"],), {}),
        ("unnamed", (facts["blob"],), {}),
        ("unnamed", ("sha256:" + "0" * 64,), {}),
        ("holders", (digest,), {}),
        ("version_of", ("model", "detector", digest), {}),
        ("version_of", ("model", "nothing", digest), {}),
        ("edges", (run_node,), {}),
        ("tags", (run_node,), {}),
        ("tagged", ("stage",), {}),
        ("labels", ([run_node, facts["raw_node"], facts["blob"]],), {}),
        ("presence", ([run_node, facts["raw_node"], "agent/alice", "run/nothing"],), {}),
        ("presence", ([facts["blob"]],), {"edges_of": [run_node, facts["raw_node"]]}),
        ("run_details", (facts["run"],), {}),
        ("artifact_details", (raw2,), {}),
        ("names", ("dataset",), {}),
        ("versions", ("dataset", "raw"), {}),
        ("artifacts", (), {}),
        ("artifacts", ("model",), {}),
        ("latest_versions", (), {}),
        ("held_aliases", (), {}),
        ("held_aliases", ("dataset", "raw"), {}),
        ("alias_holders", ("model", "detector"), {}),
        ("alias_holders", ("dataset", None), {"as_of": 5}),
        ("promotions", ("detector",), {}),
        ("approvals", ("detector", digest, "prod"), {}),
        ("role_holders", (), {}),
        ("role_holders", (), {"as_of": 1}),
        ("policy_record", (), {}),
        ("redactions", (), {}),
        ("redactions", (run_node,), {}),
        ("erasable", ([run_node, facts["raw_node"]],), {}),
        ("seq_at_time", ("2999-01-01T00:00:00.000000Z",), {}),
        ("resolve_at", (parse("dataset/raw"),), {"every_version": True}),
        ("resolve_at", (parse("dataset/raw"),), {"as_of": 4}),
        ("agent_at", ("alice",), {}),
        ("subgraph", ([facts["model_node"]],), {"upstream": True}),
        ("subgraph", ([facts["raw_node"]],), {"upstream": False, "depth": 1}),
        ("path_subgraph", ([facts["raw_node"]], facts["model_node"]), {}),
        ("closure", ("model/detector:prod",), {"upstream": True}),
        ("closure", ("dataset/raw",), {"upstream": False, "depth": 1, "as_of": 5}),
        ("closure", ("agent/alice",), {"upstream": False}),
        ("search_runs", (None,), {}),
        ("search_runs", (filters.parse("metrics.acc@2 > 0.5 and tags.team = perception"),), {}),
        ("search_runs", (filters.parse("params.lr = 0.1"),), {"limit": 1, "with_meta": False}),
        ("runs_page", (None,), {}),
        ("runs_page", (filters.parse("status = finished"),), {"sort": "-metrics.acc"}),
        ("runs_page", (filters.parse("metrics.acc@2 > 0.5"),), {"offset": 0, "limit": 1}),
        ("runs_page", (None,), {"sort": "params.lr", "offset": 1, "with_meta": False}),
        ("run_keys", (), {}),
        ("timeline_events", (["versions", "aliases", "promotions", "approvals", "runs"], 50), {}),
        ("timeline_events", (["aliases"], 1), {}),
        ("metric_series", (facts["run"],), {}),
        ("metric_series", (facts["run"], "loss"), {}),
        ("metric_series", (facts["run"],), {"from_step": 2, "to_step": 2, "max_points": 5}),
        ("crashed_runs", (), {}),
        ("finished_runs_tagged", ("team", "perception"), {"without": "stage"}),
        ("tag_values_beside", ("stage",), {"where_key": "stage", "where_value": "candidate"}),
        ("tagged", ("stage",), {}),
        ("tagged", ("team",), {"as_of": 50}),
        ("verify", (), {}),
        ("schema_version", (), {}),
        # the audit rows the population's own writes made (the server's request rows, which
        # these very reads add, have no agent without auth)
        ("audit_rows", (), {"agent": "alice", "ref": "dataset/raw"}),
        ("audit_rows", (), {"limit": 3, "newest_first": False}),
        ("audit_heads", (), {"limit": 2}),
        ("verify_audit", (), {}),
    ]


def answer(store: Store, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    found = getattr(store, method)(*args, **kwargs)
    return list(found) if method in ("records", "commits") else found


def test_every_read_answers_as_the_sql_store(served: Served, pair: tuple[Store, Store]) -> None:
    sql, http = pair
    table = calls(served.facts, sql)
    assert {method for method, *_ in table} == set(READS)  # every read is exercised
    for method, args, kwargs in table:
        want = answer(sql, method, args, kwargs)
        got = answer(http, method, args, kwargs)
        if method == "verify_audit":  # the log grows by each request between the two reads
            assert (got.ok, got.rows >= want.rows) == (True, True), got
            continue
        assert got == want, method
        assert type(got) is type(want), method
        assert (
            want not in (None, [], {}, 0)
            or method in ("unnamed", "version_of", "crashed_runs")
            or args[-1:] == (None,)
        ), method


def test_errors_come_back_as_the_same_class(pair: tuple[Store, Store]) -> None:
    sql, http = pair
    for method, args, *more in (
        ("resolve", (parse("dataset/nothing"),)),
        ("get_run", ("NOT-A-RUN",)),
        ("agent_at", ("bob",)),
        ("resolve_at", (parse("model/detector:staging"),)),
        ("closure", ("model/detector:staging",), {"upstream": True}),
        ("closure", ("not a reference",), {"upstream": False}),
        ("closure", ("agent/bob",), {"upstream": False}),
    ):
        kwargs = more[0] if more else {}
        with pytest.raises(LinealError) as want:
            getattr(sql, method)(*args, **kwargs)
        with pytest.raises(LinealError) as got:
            getattr(http, method)(*args, **kwargs)
        assert type(got.value) is type(want.value), method
        assert (got.value.message, got.value.hint) == (want.value.message, want.value.hint)
