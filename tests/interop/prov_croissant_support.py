"""A small recorded history with every edge kind, for the PROV and Croissant export tests:

schema/labels v1 ─labeled_with→ dataset/raw v1 ─used(train)→ run "train" ─generated→ model/net v1
dataset/raw v1 ─derived_from→ dataset/raw v2 ─rendered_from→ dataset/render v1
run "prepare" ─informed_by→ run "train";  agent/ci-bot ─associated_with→ run "train"
code (unnamed) ─used(code)→ run "train" (its plan); dataset/render v1 ─used(eval)→ "train"
"""

from __future__ import annotations

from dataclasses import dataclass

from lineal.client import Lineal
from lineal.model.agent_ops import AgentRegister
from lineal.model.entities import Artifact, Run

SCHEMA_META = {
    "format": "yolo",
    "classes": 2,
    "schema": {
        "shape": 1,
        "id_rule": "positional",
        "classes": [{"id": 0, "name": "car"}, {"id": 1, "name": "person"}],
        "annotation_types": ["box"],
        "attributes": [],
    },
}


@dataclass(frozen=True)
class History:
    model: Artifact
    raw: Artifact
    raw2: Artifact
    render: Artifact
    schema: Artifact
    code: Artifact
    train: Run
    prepare: Run


def record_history(repo: Lineal, *, ci: bool = False) -> History:
    """Record the history above; ``ci``: the runs say a CI service ran them."""
    context = {"context": {"env": {"CI": "true", "GITHUB_ACTIONS": "true"}}} if ci else {}
    schema = repo.record_artifact("schema", data=b"schema v1", name="labels", meta=SCHEMA_META)
    raw = repo.record_artifact(
        "dataset", data=b"raw v1", name="raw", meta={"license": "MIT", "files": 3}
    )
    repo.link("labeled_with", schema, raw)
    raw2 = repo.record_artifact("dataset", data=b"raw v2", name="raw", size=2**40)
    repo.link("derived_from", raw, raw2)
    render = repo.record_artifact(
        "dataset", data=b"render", name="render", uri="s3://bucket/render"
    )
    repo.link("rendered_from", raw2, render)
    code = repo.record_artifact("code", data=b'{"commit": "abc"}', meta={"commit": "abc"})
    prepare = repo.start_run("prepare", meta=context)
    repo.finish_run(prepare)
    train = repo.start_run(
        "train",
        params={"lr": 0.1, "epochs": 3, "opt": "adam", "odd key": 1, "seed": 2**40},
        meta=context,
    )
    repo.link("used", raw, train, role="train")
    repo.link("used", render, train, role="eval")
    repo.link("used", code, train, role="code")
    repo.link("informed_by", prepare, train)
    repo.store.append(AgentRegister(name="ci-bot", public_key="ab" * 32))
    repo.link("associated_with", "agent/ci-bot", train)
    repo.log_metrics(train, {"loss": 0.25}, step=1)
    model = repo.record_artifact("model", data=b"weights", name="net")
    repo.link("generated", train, model, role="weights")
    train = repo.finish_run(train, summary={"accuracy": 0.9})
    repo.set_tag(model, "stage", "candidate")
    repo.set_alias(model.ref, "candidate")
    return History(model, raw, raw2, render, schema, code, train, prepare)
