"""The service endpoints answer exactly what the in-process service's as_dict() returns for the
same project store, and every bad request a 4xx with one JSON error."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from live_server import PROJECT, Served

from lineal.client import Lineal
from lineal.lineage import diff, queries
from lineal.quality.show import show
from lineal.registry import aliases, listing, promote
from lineal.registry import show as model_show
from lineal.store.registry import open_store
from lineal.tracking import query, search
from lineal.verification import verify


def strict(value: Any) -> Any:
    """``value`` as strict JSON gives it back: tuples as lists, NaN and infinities as words."""

    def words(item: Any) -> Any:
        if isinstance(item, float) and not math.isfinite(item):
            return "NaN" if math.isnan(item) else ("Infinity" if item > 0 else "-Infinity")
        if isinstance(item, dict):
            return {key: words(one) for key, one in item.items()}
        if isinstance(item, list | tuple):
            return [words(one) for one in item]
        return item

    return json.loads(json.dumps(words(value), allow_nan=False))


@pytest.fixture(scope="module")
def repo(served: Served) -> Iterator[Lineal]:
    store = open_store(served.store_uri)
    yield Lineal(store)
    store.close()


@pytest.fixture(scope="module")
def get(served: Served) -> Iterator[Callable[..., httpx.Response]]:
    with httpx.Client(base_url=f"{served.url}/api/v1/projects/{PROJECT}/", timeout=60) as client:

        def one(path: str, **params: Any) -> httpx.Response:
            return client.get(path, params=params)

        yield one


def cases(facts: dict[str, str]) -> list[tuple[str, dict[str, Any], Callable[[Lineal], Any]]]:
    run, other, model = f"run/{facts['run']}", f"run/{facts['other']}", facts["model"]
    return [
        ("show", {"ref": facts["raw"]}, lambda r: show(r, facts["raw"])),
        ("show", {"ref": run}, lambda r: show(r, run)),
        ("show", {"ref": "model/detector:prod"}, lambda r: show(r, "model/detector:prod")),
        ("artifacts", {}, lambda r: [a.as_dict() for a in listing.named_artifacts(r)]),
        (
            "artifacts",
            {"kind": "dataset"},
            lambda r: [a.as_dict() for a in listing.named_artifacts(r, "dataset")],
        ),
        ("runs", {}, lambda r: [search.run_summary(x) for x in search.search_runs(r, "")]),
        (
            "runs",
            {"where": "status = finished and metrics.acc > 0.5", "limit": 1},
            lambda r: [
                search.run_summary(x)
                for x in search.search_runs(r, "status = finished and metrics.acc > 0.5", limit=1)
            ],
        ),
        ("metrics", {"run": run}, lambda r: search.series_dict(search.metric_points(r, run))),
        (
            "metrics",
            {"run": run, "key": "loss", "max_points": 1},
            lambda r: search.series_dict(search.metric_points(r, run, "loss", max_points=1)),
        ),
        (
            "query",
            {"where": "metrics.acc@2 >= 0.75", "show": ["inputs", "metrics"]},
            lambda r: query.query(r, "metrics.acc@2 >= 0.75", show=["inputs", "metrics"]).as_dict(),
        ),
        ("upstream", {"ref": model}, lambda r: queries.upstream(r, model).as_dict()),
        (
            "upstream",
            {"ref": model, "depth": 1, "kind": ["dataset", "run"], "as_of": "12"},
            lambda r: queries.upstream(
                r, model, depth=1, kinds=["dataset", "run"], as_of="12"
            ).as_dict(),
        ),
        (
            "upstream",
            {"ref": model, "columns": True},
            lambda r: queries.upstream(r, model).as_columns(),
        ),
        (
            "downstream",
            {"ref": facts["raw"], "kind": "model", "columns": "true"},
            lambda r: queries.downstream(r, facts["raw"], kinds=["model"]).as_columns(),
        ),
        (
            "path",
            {"a": facts["raw"], "b": model, "columns": True},
            lambda r: queries.path(r, facts["raw"], model).as_columns(),
        ),
        (
            "downstream",
            {"ref": "dataset/raw"},
            lambda r: queries.downstream(r, "dataset/raw").as_dict(),
        ),
        (
            "downstream",
            {"ref": facts["raw"], "kind": "model"},
            lambda r: queries.downstream(r, facts["raw"], kinds=["model"]).as_dict(),
        ),
        (
            "path",
            {"a": facts["raw"], "b": model},
            lambda r: queries.path(r, facts["raw"], model).as_dict(),
        ),
        ("diff", {"a": other, "b": run}, lambda r: diff.diff(r, other, run).as_dict()),
        ("models/detector", {}, lambda r: model_show.show(r, "detector")),
        ("models/detector:prod", {}, lambda r: model_show.show(r, "detector:prod")),
        ("models/detector/history", {}, lambda r: promote.history(r, "detector")),
        (
            "models/detector/history",
            {"as_of": "3"},
            lambda r: promote.history(r, "detector", as_of="3"),
        ),
        (
            "models/detector@v1/check",
            {"alias": "prod"},
            lambda r: promote.check_version(r, "detector@v1", "prod"),
        ),
        ("aliases", {}, lambda r: [a.as_dict() for a in aliases.list_aliases(r)]),
        (
            "aliases",
            {"target": "dataset/raw"},
            lambda r: [a.as_dict() for a in aliases.list_aliases(r, "dataset/raw")],
        ),
        ("log", {"limit": 5}, lambda r: list(r.log(limit=5))),
        ("log", {"op": "tag.set"}, lambda r: list(r.log(limit=50, op="tag.set"))),
        ("verify", {}, lambda r: verify(r).as_dict()),
    ]


def test_each_endpoint_answers_what_the_service_returns(
    served: Served, repo: Lineal, get: Callable[..., httpx.Response]
) -> None:
    for path, params, service in cases(served.facts):
        answer = get(path, **params)
        assert answer.status_code == 200, (path, params, answer.text)
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == strict(service(repo)), (path, params)


def test_the_answers_hold_what_they_were_asked_for(
    served: Served, get: Callable[..., httpx.Response]
) -> None:
    # Guards the comparison above against two empty answers agreeing.
    facts = served.facts
    up = get("upstream", ref=facts["model"]).json()
    assert {facts["raw2_node"], f"run/{facts['run']}"} <= {n["id"] for n in up["nodes"]}
    assert get("metrics", run=f"run/{facts['run']}").json()["loss"]["values"] == ["NaN", 1.5]
    thinned = get("metrics", run=f"run/{facts['run']}", key="acc", max_points=1).json()
    assert len(thinned["acc"]["steps"]) == 1
    shown = get("show", ref=f"run/{facts['run']}").json()
    assert shown["params"] == {"lr": 0.1, "layers": [1, 2]}
    assert shown["tags"] == {"team": "perception"}
    assert [r["name"] for r in get("runs", where="status = running").json()] == ["eval"]
    checked = get("models/detector@v1/check", alias="prod").json()
    assert checked == [
        {"ref": "model/detector@v1", "alias": "prod", "policy": None, "passed": True, "checks": []}
    ]
    assert get("verify").json()["ok"] is True


def test_the_server_signs_a_checkpoint_of_the_whole_ledger(
    repo: Lineal, get: Callable[..., httpx.Response]
) -> None:
    document = get("checkpoint").json()
    assert document["size"] == repo.store.head()[0]
    assert repo.check_checkpoint(document).ok


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("show", {"ref": "dataset/nope"}, 404, "not_found"),
        ("show", {"ref": "not a ref"}, 400, "invalid_input"),
        ("runs", {"where": "metrics.acc >"}, 400, "invalid_input"),
        ("metrics", {"run": "dataset/raw@v1"}, 400, "invalid_input"),
        ("metrics", {"run": "RUN", "key": "nope"}, 404, "not_found"),
        ("upstream", {"ref": "model/detector", "as_of": "tomorrow"}, 400, "invalid_input"),
        ("upstream", {"ref": "model/detector", "kind": "tractor"}, 400, "invalid_input"),
        ("upstream", {"ref": "model/detector", "depth": -1}, 422, "invalid_input"),
        ("upstream", {}, 422, "invalid_input"),
        # recorded by their digests alone: no list of files to diff
        ("diff", {"a": "dataset/raw@v1", "b": "dataset/raw@v2"}, 404, "not_found"),
        ("models/nope", {}, 404, "not_found"),
        ("models/detector/check", {}, 400, "invalid_input"),
        ("query", {"where": "params.lr = 0.1", "show": "colours"}, 400, "invalid_input"),
    ],
)
def test_bad_requests_get_one_json_error(
    served: Served,
    get: Callable[..., httpx.Response],
    path: str,
    params: dict[str, Any],
    status: int,
    code: str,
) -> None:
    params = {k: f"run/{served.facts['run']}" if v == "RUN" else v for k, v in params.items()}
    answer = get(path, **params)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["code"] == code
    assert body["error"]
    assert body["hint"]


def test_an_unknown_project_is_not_found(served: Served) -> None:
    answer = httpx.get(f"{served.url}/api/v1/projects/nope/upstream", params={"ref": "model/x"})
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


def test_lineage_bodies_are_the_standard_librarys_json_and_nan_is_spelled(
    served: Served, repo: Lineal
) -> None:
    from lineal.server.services import encode

    graph = queries.upstream(repo, served.facts["model"])
    for body in (graph.as_dict(), graph.as_columns()):
        # floats=False lets orjson write it (when installed): the same text json.dumps writes.
        assert encode(body, floats=False) == encode(body)
        assert json.loads(encode(body, floats=False)) == strict(body)
    assert encode({"loss": [math.nan, -math.inf, 1.5]}) == b'{"loss":["NaN","-Infinity",1.5]}'
