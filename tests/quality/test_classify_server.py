"""The server's `GET …/classified` and `GET …/show` answer what the in-process services answer
over the same project, on a live `lineal server`."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from lineal.client import Lineal
from lineal.ledger.keys import Signer
from lineal.model.ops import AgentRegister
from lineal.quality.classify import classified
from lineal.quality.show import show
from lineal.store.registry import create_project, open_store


def test_classified_and_show_over_rest(
    lineal_server: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, url = lineal_server
    monkeypatch.setenv("LINEAL_SPOOL", str(tmp_path / "spool"))
    name = f"c{uuid.uuid4().hex[:12]}"
    create_project(base, name)
    signer = Signer.generate("alice")
    store = open_store(f"{url}/projects/{name}", signer)
    store.append(AgentRegister(name="alice", public_key=signer.public_key))
    repo = Lineal(store)
    raw = repo.record_artifact("dataset", data=b"faces", name="raw")
    run = repo.start_run("train")
    repo.link("used", raw, run, role="train")
    repo.link("generated", run, repo.record_artifact("model", data=b"w", name="det"))
    repo.set_tag(raw, "classification", "pii,restricted")
    api = f"{url}/api/v1/projects/{name}"
    try:
        with httpx.Client(base_url=api, timeout=60) as client:
            listed = client.get("classified").json()
            assert listed == [one.as_dict() for one in classified(repo)]
            assert {one["ref"] for one in listed} == {"dataset/raw@v1", "model/det@v1", run.ref}
            only = client.get("classified", params={"classification": "restricted"}).json()
            assert only == [one.as_dict() for one in classified(repo, "restricted")]
            shown = client.get("show", params={"ref": "model/det"}).json()
            assert shown["classified"] == show(repo, "model/det")["classified"]
            assert [one["text"] for one in shown["classified"]] == [
                "pii from dataset/raw@v1 (2 edges up)",
                "restricted from dataset/raw@v1 (2 edges up)",
            ]
            bad = client.get("classified", params={"classification": "a,b"})
            assert bad.status_code == 400
            assert "bad classification" in bad.json()["error"]
    finally:
        store.close()
