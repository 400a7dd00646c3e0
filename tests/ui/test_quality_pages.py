"""The data-quality views in headless Chromium, on a demo store whose training set v2 is
tagged ``classification=pii``: the health page (deep-linked freshness window, the stale model
and its reasons), the data page's drift (class ``pedestrian`` renamed ``person`` between
render-train v1 and v2), the classification the model carries from that set, and the audit
report opened from the registry and the data page. Screenshots and axe-core as elsewhere."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from browser_checks import serious_violations

from server_process import LINEAL_BIN, start_lineal, stop

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.ui

MODEL = "model/street-classifier"
TRAIN = "dataset/render-train"


@pytest.fixture(scope="module")
def ui_url(demo_copy: Path, chromium: Browser) -> Iterator[str]:
    """A `lineal ui` over a demo store of this module's own, its training set v2 classified
    (the session's demo store stays as the other modules expect it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    done = subprocess.run(
        [str(LINEAL_BIN), "tag", f"{TRAIN}@v2", "classification=pii"],
        cwd=demo_copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    proc, url = start_lineal(["ui"], demo_copy, log=demo_copy.parent / "ui.log")
    try:
        yield url
    finally:
        stop(proc)


def _shoot(page: Page, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def _card(page: Page, title: str):  # type: ignore[no-untyped-def]
    return page.get_by_role("region", name=re.compile(rf"^{title}"))


def test_the_health_page_shows_each_measure_and_keeps_its_window_in_the_url(
    page: Page, project: str, api: Any, shots: Path
) -> None:
    page.goto(f"/p/{project}/health")
    page.get_by_role("heading", name="Lineage health").wait_for()
    for title in ("Coverage", "Stale models", "Freshness", "Orphans", "Crashed runs"):
        _card(page, title).wait_for()
    stale = _card(page, "Stale models")
    assert "1 of 2" in stale.get_by_role("heading").inner_text()
    text = stale.inner_text()
    assert f"{MODEL}@v1" in text
    assert f"{TRAIN}@v1 (lineage) has a newer version {TRAIN}@v2" in text
    freshness = _card(page, "Freshness")
    assert "0 of 4" in freshness.get_by_role("heading").inner_text()
    _shoot(page, shots, "health")

    # The freshness window: into the address, and read back from it. (An age is counted in
    # thousandths of a day: whether a run of the demo just made is older than 0 days is the
    # server's to say.)
    page.get_by_label("A pipeline is stale after (days)").fill("0")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"days=0"))
    freshness.get_by_text("pipelines last ran more than 0 days ago").wait_for()
    link = page.url
    page.goto("about:blank")
    page.goto(link)
    freshness.get_by_text("pipelines last ran more than 0 days ago").wait_for()
    assert page.get_by_label("A pipeline is stale after (days)").input_value() == "0"
    said = re.search(r"(\d+) of (\d+)", freshness.get_by_role("heading").inner_text())
    assert said is not None
    assert freshness.get_by_text("✗ stale").count() == int(said[1])
    assert int(said[2]) == api("health", days=0)["freshness"]["of"] == 4

    # A stale model's reference opens its model on the registry page.
    stale.get_by_role("link", name=f"{MODEL}@v1", exact=True).click()
    page.wait_for_url(re.compile(r"/registry\?model=street-classifier"))
    page.get_by_role("heading", name=MODEL).wait_for()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_health_page_has_no_serious_accessibility_violation(
    page: Page, project: str, shots: Path, theme: str
) -> None:
    page.emulate_media(color_scheme=theme)
    page.goto(f"/p/{project}/health")
    _card(page, "Crashed runs").wait_for()
    page.wait_for_load_state("networkidle")
    _shoot(page, shots, f"page-health-{theme}")
    assert serious_violations(page) == []


def test_the_data_page_shows_drift_from_the_previous_and_between_chosen_versions(
    page: Page, project: str, shots: Path
) -> None:
    page.goto(f"/p/{project}/artifacts?kind=dataset&name=render-train")
    compared = page.get_by_role("table", name=f"Drift of {TRAIN}@v2 from {TRAIN}@v1")
    compared.wait_for()
    heading = page.get_by_role("heading", name=f"Drift: {TRAIN}@v1 → {TRAIN}@v2")
    assert "drift: " in heading.inner_text()
    flagged = compared.locator("tr.flagged th").all_inner_texts()
    assert {"class_js", "schema"} <= set(flagged)
    assert "file_count" not in flagged
    assert "pedestrian -> person" in compared.inner_text()
    assert "pedestrian -31%, person +31%" in compared.inner_text()
    _shoot(page, shots, "data-drift")
    assert serious_violations(page) == []

    # Two other versions chosen: v2 against v1; v2's own drift from v1 is shown on its card.
    page.locator("#ver-a").select_option(f"{TRAIN}@v2")
    page.locator("#ver-b").select_option(f"{TRAIN}@v1")
    page.wait_for_url(re.compile(r"a=dataset.*b=dataset"))
    page.get_by_role("table", name=f"Drift of {TRAIN}@v1 from {TRAIN}@v2").wait_for()
    card = page.get_by_role("region", name=f"{TRAIN}@v2", exact=True)
    own = card.get_by_role("table", name=f"Drift of {TRAIN}@v2 from {TRAIN}@v1")
    own.wait_for()
    assert "class_js" in own.locator("tr.flagged th").all_inner_texts()
    # The first version has nothing before it: no drift of its own.
    first = page.get_by_role("region", name=f"{TRAIN}@v1", exact=True)
    assert first.get_by_role("table", name=re.compile("^Drift of")).count() == 0


def test_the_classification_and_the_audit_report_from_registry_and_data_page(
    page: Page, project: str, shots: Path
) -> None:
    page.goto(f"/p/{project}/registry?model=street-classifier")
    versions = page.locator(
        "section.detail li", has=page.get_by_role("link", name=f"{MODEL}@v2", exact=True)
    )
    versions.get_by_text("classified: pii").wait_for()
    earlier = page.locator(
        "section.detail li", has=page.get_by_role("link", name=f"{MODEL}@v1", exact=True)
    )
    earlier.get_by_role("link", name=re.compile("^Audit report")).wait_for()
    assert earlier.get_by_text("classified").count() == 0
    _shoot(page, shots, "registry-classified")

    with page.expect_popup() as opened:
        page.get_by_role("link", name=f"Audit report of {MODEL}@v2 (opens in a new tab)").click()
    report = opened.value
    report.wait_for_load_state()
    assert report.title() == f"Audit report: {MODEL}@v2"
    assert f"{TRAIN}@v2" in report.inner_text("body")
    report.close()

    page.goto(f"/p/{project}/artifacts?kind=dataset&name=render-train")
    with page.expect_popup() as opened:
        page.get_by_role("link", name=f"Audit report of {TRAIN}@v1 (opens in a new tab)").click()
    report = opened.value
    report.wait_for_load_state()
    assert report.title() == f"Audit report: {TRAIN}@v1"
    report.close()

    # The lineage explorer's side panel: what the model carries, and from where.
    page.goto(f"/p/{project}/lineage?ref={MODEL}@v2")
    page.wait_for_selector("[data-testid=graph][data-ready=yes]", timeout=20_000)
    page.locator("ul.node-list").get_by_role("button", name=f"{MODEL}@v2", exact=True).click()
    carried = page.get_by_role("list", name="Classifications carried")
    carried.wait_for()
    assert carried.inner_text() == f"pii from {TRAIN}@v2 (2 edges up)"
    carried.get_by_role("link", name=f"{TRAIN}@v2").wait_for()
    _shoot(page, shots, "lineage-classified")
