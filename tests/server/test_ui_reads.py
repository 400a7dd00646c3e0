"""The reads a web UI makes, through a real `lineal server`: a page of runs in any order with
the total, the keys a runs table can show, metric points of several runs between two steps,
lineage as dot and mermaid text, and a timeline whose marks, passed as ``as_of``, replay the
graph as it stood (two iterations of a pipeline).
"""

from __future__ import annotations

import uuid
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import PG_ADMIN, PROJECT

from lineal.client import Lineal
from lineal.ledger.keys import Signer
from lineal.lineage import queries
from lineal.lineage.timeline import timeline
from lineal.model.grants import PolicyApply
from lineal.model.ops import AgentRegister, MetricsBatch
from lineal.model.series import Series
from lineal.registry.approvals import approvals, policy_in_force
from lineal.registry.promote import approve, check_all, promote
from lineal.store.registry import create_project, open_store
from lineal.tracking.search import compared_points, page_runs, run_columns
from server_process import drop_server_databases, start_server, stop


@dataclass(frozen=True)
class Pipeline:
    url: str
    store_uri: str
    facts: dict[str, Any]


def _points(run_id: str, key: str, steps: range, scale: float) -> MetricsBatch:
    values = [scale * (1 + (step % 7)) for step in steps]
    return MetricsBatch(
        run=run_id,
        series=(
            Series(key, array("q", steps), array("d", values), array("d", [1.0] * len(steps))),
        ),
    )


def populate(uri: str) -> dict[str, Any]:
    """Two iterations: scene street → labels v1 → train-1 → detector v1 (approved, promoted to
    prod), then labels v2 → train-2 → detector v2 (approved, promoted); each run logs 2,000
    loss points in four batches."""
    signer = Signer.generate("alice")
    store = open_store(uri, signer)
    store.append(AgentRegister(name="alice", public_key=signer.public_key))
    store.append(PolicyApply(protected=("prod",), policies={"prod": {"approvers": {"admin": 1}}}))
    lin = Lineal(store)
    scene = lin.record_artifact("scene", data=b"a street", name="street")
    facts: dict[str, Any] = {"runs": []}
    for i, lr in ((1, 0.1), (2, 0.05)):
        labels = lin.record_artifact("dataset", data=f"labels {i}".encode(), name="labels")
        lin.link("derived_from", scene, labels)
        run = lin.start_run(f"train-{i}", params={"lr": lr, "opt": "adam"})
        lin.set_tag(run, "iteration", str(i))
        lin.link("used", labels, run, role="train")
        for first in range(0, 2000, 500):
            store.append(_points(run.id, "loss", range(first, first + 500), 1.0 / i))
        lin.log_metrics(run, {"acc": 0.5 + 0.2 * i}, step=2000)
        model = lin.record_artifact("model", data=f"weights {i}".encode(), name="detector")
        lin.link("generated", run, model)
        lin.finish_run(run)
        why = f"iteration {i}"
        ref = f"detector@v{i}"
        approve(lin, ref, "prod", why)
        facts[f"promoted{i}"] = promote(lin, ref, "prod", why)["seq"]
        facts["runs"].append(f"run/{run.id}")
        facts[f"labels{i}"] = labels.node
        facts[f"model{i}"] = model.node
    store.close()
    return facts


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def pipeline(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    folder: Path = tmp_path_factory.mktemp("ui-server")
    if request.param == "sqlite":
        base = f"sqlite:///{folder / 'projects'}"
    else:
        base = f"{PG_ADMIN.rsplit('/', 1)[0]}/lineal_ui_{uuid.uuid4().hex[:8]}"
    store_uri = create_project(base, PROJECT)
    facts = populate(store_uri)
    proc, url = start_server(base, folder)
    try:
        yield Pipeline(url, store_uri, facts)
    finally:
        stop(proc)
        if request.param == "postgres":
            drop_server_databases(PG_ADMIN, base)


@pytest.fixture(scope="module")
def repo(pipeline: Pipeline) -> Iterator[Lineal]:
    store = open_store(pipeline.store_uri)
    yield Lineal(store)
    store.close()


@pytest.fixture(scope="module")
def get(pipeline: Pipeline) -> Iterator[Callable[..., httpx.Response]]:
    base = f"{pipeline.url}/api/v1/projects/{PROJECT}/"
    with httpx.Client(base_url=base, timeout=60) as client:

        def one(path: str, **params: Any) -> httpx.Response:
            return client.get(path, params=params)

        yield one


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json() if answer.headers["content-type"] == "application/json" else answer.text


def test_a_page_of_runs_sorted_with_the_total(
    repo: Lineal, get: Callable[..., httpx.Response], pipeline: Pipeline
) -> None:
    first, second = pipeline.facts["runs"]
    answer = get("runs", sort="-metrics.acc", limit=1)
    assert answer.headers["X-Total-Count"] == "2"
    assert [run["ref"] for run in ok(answer)] == [second]
    assert ok(answer) == page_runs(repo, "", sort="-metrics.acc", limit=1).as_dict()["runs"]
    assert [run["ref"] for run in ok(get("runs", sort="-params.lr"))] == [first, second]
    assert [run["ref"] for run in ok(get("runs", sort="created", offset=1))] == [second]
    found = get("runs", where="tags.iteration = 2", sort="name")
    assert (found.headers["X-Total-Count"], [r["ref"] for r in ok(found)]) == ("1", [second])
    assert ok(get("runs", offset=2)) == []
    columns = ok(get("runs/columns"))
    assert columns == run_columns(repo)
    assert (columns["params"], columns["metrics"], columns["tags"]) == (
        ["lr", "opt"],
        ["acc", "loss"],
        ["iteration"],
    )


def test_metric_points_of_several_runs_zoomed_to_a_step_range(
    repo: Lineal, get: Callable[..., httpx.Response], pipeline: Pipeline
) -> None:
    first, second = pipeline.facts["runs"]
    whole = ok(get("metrics", run=first, key="loss"))
    assert len(whole["loss"]["steps"]) == 2000
    zoom = ok(get("metrics", run=first, key="loss", from_step=700, to_step=1200))
    assert zoom["loss"]["steps"] == list(range(700, 1201))
    assert zoom["loss"]["values"] == whole["loss"]["values"][700:1201]
    thin = ok(get("metrics", run=first, key="loss", max_points=50, from_step=700))
    assert len(thin["loss"]["steps"]) == 50
    assert (thin["loss"]["steps"][0], thin["loss"]["steps"][-1]) == (700, 1999)
    assert max(thin["loss"]["values"]) == 7.0  # the extremes stay
    both = ok(get("series", run=[first, second], key="loss", from_step=10, to_step=12))
    assert both == compared_points(repo, [first, second], "loss", from_step=10, to_step=12)
    assert both[first]["loss"]["values"] == [4.0, 5.0, 6.0]
    assert both[second]["loss"]["values"] == [2.0, 2.5, 3.0]
    # acc was logged at step 2000 only: in range for neither, but known to both
    assert ok(get("series", run=[first, second], key="acc", to_step=5))[second]["acc"] == {
        "steps": [],
        "times": [],
        "values": [],
    }
    every = ok(get("series", run=[first, second]))
    assert set(every[first]) == {"acc", "loss"}


def test_lineage_as_dot_and_mermaid_text(
    repo: Lineal, get: Callable[..., httpx.Response], pipeline: Pipeline
) -> None:
    model = "model/detector@v2"
    for fmt, method in (("dot", "to_dot"), ("mermaid", "to_mermaid")):
        answer = get("upstream", ref=model, format=fmt)
        assert answer.headers["content-type"].startswith("text/plain")
        assert answer.text == getattr(queries.upstream(repo, model), method)()
    tree = get("upstream", ref=model, format="tree").text
    assert tree == "\n".join(queries.upstream(repo, model).to_tree()) + "\n"
    assert "scene/street@v1" in tree
    dot = get("downstream", ref="scene/street", format="dot", depth=1).text
    assert dot.startswith("digraph")
    assert "dataset/labels@v2" in dot
    path = get("path", a="scene/street", b=model, format="mermaid").text
    assert path == queries.path(repo, "scene/street", model).to_mermaid()
    assert "dataset/labels@v1" not in path
    assert "dataset/labels@v2" in path
    assert ok(get("upstream", ref=model, format="columns")) == ok(
        get("upstream", ref=model, columns=True)
    )


def test_the_timeline_marks_replay_the_graph_as_it_stood(
    repo: Lineal, get: Callable[..., httpx.Response], pipeline: Pipeline
) -> None:
    facts = pipeline.facts
    body = ok(get("timeline"))
    assert body == timeline(repo).as_dict()
    assert body["first"]["seq"] == 1
    assert body["last"]["seq"] == repo.store.head()[0]
    seqs = [event["seq"] for event in body["events"]]
    assert seqs == sorted(seqs, reverse=True)
    promotions = [e for e in body["events"] if e["event"] == "promotions"]
    assert [(e["ref"], e["target"], e["reason"]) for e in promotions] == [
        ("model/detector:prod", "model/detector@v2", "iteration 2"),
        ("model/detector:prod", "model/detector@v1", "iteration 1"),
    ]
    versions = [e["ref"] for e in body["events"] if e["event"] == "versions"]
    assert versions == [
        "model/detector@v2",
        "dataset/labels@v2",
        "model/detector@v1",
        "dataset/labels@v1",
        "scene/street@v1",
    ]
    runs = ok(get("timeline", events=["runs"], limit=1))["events"]
    assert [(e["ref"], e["name"]) for e in runs] == [(facts["runs"][1], "train-2")]
    # The graph at the first promotion: the alias names v1, and v2's labels do not exist yet.
    before = facts["promoted1"]
    then = ok(get("upstream", ref="model/detector:prod", as_of=str(before)))
    now = ok(get("upstream", ref="model/detector:prod"))
    then_ids, now_ids = ({n["id"] for n in g["nodes"]} for g in (then, now))
    assert facts["model1"] in then_ids
    assert facts["labels1"] in then_ids
    assert facts["labels2"] not in then_ids
    assert facts["model2"] not in then_ids
    assert facts["model2"] in now_ids
    assert facts["labels2"] in now_ids
    assert facts["model1"] not in now_ids
    down_then = ok(get("downstream", ref="scene/street", as_of=str(before)))
    assert facts["labels2"] not in {n["id"] for n in down_then["nodes"]}
    assert facts["labels2"] in {n["id"] for n in ok(get("downstream", ref="scene/street"))["nodes"]}


def test_the_registry_answers_who_approved_and_what_is_in_force(
    repo: Lineal, get: Callable[..., httpx.Response]
) -> None:
    every = ok(get("models/detector/approvals"))
    assert every == approvals(repo, "detector")
    assert [(a["ref"], a["alias"], a["by"], a["reason"]) for a in every] == [
        ("model/detector@v1", "prod", "alice", "iteration 1"),
        ("model/detector@v2", "prod", "alice", "iteration 2"),
    ]
    assert [a["ref"] for a in ok(get("models/detector:prod/approvals"))] == ["model/detector@v2"]
    assert [a["ref"] for a in ok(get("models/detector@v1/approvals"))] == ["model/detector@v1"]
    policy = ok(get("policy"))
    assert policy == policy_in_force(repo).as_dict()
    assert policy["ledger"]["protected"] == ["prod"]
    assert [(r["agent"], r["role"]) for r in policy["roles"]] == [("alice", "admin")]
    checked = ok(get("policy/check"))
    assert checked == check_all(repo)
    assert [(c["ref"], c["alias"], c["passed"]) for c in checked] == [
        ("model/detector@v2", "prod", True)
    ]


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("runs", {"sort": "colour"}, 400),
        ("runs", {"sort": "metrics."}, 400),
        ("runs", {"offset": -1}, 422),
        ("metrics", {"run": "RUN", "from_step": 5, "to_step": 1}, 400),
        ("metrics", {"run": "RUN", "from_step": "x"}, 422),
        ("series", {}, 422),
        ("series", {"run": ["RUN", "scene/street"]}, 400),
        ("series", {"run": "RUN", "key": "nope"}, 404),
        ("upstream", {"ref": "scene/street", "format": "png"}, 422),
        ("timeline", {"events": "weather"}, 422),
        ("models/nope/approvals", {}, 404),
    ],
)
def test_bad_ui_requests_get_one_json_error(
    get: Callable[..., httpx.Response],
    pipeline: Pipeline,
    path: str,
    params: dict[str, Any],
    status: int,
) -> None:
    run = pipeline.facts["runs"][0]
    fixed = {
        k: (
            [run if x == "RUN" else x for x in v]
            if isinstance(v, list)
            else run
            if v == "RUN"
            else v
        )
        for k, v in params.items()
    }
    answer = get(path, **fixed)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error"]
    assert body["hint"]
    assert body["code"] == ("not_found" if status == 404 else "invalid_input")
    assert "\n" not in body["error"]
