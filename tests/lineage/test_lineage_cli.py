"""`lineal upstream`, `lineal downstream` and `lineal path` as a user runs them: the installed
console script in a subprocess, over a small workspace built with the Python API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lineage_reference import rows

import lineal
from cli_checks import error_and_hint

LINEAL = Path(sys.executable).parent / "lineal"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    return subprocess.run(  # noqa: PLW1510 - callers check the exit code
        [str(LINEAL), *args],
        cwd=cwd,
        env={**clean, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def ok(*args: str, cwd: Path) -> str:
    done = run(*args, cwd=cwd)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def failure(*args: str, cwd: Path) -> list[str]:
    """A command that must fail cleanly: exit 1, one ``error:`` line, then a ``hint:`` line."""
    return error_and_hint(run(*args, cwd=cwd), *args)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """raw -> clean -> run train -> model/det v1 (production); then v2 from a second run."""
    root = tmp_path_factory.mktemp("lineage")
    lineal.init(root, agent="alice")
    with lineal.open(path=root) as repo:
        raw = repo.record_artifact("dataset", data=b"raw", name="raw")
        clean = repo.record_artifact("dataset", data=b"clean", name="clean")
        repo.link("derived_from", raw, clean)
        train = repo.start_run("train")
        repo.link("used", clean, train, role="train")
        repo.link("associated_with", "agent/alice", train)
        det = repo.record_artifact("model", data=b"det1", name="det")
        repo.link("generated", train, det)
        repo.finish_run(train)
        repo.set_alias("model/det@v1", "production")
        retrain = repo.start_run("retrain")
        repo.link("used", clean, retrain, role="train")
        det2 = repo.record_artifact("model", data=b"det2", name="det")
        repo.link("generated", retrain, det2)
        repo.link("derived_from", det, det2)
        repo.finish_run(retrain)
    return root


def test_upstream_in_every_format(ws: Path) -> None:
    tree = ok("upstream", "model/det", cwd=ws).splitlines()
    assert tree[0] == "model/det@v2"
    assert any(line.endswith("used (train): dataset/clean@v1") for line in tree)
    assert tree[-1] == "7 nodes (1 agent, 2 dataset, 2 model, 2 run), 7 edges"
    data = json.loads(ok("upstream", "model/det", "--format", "json", cwd=ws))
    assert data["direction"] == "upstream"
    assert data["nodes"][0]["label"] == "model/det@v2"
    assert data["counts"] == {"agent": 1, "dataset": 2, "model": 2, "run": 2}
    assert json.loads(ok("upstream", "model/det", "--json", cwd=ws)) == data
    columns = json.loads(ok("upstream", "model/det", "--format", "columns", cwd=ws))
    assert columns["nodes"]["label"][0] == "model/det@v2"
    assert rows(columns) == data
    assert ok("upstream", "model/det", "-f", "dot", cwd=ws).startswith("digraph")
    mermaid = ok("upstream", "model/det", "--format", "mermaid", cwd=ws)
    assert mermaid.startswith("flowchart")
    one = json.loads(ok("upstream", "model/det:production", "--depth", "1", "--json", cwd=ws))
    assert sorted(n["type"] for n in one["nodes"]) == ["artifact", "run"]


def test_downstream_and_path(ws: Path) -> None:
    models = json.loads(
        ok("downstream", "dataset/raw", "--kind", "model", "-k", "dataset", "--json", cwd=ws)
    )
    assert {n["label"]: n["aliases"] for n in models["nodes"]} == {
        "dataset/raw@v1": [],
        "dataset/clean@v1": [],
        "model/det@v1": ["model/det:production"],
        "model/det@v2": [],
    }
    named = {n["id"]: n["label"] for n in models["nodes"]}
    assert [
        (e["kind"], named[e["parent"]], named[e["child"]], e.get("through"))
        for e in models["edges"]
    ] == [
        ("derived_from", "dataset/raw@v1", "dataset/clean@v1", None),
        ("derived_from", "model/det@v1", "model/det@v2", None),
        ("via", "dataset/clean@v1", "model/det@v1", 1),
        ("via", "dataset/clean@v1", "model/det@v2", 1),
    ]
    tree = ok("downstream", "dataset/clean", "--kind", "model", cwd=ws).splitlines()
    assert tree == [
        "dataset/clean@v1",
        "├── ⋯ via 1 hidden: model/det@v1 [production]",
        "│   └── derived_from: model/det@v2",
        "└── ⋯ via 1 hidden: model/det@v2",
        "3 nodes (1 dataset, 2 model), 3 edges (1 real, 2 through hidden nodes)",
    ]
    path = ok("path", "dataset/raw", "model/det@v1", cwd=ws).splitlines()
    assert path[0] == "dataset/raw@v1"
    assert path[-1] == "4 nodes (2 dataset, 1 model, 1 run), 3 edges"
    assert ok("path", "dataset/raw", "model/det", "--format", "dot", cwd=ws).startswith("digraph")
    lines = failure("path", "model/det", "dataset/raw", cwd=ws)
    assert lines[0] == "error: no path from model/det to dataset/raw"


def test_as_of_a_seq_and_a_time(ws: Path) -> None:
    records = json.loads(ok("log", "--json", cwd=ws))
    edges = [r for r in records if r["op"] == "edge.record"]
    first_model = min(r["seq"] for r in edges if r["payload"]["kind"] == "generated")
    then = json.loads(ok("upstream", "model/det", "--as-of", str(first_model), "--json", cwd=ws))
    assert then["nodes"][0]["label"] == "model/det@v1"
    assert then["as_of"] == first_model
    running = [n for n in then["nodes"] if n["type"] == "run"]
    assert [n["status"] for n in running] == ["running"]  # it finished later
    record = next(r for r in records if r["seq"] == first_model)
    by_time = json.loads(ok("upstream", "model/det", "--as-of", record["time"], "--json", cwd=ws))
    assert by_time["nodes"][0]["label"] == "model/det@v1"
    assert by_time["as_of"] >= first_model
    lines = failure("downstream", "dataset/raw", "--as-of", "2001-01-01", cwd=ws)
    assert lines[0] == "error: dataset/raw did not exist yet at seq 0"


def test_as_of_a_date_is_the_end_of_that_day(ws: Path) -> None:
    records = json.loads(ok("log", "--json", cwd=ws))
    day = records[0]["time"][:10]  # the newest record's day (UTC)
    head = records[0]["seq"]
    # The day's first moment made a store written that day look empty.
    then = json.loads(ok("upstream", "model/det", "--as-of", day, "--json", cwd=ws))
    assert then["as_of"] == head
    assert then["nodes"][0]["label"] == "model/det@v2"
    for command in (("upstream",), ("downstream",), ("path",), ("model", "history")):
        shown = " ".join(ok(*command, "--help", cwd=ws).split())
        assert "a date means the end of that day" in shown, command


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("upstream", "dataset/nope"), "error: no dataset named 'nope'"),
        (("downstream", "datset/raw"), "error: bad reference 'datset/raw'"),
        (("upstream", "model/det", "--as-of", "yesterday"), "error: bad as-of 'yesterday'"),
        (("upstream", "model/det", "--as-of", "99999"), "error: bad as-of 99999"),
        (("downstream", "dataset/raw", "--format", "png"), "error: bad format 'png'"),
        (("downstream", "dataset/raw", "--kind", "modle"), "error: bad kind 'modle'"),
        (("path", "dataset/raw", "model/det:staging"), "error: model/det has no alias 'staging'"),
    ],
)
def test_bad_input_is_one_error_and_a_hint(ws: Path, args: tuple[str, ...], message: str) -> None:
    lines = failure(*args, cwd=ws)
    assert lines[0].startswith(message), lines
