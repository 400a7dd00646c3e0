"""OpenLineage into a live `lineal server` with the real openlineage-python client: the
Marquez-style endpoint, a project's own, tokens, the batch endpoint and what `lineal
upstream` then shows through the HTTP store."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from openlineage_support import dataset, event, facet, new_run_id, spec_dir

from lineal.ledger.keys import Signer
from lineal.model.ops import AgentRegister
from lineal.store.registry import create_project, open_project, open_store
from server_process import start_server, stop

LINEAL_BIN = Path(sys.executable).parent / "lineal"
LOCKED = "locked"


@dataclass(frozen=True)
class Site:
    url: str
    folder: Path
    token: str  # bob's contributor token of LOCKED
    viewer: str  # a viewer token of LOCKED


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("openlineage-server")
    base = f"sqlite:///{folder / 'projects'}"
    create_project(base, "default")
    alice = Signer.generate("alice")
    store = open_store(create_project(base, LOCKED), alice)
    store.append(AgentRegister(name="alice", public_key=alice.public_key))
    store.close()
    store = open_project(base, LOCKED)
    token = store.issue_token("bob", "contributor").token
    viewer = store.issue_token("carol", "viewer").token
    store.close()
    proc, url = start_server(base, folder, args=["--openlineage-spec", str(spec_dir())])
    try:
        yield Site(url, folder, token, viewer)
    finally:
        stop(proc)


def _client(url: str, **config: object):  # type: ignore[no-untyped-def]
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    return OpenLineageClient(transport=HttpTransport(HttpConfig(url=url, **config)))  # type: ignore[arg-type]


def _emit_pipeline(client, run_id: str, *, raw: str, out: str) -> None:  # type: ignore[no-untyped-def]
    from openlineage.client.event_v2 import (
        InputDataset,
        Job,
        OutputDataset,
        Run,
        RunEvent,
        RunState,
    )
    from openlineage.client.facet_v2 import schema_dataset, source_code_location_job

    now = lambda: datetime.now(UTC).isoformat()  # noqa: E731
    code = source_code_location_job.SourceCodeLocationJobFacet(
        type="git", url="https://github.com/acme/etl", version="abc"
    )
    job = Job(namespace="etl", name="clean", facets={"sourceCodeLocation": code})
    fields = [schema_dataset.SchemaDatasetFacetFields(name="id", type="int")]
    inputs = [
        InputDataset(
            namespace="s3://raw",
            name=raw,
            facets={"schema": schema_dataset.SchemaDatasetFacet(fields=fields)},
        )
    ]
    outputs = [OutputDataset(namespace="s3://clean", name=out)]
    producer = "https://github.com/acme/etl"
    client.emit(
        RunEvent(
            eventType=RunState.START,
            eventTime=now(),
            run=Run(runId=run_id),
            job=job,
            inputs=inputs,
            producer=producer,
        )
    )
    client.emit(
        RunEvent(
            eventType=RunState.COMPLETE,
            eventTime=now(),
            run=Run(runId=run_id),
            job=job,
            inputs=inputs,
            outputs=outputs,
            producer=producer,
        )
    )


def _lineal(*args: str, uri: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    env |= {"LINEAL_URI": uri, "COLUMNS": "200"} | ({"LINEAL_TOKEN": token} if token else {})
    return subprocess.run(
        [str(LINEAL_BIN), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_openlineage_client_posts_to_the_default_project(site: Site) -> None:
    run_id = new_run_id()
    _emit_pipeline(_client(site.url), run_id, raw="/images.parquet", out="/clean.parquet")
    shown = _lineal(
        "upstream", "dataset/s3-clean-clean.parquet", uri=f"{site.url}/projects/default"
    )
    assert shown.returncode == 0, shown.stderr
    assert "clean (finished)" in shown.stdout
    assert "used: dataset/s3-raw-images.parquet@v1" in shown.stdout
    assert "used (code):" in shown.stdout
    found = _lineal(
        "show", "dataset/s3-raw-images.parquet", "--json", uri=f"{site.url}/projects/default"
    )
    assert (
        json.loads(found.stdout)["meta"]["openlineage"]["facets"]["schema"]["fields"][0]["name"]
        == "id"
    )


def test_an_invalid_event_gets_a_4xx_naming_the_rule(site: Site) -> None:
    bad = event("START", "nope")
    answer = httpx.post(f"{site.url}/api/v1/lineage", json=bad)
    assert answer.status_code == 400
    assert (
        answer.json()["error"]
        == "bad OpenLineage event at $.run.runId: 'nope' is not a 'uuid' (rule: format)"
    )
    schema = facet("1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet", fields="id")
    answer = httpx.post(
        f"{site.url}/api/v1/lineage",
        json=event("START", new_run_id(), inputs=[dataset("a", "b", schema=schema)]),
    )
    assert answer.status_code == 400
    assert "$.inputs[0].facets.schema.fields" in answer.json()["error"]
    answer = httpx.post(f"{site.url}/api/v1/lineage", content=b"[1")
    assert answer.status_code == 400
    assert "not JSON" in answer.json()["error"]


def test_a_token_protected_project_needs_the_clients_api_key(site: Site) -> None:
    from openlineage.client.transport.http import ApiKeyTokenProvider

    endpoint = f"api/v1/projects/{LOCKED}/lineage"
    answer = httpx.post(f"{site.url}/{endpoint}", json=event("START", new_run_id()))
    assert answer.status_code == 401
    answer = httpx.post(
        f"{site.url}/{endpoint}",
        json=event("START", new_run_id()),
        headers={"authorization": f"Bearer {site.viewer}"},
    )
    assert answer.status_code == 403
    assert "needs role contributor" in answer.json()["error"]
    # The token is checked where the events are written; a caller that may not write
    # learns nothing of its body, nor of events already recorded.
    for path, body in ((endpoint, b"[1"), (endpoint, b"{}"), (f"{endpoint}/batch", b"[]")):
        answer = httpx.post(f"{site.url}/{path}", content=body)
        assert answer.status_code == 401, (path, answer.text)
        assert answer.json()["error"] == f"project {LOCKED} needs a token"
    client = _client(site.url, endpoint=endpoint, auth=ApiKeyTokenProvider({"apiKey": site.token}))
    _emit_pipeline(client, new_run_id(), raw="/a", out="/b")
    uri = f"{site.url}/projects/{LOCKED}"
    shown = _lineal("show", "dataset/s3-clean-b", "--json", uri=uri, token=site.token)
    assert shown.returncode == 0, shown.stderr
    run = next(one for one in json.loads(shown.stdout)["upstream"] if one["kind"] == "generated")
    edges = json.loads(_lineal("show", run["ref"], "--json", uri=uri, token=site.token).stdout)
    report = next(one for one in edges["downstream"] if one["role"] == "openlineage")
    kept = json.loads(_lineal("show", report["node"], "--json", uri=uri, token=site.token).stdout)
    assert kept["meta"]["openlineage"]["sent_by"] == "bob"  # the token's agent sent it
    assert kept["kind"] == "report"


def test_the_batch_endpoint_answers_per_event(site: Site) -> None:
    run_id = new_run_id()
    events = [
        event("START", run_id, inputs=[dataset("db", "batch_in")]),
        event("START", "bad"),
        event(
            "COMPLETE", run_id, time="2026-12-01T11:00:00Z", outputs=[dataset("db", "batch_out")]
        ),
    ]
    lines = "".join(json.dumps(one) + "\n" for one in events).encode()
    answer = httpx.post(
        f"{site.url}/api/v1/projects/default/lineage/batch",
        content=gzip.compress(lines),
        headers={"content-encoding": "gzip"},
    )
    assert answer.status_code == 207
    body = answer.json()
    assert [one["status"] for one in body["results"]] == ["created", "invalid", "created"]
    assert "$.run.runId" in body["results"][1]["error"]
    assert (body["events"], body["runs"], body["finished"], body["failed"]) == (2, 1, 1, 1)
    again = httpx.post(f"{site.url}/api/v1/lineage/batch", json=[events[0], events[2]])
    assert again.status_code == 201
    assert [one["status"] for one in again.json()["results"]] == ["duplicate", "duplicate"]
