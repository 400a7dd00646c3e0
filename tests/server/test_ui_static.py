"""The web UI's files on the app (lineal.server.ui): assets, the SPA fallback for deep links,
the API left alone, and a page saying how to build the UI when its bundle is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lineal.server import ui
from lineal.server.app import create_app


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    folder = tmp_path / "ui_static"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><title>lineal</title><div id=root>")
    (folder / "assets" / "index-abc123.js").write_text("console.log('ui')")
    return folder


def _app(folder: Path) -> FastAPI:
    app = FastAPI()
    app.get("/api/v1/health")(lambda: {"ok": True})
    ui.mount(app, folder)
    return app


def test_assets_are_served_and_kept_for_good(bundle: Path) -> None:
    with TestClient(_app(bundle)) as client:
        answer = client.get("/assets/index-abc123.js")
    assert answer.status_code == 200
    assert answer.text == "console.log('ui')"
    assert "immutable" in answer.headers["cache-control"]


def test_an_asset_is_answered_from_memory_the_same_each_time(bundle: Path) -> None:
    with TestClient(_app(bundle)) as client:
        first = client.get("/assets/index-abc123.js")
        (bundle / "assets" / "index-abc123.js").unlink()  # named by content: read once
        again = client.get("/assets/index-abc123.js")
        head = client.head("/assets/index-abc123.js")
    assert (again.status_code, again.content) == (200, first.content)
    assert again.headers["content-type"] == first.headers["content-type"]
    assert "javascript" in again.headers["content-type"]
    assert again.headers["cache-control"] == first.headers["cache-control"]
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(first.content))


@pytest.mark.parametrize(
    "path", ["/", "/p/vision/lineage?ref=model/m:production", "/p/vision/runs", "/login"]
)
def test_every_page_of_the_ui_answers_its_index(bundle: Path, path: str) -> None:
    with TestClient(_app(bundle)) as client:
        answer = client.get(path)
    assert answer.status_code == 200
    assert "<div id=root>" in answer.text
    assert answer.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/2.0/mlflow/nope", "/docs/x"])
def test_the_api_is_never_answered_by_the_ui(bundle: Path, path: str) -> None:
    with TestClient(_app(bundle)) as client:
        answer = client.get(path)
        health = client.get("/api/v1/health")
    assert answer.status_code == 404
    assert answer.json() == {"detail": "Not Found"}  # the router's own answer
    assert health.json() == {"ok": True}


def test_no_file_outside_the_bundle_is_served(bundle: Path) -> None:
    (bundle.parent / "secret.txt").write_text("not for the web")
    with TestClient(_app(bundle)) as client:
        answer = client.get("/assets/../../secret.txt")
        encoded = client.get("/%2e%2e/secret.txt")
    assert "not for the web" not in answer.text
    assert "not for the web" not in encoded.text


def test_a_write_to_a_ui_path_is_refused(bundle: Path) -> None:
    with TestClient(_app(bundle)) as client:
        answer = client.post("/p/vision/runs")
    assert answer.status_code == 404
    assert "html" not in answer.headers["content-type"]


def test_without_a_bundle_the_page_says_how_to_build_it(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path / "missing")) as client:
        answer = client.get("/p/vision/lineage")
    assert answer.status_code == 503
    assert "npm ci &amp;&amp; npm run build" in answer.text


def test_the_server_app_serves_the_ui_beside_its_api(tmp_path: Path) -> None:
    app = create_app(f"sqlite:///{tmp_path / 'projects'}", str(tmp_path / "objects"))
    app.get("/added-later")(lambda: {"later": True})  # a route added after: not the UI's
    with TestClient(app) as client:
        page = client.get("/p/default/lineage")
        api = client.get("/api/v1/health")
        unknown = client.get("/api/v1/projects/nope/show?ref=x/y")
        no_route = client.get("/api/v1/nope")
        later = client.get("/added-later")
    assert page.status_code in (200, 503)  # the bundle is built or says how to build it
    assert "html" in page.headers["content-type"]
    assert api.json() == {"ok": True}
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found"
    assert no_route.status_code == 404
    assert no_route.json()["code"] == "not_found"  # the server's one JSON error body
    assert later.json() == {"later": True}
