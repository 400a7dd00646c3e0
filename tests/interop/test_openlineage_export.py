"""`lineal export openlineage REF` and `lineal import openlineage`: events every one valid
against the spec; round trips (lineal → OpenLineage → lineal, and OpenLineage → lineal →
OpenLineage → lineal) keep every run, dataset, model and edge; imports are idempotent and
resumable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openlineage_support import dataset, event, new_run_id, parent_facet, spec_dir

import lineal
from lineal.client import Lineal
from lineal.interop.openlineage_export import events, export, run_events
from lineal.interop.openlineage_ingest import ingest
from lineal.interop.openlineage_map import run_uuid
from lineal.interop.openlineage_validate import validator
from lineal.lineage.queries import upstream

Graph = tuple[set[str], set[tuple[str, str, str, str | None]]]


def _graph(repo: Lineal, ref: str) -> Graph:
    """The nodes and edges of REF's upstream, without what has no OpenLineage form (the
    environment and code nodes: code travels as a job facet) and the events kept."""
    graph = upstream(repo, ref)
    kept = {n.id for n in graph.nodes.values() if n.kind not in ("env", "code")}
    edges = {
        (e.kind, e.parent, e.child, e.role)
        for e in graph.edges
        if e.parent in kept and e.child in kept and e.role != "openlineage"
    }
    return kept, edges


def _native(repo: Lineal) -> None:
    raw = repo.record_artifact("dataset", data=b"raw", name="raw")
    clean = repo.record_artifact("dataset", data=b"clean", name="clean")
    repo.link("derived_from", raw, clean)
    prep = repo.start_run("prep", params={"k": 3, "tags": ["a", "b"]})
    repo.link("used", raw, prep, role="source")
    repo.link("generated", prep, clean)
    repo.finish_run(prep)
    train = repo.start_run("train", params={"lr": 0.1})
    repo.link("informed_by", prep, train)
    repo.link("used", clean, train, role="train")
    repo.log_metrics(train, {"acc": 0.9}, step=1)
    model = repo.record_artifact("model", data=b"w", name="det")
    repo.link("generated", train, model, role="model")
    repo.finish_run(train, status="failed", error="out of memory")


def test_every_exported_event_is_valid_and_says_what_lineal_knows(repo: Lineal) -> None:
    _native(repo)
    found = events(repo, "model/det")
    check = validator(spec_dir())
    for one in found:
        check.check(one)
    assert [one["eventType"] for one in found] == ["START", "COMPLETE", "START", "FAIL"]
    fail = found[-1]
    train = repo.resolve("run/" + next(r for r in _runs(repo) if r.name == "train").id)
    assert fail["run"]["runId"] == run_uuid(train.id)
    facets = fail["run"]["facets"]
    assert facets["parent"]["job"] == {"namespace": "lineal", "name": "prep"}
    assert facets["errorMessage"]["message"] == "out of memory"
    assert facets["lineal_metrics"]["metrics"] == {"acc": 0.9}
    assert facets["lineal_metrics"]["_schemaURL"].startswith("https://pypi.org/project/lineal/")
    (model,) = fail["outputs"]
    assert model["name"] == "model/det"
    assert model["facets"]["datasetType"]["datasetType"] == "MODEL"
    assert model["facets"]["version"]["datasetVersion"] == repo.resolve("model/det").digest
    assert run_events(repo, train.id) == found[2:]  # one run's, as an emitter sends them
    clean = found[1]["outputs"][0]
    lineage = clean["facets"]["columnLineage"]["dataset"]
    assert lineage == [{"namespace": "lineal", "name": "dataset/raw", "field": ""}]


def _runs(repo: Lineal) -> list[Any]:
    return [repo.store.get_run(one.id.removeprefix("run/")) for one in
            upstream(repo, "model/det").nodes.values() if one.type == "run"]  # fmt: skip


def test_lineal_to_openlineage_and_back_keeps_every_node_and_edge(tmp_path: Path) -> None:
    lineal.init(tmp_path / "a", agent="tester")
    lineal.init(tmp_path / "b", agent="tester")
    with Lineal.open(path=tmp_path / "a") as a:
        _native(a)
        document = export(a, "model/det", flavor="json")
        before = _graph(a, "model/det")
        again = export(a, "model/det", flavor="json")
    assert again == document  # deterministic
    with Lineal.open(path=tmp_path / "b") as b:
        result = ingest(b, json.loads(document), spec=str(spec_dir()))
        assert result.failed == 0
        assert _graph(b, "model/det") == before
        assert export(b, "model/det", flavor="json") == document
        train = next(r for r in _runs(b) if r.name == "train")
        assert (train.status, train.error, dict(train.params)) == (
            "failed",
            "out of memory",
            {"lr": 0.1},
        )
        assert train.metrics == {"acc": 0.9}


def test_openlineage_to_lineal_and_back(tmp_path: Path) -> None:
    run_id, parent_id = new_run_id(), new_run_id()
    source = dataset("postgres://db", "public.t")
    parent = {"parent": parent_facet(parent_id, "dag")}
    sent = [
        event("START", parent_id, job="dag"),
        event("START", run_id, inputs=[source], run_facets=parent),
        event("COMPLETE", run_id, time="2026-12-01T10:01:00Z", inputs=[source],
              outputs=[dataset("s3://b", "out.parquet")]),
        event("COMPLETE", parent_id, job="dag", time="2026-12-01T10:02:00Z"),
    ]  # fmt: skip
    graphs = []
    document = b""
    for name in ("first", "second"):
        lineal.init(tmp_path / name, agent="tester")
        with Lineal.open(path=tmp_path / name) as repo:
            ingest(repo, sent if not document else [json.loads(x) for x in document.splitlines()])
            graphs.append(_graph(repo, "dataset/s3-b-out.parquet"))
            document = export(repo, "dataset/s3-b-out.parquet")
            back = [json.loads(line) for line in document.splitlines()]
    assert graphs[0] == graphs[1]
    ends = {one["run"]["runId"]: one for one in back if one["eventType"] == "COMPLETE"}
    assert set(ends) == {run_id, parent_id}  # the original run ids, jobs, dataset names
    assert ends[run_id]["job"] == {"namespace": "airflow", "name": "etl.clean", "facets": {}}
    assert [(d["namespace"], d["name"]) for d in ends[run_id]["outputs"]] == [
        ("s3://b", "out.parquet")
    ]


def test_import_and_export_commands(ws: Path, lineal_cli: Any) -> None:
    run_id = new_run_id()
    good = [
        event("START", run_id, inputs=[dataset("db", "in")]),
        event("COMPLETE", run_id, time="2026-12-01T10:01:00Z", outputs=[dataset("db", "out")]),
        event("START", new_run_id(), job="other", inputs=[dataset("db", "out")]),
    ]
    file = ws / "events.jsonl"
    lines = [json.dumps(one) for one in good]
    file.write_text("\n".join([lines[0], lines[1], "{not json", lines[2]]) + "\n")
    spec = ["--spec", str(spec_dir())]
    broken = lineal_cli("import", "openlineage", str(file), *spec, cwd=ws)
    assert broken.returncode == 1
    assert f"{file}:3 is not a JSON event" in broken.stderr  # the events before it are in
    file.write_text("\n".join(lines) + "\n")
    done = lineal_cli("import", "openlineage", str(file), *spec, "--json", cwd=ws)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert (body["events"], body["duplicates"], body["validation"]) == (1, 2, "full")
    again = lineal_cli("import", "openlineage", str(ws), cwd=ws)  # a folder: its .jsonl files
    assert "0 events recorded (3 seen before)" in again.stdout
    assert "full schema validation was off" in again.stdout
    out = ws / "out.jsonl"
    written = lineal_cli("export", "openlineage", "dataset/db-out", "-o", str(out), cwd=ws)
    assert written.returncode == 0, written.stderr
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert [one["eventType"] for one in exported] == ["START", "COMPLETE"]
    as_json = lineal_cli("export", "openlineage", "dataset/db-out", "--as", "json", cwd=ws)
    assert json.loads(as_json.stdout) == exported
    bad = lineal_cli("import", "openlineage", str(ws / "absent.jsonl"), cwd=ws)
    assert bad.returncode == 1
    assert "no such file or folder" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_runs_git_capture_becomes_its_source_code_location(
    repo: Lineal, tmp_path: Path, monkeypatch: Any
) -> None:
    import subprocess

    from lineal.tracking.runs import start

    code = tmp_path / "code"
    code.mkdir()
    git = ["git", "-C", str(code), "-c", "user.name=t", "-c", "user.email=t@x"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    remote = "https://github.com/acme/train.git"
    subprocess.run([*git, "remote", "add", "origin", remote], check=True)
    (code / "train.py").write_text("print(1)\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], check=True)
    commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    monkeypatch.chdir(code)
    run = start(repo, "train", flush_interval=60)
    model = repo.record_artifact("model", data=b"w", name="m")
    repo.link("generated", run.info, model)
    run.finish()
    found = events(repo, "model/m")
    location = found[0]["job"]["facets"]["sourceCodeLocation"]
    assert (location["url"], location["version"], location["branch"]) == (remote, commit, "main")
    for one in found:
        validator(spec_dir()).check(one)
    assert not any(d["name"].startswith("env/") for one in found for d in one["inputs"])
