"""The web UI in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright;
nothing downloads a browser) against a real `lineal ui` process over one demo store.

Skipped, with the reason, when the browser, Playwright or the built UI is missing, except
under CI (``CI`` set), where each is a failure: CI installs them (.ci/run, make test).
Screenshots go to $LINEAL_UI_SHOTS, else a folder under pytest's temporary directory (its
path is printed in the summary).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from browser_checks import AXE

from server_process import start_lineal, stop

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "src" / "lineal" / "server" / "ui_static" / "index.html"


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what}: CI must run the browser tests, never skip them", pytrace=False)
    pytest.skip(what)


# Module scope, not session: Playwright's sync API runs an asyncio loop in this thread for as
# long as it lives, and any later test of the worker calling asyncio.run would fail ("cannot be
# called from a running event loop"). It stops with the module (a folder without __init__.py
# keeps a package-scoped fixture to the session's end).
@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        _missing(f"no {CHROMIUM}: apt-get install chromium (.ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("no playwright: pip install -e '.[dev]'")
    if not BUNDLE.is_file() or not AXE.is_file():
        _missing("the UI is not built: cd ui && npm ci && npm run build (make test does)")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            browser.close()
    asyncio.run(asyncio.sleep(0))  # the thread is free for asyncio again


@pytest.fixture(scope="session")
def demo_store(demo_pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's workspace for the session's browser tests: a copy of the process's pristine
    one (tests/conftest.py), as `lineal ui` writes its audit log into the store."""
    folder = tmp_path_factory.mktemp("ui") / "demo"
    shutil.copytree(demo_pristine, folder, symlinks=True)
    return folder


@pytest.fixture(scope="module")
def ui_url(demo_store: Path, chromium: Browser) -> Iterator[str]:
    """A `lineal ui` process over the demo store, on a free loopback port."""
    proc, url = start_lineal(["ui"], demo_store, log=demo_store.parent / "ui.log")
    try:
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def project(ui_url: str) -> str:
    (name,) = httpx.get(f"{ui_url}/api/v1/projects").json()
    return str(name)


@pytest.fixture(scope="module")
def api(ui_url: str, project: str) -> Any:
    def get(path: str, **params: Any) -> Any:
        answer = httpx.get(f"{ui_url}/api/v1/projects/{project}/{path}", params=params)
        answer.raise_for_status()
        return answer.json()

    return get


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("LINEAL_UI_SHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("ui-shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(chromium: Browser, ui_url: str) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, base_url=ui_url)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        context.close()
    assert not errors, f"errors in the page: {errors}"
