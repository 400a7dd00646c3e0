"""MLflow's search syntax as the MLflow API answers it: the filter parser and evaluator on
their own, then search_runs through the real `mlflow` client with order_by and page tokens."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from mlflow_api_support import NAMED, Site, serve

from lineal.interop.mlflow_api_search import Clause, matches, narrowing, order_runs, parse
from lineal.interop.mlflow_errors import MlflowError


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from serve(tmp_path_factory)


def _run(run_id: str, start: int, **data: dict[str, Any]) -> dict[str, Any]:
    return {
        "info": {"run_id": run_id, "run_name": f"name-{run_id}", "status": "FINISHED",
                 "start_time": start, "user_id": "ana"},
        "data": {scope: [{"key": k, "value": v} for k, v in data.get(scope, {}).items()]
                 for scope in ("metrics", "params", "tags")},
    }  # fmt: skip


def test_the_parser_reads_mlflow_filters() -> None:
    assert parse("") == []
    assert parse(
        "metrics.acc >= 0.9 AND params.`learning rate` = '0.01' and tags.\"mlflow.user\" != 'x'"
        " and attributes.status IN ('FINISHED', 'FAILED') and run_name LIKE 'tr%'"
        " and tags.team IS NOT NULL and param.opt NOT IN ('sgd') and metric.loss <> 1e-3"
    ) == [
        Clause("metrics", "acc", ">=", 0.9),
        Clause("params", "learning rate", "=", "0.01"),
        Clause("tags", "mlflow.user", "!=", "x"),
        Clause("attributes", "status", "IN", ("FINISHED", "FAILED")),
        Clause("attributes", "run_name", "LIKE", "tr%"),
        Clause("tags", "team", "IS NOT NULL", None),
        Clause("params", "opt", "NOT IN", ("sgd",)),
        Clause("metrics", "loss", "!=", 0.001),
    ]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("metrics.acc >> 1", "expected a value"),
        ("metrics.acc > 1 or params.x = 'y'", "joined by AND"),
        ("acc > 1", "expected metrics."),
        ("bogus.acc > 1", "unknown entity"),
        ("metrics.acc >", "ends too soon"),
        ("params.x IN 'a'", "expected ( after IN"),
        ("params.x = 'a' AND", "ends too soon"),
    ],
)
def test_a_bad_filter_is_one_clear_invalid_parameter(text: str, why: str) -> None:
    with pytest.raises(MlflowError, match=re.escape(why)) as caught:
        parse(text)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_clauses_match_as_mlflow_matches() -> None:
    run = _run("a", 1, metrics={"acc": 0.9}, params={"opt": "Adam"}, tags={"t": "x"})

    def passes(text: str) -> bool:
        return all(matches(run, one) for one in parse(text))

    assert passes("metrics.acc > 0.5 and metrics.acc <= 0.9")
    assert not passes("metrics.acc > 0.9")
    assert not passes("metrics.missing > 0")  # a run without the metric never matches
    assert passes("params.opt = 'Adam'")
    assert not passes("params.opt = 'adam'")
    assert passes("params.opt ILIKE 'ad%'")
    assert not passes("params.opt LIKE 'ad%'")
    assert passes("params.opt LIKE 'A_am'")
    assert passes("tags.t IN ('x', 'y') and tags.u IS NULL")
    assert passes("attributes.status = 'FINISHED' and attributes.user_id != 'bo'")
    assert passes("attributes.start_time >= 1")
    with pytest.raises(MlflowError, match="comparator"):
        passes("params.opt > 'a'")


def test_metric_comparisons_narrow_the_store_read() -> None:
    from lineal.model.filters import format as render

    found = narrowing(parse("metrics.acc >= 0.5 and params.x = 'a' and metrics.loss < 1e-3"))
    assert found is not None
    assert render(found) == "metrics.acc >= 0.5 and metrics.loss < 0.001"
    assert narrowing(parse("params.x = 'a' and metrics.`a b` > 1 and metrics.acc != 1")) is None


def test_order_by_puts_missing_values_last_then_newest_first() -> None:
    runs = [
        _run("a", 1, metrics={"acc": 0.5}),
        _run("b", 3),
        _run("c", 2, metrics={"acc": 0.7}),
        _run("d", 4, metrics={"acc": 0.5}),
    ]
    ids = [one["info"]["run_id"] for one in order_runs(runs, ["metrics.acc DESC"])]
    assert ids == ["c", "d", "a", "b"]
    ids = [one["info"]["run_id"] for one in order_runs(runs, ["metrics.acc"])]
    assert ids == ["d", "a", "c", "b"]
    assert [one["info"]["run_id"] for one in order_runs(runs, [])] == ["d", "b", "c", "a"]


def test_search_runs_pages_through_the_client(site: Site) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
    client = MlflowClient(tracking_uri=site.tracking(NAMED))
    experiment = client.create_experiment("sweep")
    other = client.create_experiment("elsewhere")
    made = []
    for i in range(7):
        run = client.create_run(experiment, start_time=1_800_000_000_000 + i, run_name=f"r{i}")
        client.log_metric(run.info.run_id, "acc", i / 10)
        client.log_param(run.info.run_id, "parity", "even" if i % 2 == 0 else "odd")
        client.set_terminated(run.info.run_id)
        made.append(run.info.run_id)
    newest = client.create_run(other, start_time=1_900_000_000_000)
    client.log_metric(newest.info.run_id, "acc", 1.0)
    pages, token = [], None
    while True:
        page = client.search_runs(
            [experiment], "params.parity = 'even'", order_by=["metrics.acc DESC"],
            max_results=3, page_token=token,
        )  # fmt: skip
        pages.append([one.info.run_name for one in page])
        token = page.token
        if not token:
            break
    assert pages == [["r6", "r4", "r2"], ["r0"]]
    everything = client.search_runs([experiment, other], "metrics.acc >= 0.5")
    assert len(everything) == 3
    assert everything[0].data.metrics == {"acc": 1.0}  # newest first
    client.delete_run(made[0])
    names = {one.info.run_name for one in client.search_runs([experiment])}
    assert "r0" not in names
    assert len(names) == 6
    deleted = client.search_runs([experiment], run_view_type=ViewType.DELETED_ONLY)
    assert [one.info.run_name for one in deleted] == ["r0"]
    assert deleted[0].info.lifecycle_stage == "deleted"
    client.restore_run(made[0])
    assert len(client.search_runs([experiment], "attributes.run_name LIKE 'r%'")) == 7
