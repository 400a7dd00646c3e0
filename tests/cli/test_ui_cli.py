"""`lineal ui`: the REST API of this workspace's store as one project, and the web UI beside
it, as a real process on a free loopback port; bad starts fail in one line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from cli_checks import error_and_hint
from lineal.cli.ui import project_name
from server_process import free_port, start_lineal, stop

if TYPE_CHECKING:
    from conftest import Cli


@pytest.mark.parametrize(
    ("folder", "name"),
    [
        ("vision", "vision"),
        ("My Robot Data!", "my-robot-data"),
        ("___", "default"),
        (None, "default"),
        ("x" * 60, "x" * 48),
    ],
)
def test_the_project_is_named_after_the_workspace(folder: str | None, name: str) -> None:
    assert project_name(folder) == name


def test_the_ui_serves_this_workspace_as_one_project(lineal_cli: Cli, ws: Path) -> None:
    data = ws / "data"
    data.mkdir()
    (data / "a.txt").write_text("one")
    assert lineal_cli("add", "data", "--name", "files", cwd=ws).returncode == 0
    (data / "a.txt").write_text("two")
    (data / "b.txt").write_text("new")
    assert lineal_cli("add", "data", "--name", "files", cwd=ws).returncode == 0
    proc, url = start_lineal(["ui"], ws, log=ws.parent / "ui.log")
    try:
        name = project_name(ws.name)
        assert httpx.get(f"{url}/api/v1/projects").json() == [name]
        listed = httpx.get(f"{url}/api/v1/projects/{name}/artifacts").json()
        assert [one["name"] for one in listed] == ["files"]
        # A file-level diff reads the manifests from the workspace's object cache.
        diff = httpx.get(
            f"{url}/api/v1/projects/{name}/diff",
            params={"a": "dataset/files@v1", "b": "dataset/files@v2"},
        )
        assert diff.status_code == 200, diff.text
        summary = diff.json()["summary"]
        assert (summary["added"], summary["removed"], summary["modified"]) == (1, 0, 1)
        verified = httpx.get(f"{url}/api/v1/projects/{name}/verify").json()
        assert verified["ok"] is True
        other = httpx.get(f"{url}/api/v1/projects/other/artifacts")
        assert other.status_code == 404
        assert "lineal ui` serves one" in other.json()["error"]
        page = httpx.get(f"{url}/p/{name}/lineage?ref=model/m:production")
        assert page.status_code in (200, 503)  # the app, or how to build it
        assert "html" in page.headers["content-type"]
    finally:
        stop(proc)
    assert f"lineal ui on {url}/ (project {name})" in (ws.parent / "ui.log").read_text()


def test_without_a_store_the_ui_says_how_to_make_one(lineal_cli: Cli, tmp_path: Path) -> None:
    done = lineal_cli("ui", "--port", str(free_port()), cwd=tmp_path)
    error, hint = error_and_hint(done, "ui")
    assert "no lineal store" in error
    assert "lineal init" in hint


def test_a_store_without_tokens_is_not_served_beyond_loopback(lineal_cli: Cli, ws: Path) -> None:
    done = lineal_cli("ui", "--host", "192.0.2.1", "--port", str(free_port()), cwd=ws)
    error, hint = error_and_hint(done, "ui", "--host")
    assert "refusing to serve this store on 192.0.2.1" in error
    assert "127.0.0.1" in hint
