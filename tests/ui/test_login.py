"""The web UI served by `lineal server` for a project with tokens: a page asks for a token, a
wrong one is refused in one line, the right one opens the page the link named (kept in the
tab's sessionStorage, sent as a bearer token)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from browser_checks import serious_violations

from lineal.client import Lineal
from lineal.ledger.keys import Signer
from lineal.model.ops import AgentRegister
from lineal.store.registry import create_project, open_project, open_store
from server_process import start_server, stop

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.ui

PROJECT = "vision"


@pytest.fixture(scope="module")
def guarded(
    tmp_path_factory: pytest.TempPathFactory, chromium: Browser
) -> Iterator[tuple[str, str]]:
    """A `lineal server` whose one project has a viewer token: (its URL, the token)."""
    folder = tmp_path_factory.mktemp("guarded")
    base = f"sqlite:///{folder / 'projects'}"
    alice = Signer.generate("alice")
    store = open_store(create_project(base, PROJECT), alice)
    store.append(AgentRegister(name="alice", public_key=alice.public_key))
    Lineal(store).record_artifact("dataset", data=b"raw images", name="raw")
    store.close()
    store = open_project(base, PROJECT)
    token = store.issue_token("alice", "viewer").token
    store.close()
    proc, url = start_server(base, folder)
    try:
        yield url, token
    finally:
        stop(proc)


def test_a_guarded_project_asks_for_a_token(
    chromium: Browser, guarded: tuple[str, str], shots: Path
) -> None:
    url, token = guarded
    context = chromium.new_context(base_url=url)
    page = context.new_page()
    try:
        page.goto(f"/p/{PROJECT}/verify")
        page.wait_for_url(re.compile(r"/login\?next="))
        page.get_by_role("heading", name="Sign in to lineal").wait_for()
        assert serious_violations(page) == []
        page.screenshot(path=str(shots / "login.png"), full_page=True)

        page.get_by_label("Token").fill("lineal_not-a-token")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("alert").wait_for()
        assert "/login" in page.url

        page.get_by_label("Token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(rf"/p/{PROJECT}/verify$"))
        page.get_by_text("verified").wait_for()
        held = page.evaluate("sessionStorage.getItem('lineal.token')")
        assert held == token
        page.goto(f"/p/{PROJECT}/audit")  # the token opens the other pages too
        page.get_by_role("table", name="Audit rows, newest first").wait_for()
        assert "/login" not in page.url
    finally:
        context.close()


def test_the_audit_report_link_reads_the_report_with_the_token(
    chromium: Browser, guarded: tuple[str, str]
) -> None:
    url, token = guarded
    context = chromium.new_context(base_url=url)
    page = context.new_page()
    try:
        page.goto(f"/login?next=/p/{PROJECT}/artifacts%3Fkind%3Ddataset")
        page.get_by_label("Token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(rf"/p/{PROJECT}/artifacts"))
        link = page.get_by_role("link", name="Audit report of dataset/raw@v1 (opens in a new tab)")
        # The link's own address needs the token a plain link cannot send...
        href = link.get_attribute("href")
        assert href is not None
        assert context.request.get(href).status == 401
        # ...so the click reads the report with it and shows it in the new tab.
        with page.expect_popup() as opened:
            link.click()
        report = opened.value
        report.wait_for_url(re.compile(r"^blob:"))
        report.wait_for_load_state()
        assert report.title() == "Audit report: dataset/raw@v1"
        assert "What is missing" in report.inner_text("body")
    finally:
        context.close()


def test_a_guarded_project_s_data_is_not_sent_within_the_page(
    chromium: Browser, guarded: tuple[str, str]
) -> None:
    """A deep link to a lineage view of a project with tokens: the page, asked without a token
    (as a browser asks for a page), carries none of the project's data; the tab's token then
    reads the view (index.html's early reads) and the view is drawn."""
    url, token = guarded
    deep = f"/p/{PROJECT}/lineage?ref=dataset/raw"
    html = httpx.get(f"{url}{deep}").text
    found = re.search(r"<script>__linealAnswers\((.*?)\)</script>", html, re.S)
    assert found is None or json.loads(found.group(1)) == {}, html[-2000:]
    assert "raw images" not in html
    assert "sha256:" not in html  # no node of the project (each is named by its digest)
    # The same page asked with the token in the header (as no browser sends it for a page):
    # still nothing within it, the page is the same for everyone.
    same = httpx.get(f"{url}{deep}", headers={"authorization": f"Bearer {token}"}).text
    assert "sha256:" not in same

    context = chromium.new_context(base_url=url)
    context.add_init_script(f"sessionStorage.setItem('lineal.token', {json.dumps(token)})")
    page = context.new_page()
    try:
        page.goto(deep)
        page.wait_for_selector(
            "[data-testid=graph][data-ready=yes] [data-id^='dataset/raw@sha256']", timeout=20_000
        )
        assert "/login" not in page.url
        asked = page.evaluate(
            "performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)"
            ".filter((p) => p.endsWith('/upstream') || p.endsWith('/downstream'))"
        )
        assert len(asked) == 2  # read by the page itself, with its token
    finally:
        context.close()
