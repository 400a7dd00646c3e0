"""A real `lineal server` process per test module and backend, over a populated project.

The project's store is filled directly (open_store, SQL) with artifacts, runs, metrics, edges,
aliases, tags and a promotion; the server process is started on a free port, waited for, and
killed (only it) at the end.
"""

from __future__ import annotations

import math
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lineal.client import Lineal
from lineal.ledger.keys import Signer
from lineal.model.grants import PolicyApply
from lineal.model.ops import AgentRegister, ModelApprove, ModelPromote
from lineal.store.registry import create_project, open_store
from server_process import drop_server_databases, start_server, stop

PROJECT = "vision"
LINEAL_BIN = Path(sys.executable).parent / "lineal"
PG_ADMIN = os.environ.get("LINEAL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass(frozen=True)
class Served:
    base: str  # the server's store URI
    store_uri: str  # the project's own store URI (SQL)
    url: str  # http://127.0.0.1:PORT
    facts: dict[str, str]  # refs and ids the population made

    @property
    def lineal_uri(self) -> str:
        return f"{self.url}/projects/{PROJECT}"


def populate(uri: str) -> dict[str, str]:
    signer = Signer.generate("alice")
    store = open_store(uri, signer)
    store.append(AgentRegister(name="alice", public_key=signer.public_key))
    lin = Lineal(store)
    raw = lin.record_artifact("dataset", data=b"raw images", name="raw", meta={"rows": 3})
    raw2 = lin.record_artifact("dataset", data=b"raw images, more", name="raw")
    blob = lin.record_artifact("file", data=b"an unnamed file")
    run = lin.start_run("train", params={"lr": 0.1, "layers": [1, 2]})
    lin.link("used", raw2, run, role="train")
    lin.log_metrics(run, {"acc": 0.5, "loss": math.nan}, step=1)
    lin.log_metrics(run, {"acc": 0.75, "loss": 1.5}, step=2)
    model = lin.record_artifact("model", data=b"weights", name="detector")
    lin.link("generated", run, model)
    lin.link("derived_from", raw, raw2)
    lin.set_tag(run, "team", "perception")
    lin.set_tag(model, "stage", "candidate")
    lin.finish_run(run, summary={"acc": 0.75})
    lin.set_alias("dataset/raw@v2", "latest-good")
    store.append(PolicyApply(protected=("prod",)))  # alice, the first agent, is admin
    store.append(ModelApprove(name="detector", alias="prod", digest=model.digest, reason="ok"))
    store.append(
        ModelPromote(name="detector", alias="prod", digest=model.digest, reason="best so far")
    )
    other = lin.start_run("eval")
    secret = lin.set_tag(run, "email", "alice@example.com")
    lin.redact(secret.seq, "captured by mistake")  # alice is admin
    store.close()
    return {
        "raw": "dataset/raw@v1",
        "raw2": "dataset/raw@v2",
        "blob": blob.digest,
        "run": run.id,
        "other": other.id,
        "model": "model/detector@v1",
        "model_digest": model.digest,
        "raw_node": raw.node,
        "raw2_node": raw2.node,
        "model_node": model.node,
    }


def _pg_base() -> Iterator[str]:
    prefix = f"lineal_srv_{uuid.uuid4().hex[:8]}"
    base = f"{PG_ADMIN.rsplit('/', 1)[0]}/{prefix}"
    yield base
    drop_server_databases(PG_ADMIN, base)  # the projects and the server's own audit log


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("server")
    bases = iter([f"sqlite:///{folder / 'projects'}"]) if request.param == "sqlite" else _pg_base()
    base = next(bases)
    store_uri = create_project(base, PROJECT)
    facts = populate(store_uri)
    proc, url = start_server(base, folder)
    try:
        yield Served(base=base, store_uri=store_uri, url=url, facts=facts)
    finally:
        stop(proc)
        for _ in bases:  # the PostgreSQL database is dropped after the server let go of it
            pass
