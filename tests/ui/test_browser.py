"""The web UI driven as a user drives it, in headless Chromium, on the demo store: the
production model back to its scene and licence, the graph as it stood before the second
iteration, the two evaluation runs compared with the renamed class's schema ranked first,
the audit trail; every page screenshotted and checked by axe-core."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from browser_checks import serious_violations

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.ui

MODEL = "model/street-classifier"


#: Every node of the graph drawn (React Flow hides a node it has not measured), and inside the
#: canvas (the view fitted to its layout).
ALL_NODES_SHOWN = """() => {
    const nodes = [...document.querySelectorAll('.react-flow__node')];
    const pane = document.querySelector('.react-flow')?.getBoundingClientRect();
    const inside = (n) => {
        const r = n.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        return r.width > 0 && x >= pane.left && x <= pane.right
            && y >= pane.top && y <= pane.bottom;
    };
    return nodes.length > 0 && !!pane
        && nodes.every(n => n.checkVisibility({visibilityProperty: true}) && inside(n));
}"""


def _graph_ready(page: Page) -> None:
    page.wait_for_selector("[data-testid=graph][data-ready=yes]", timeout=20_000)
    page.wait_for_function(ALL_NODES_SHOWN, timeout=10_000)


def _nodes(page: Page) -> list[str]:
    return page.locator("ul.node-list button").all_inner_texts()


def _pick(page: Page, label: str) -> None:
    """Select (and expand) a node by its label, from the keyboard-reachable node list."""
    page.locator("ul.node-list").get_by_role("button", name=label, exact=True).click()
    _graph_ready(page)


def _shoot(page: Page, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def test_from_the_production_model_to_the_scene_and_its_licence(
    page: Page, project: str, api: Any, shots: Path
) -> None:
    page.goto(f"/p/{project}/registry")
    page.get_by_role("heading", name=f"{MODEL}").wait_for()
    page.get_by_role("link", name=":production").first.click()
    _graph_ready(page)
    assert page.locator("#ref").input_value() == f"{MODEL}:production"
    assert f"{MODEL}@v2" in _nodes(page)

    # Upstream, a click at a time: the training set, the run that rendered it, the scene.
    _pick(page, "dataset/render-train@v2")
    renders = [n for n in _nodes(page) if n.startswith("run/")]
    render_run = api("runs", where="name = 'render-train'")[0]["ref"]
    assert render_run in renders
    _pick(page, render_run)
    assert "scene/street@v2" in _nodes(page)
    _pick(page, "scene/street@v2")
    details = page.get_by_role("complementary", name="Node details")
    assert details.get_by_role("heading", name="scene/street@v2").is_visible()
    page.get_by_test_id("licence").wait_for()
    assert page.get_by_test_id("licence").inner_text() == "CC0-1.0"
    assert re.search(r"sel=scene", page.url)  # the selection is in the URL
    _shoot(page, shots, "lineage-scene")

    # The deep link opens the same view in a fresh page.
    link = page.url
    page.goto("about:blank")
    page.goto(link)
    _graph_ready(page)
    page.get_by_test_id("licence").wait_for()
    assert page.get_by_test_id("licence").inner_text() == "CC0-1.0"

    # Path highlighting between the scene and the model.
    page.get_by_role("button", name="Path from here").click()
    _pick(page, f"{MODEL}@v2")
    page.get_by_role("button", name="Path to here").click()
    page.get_by_text(re.compile(r"\d+ nodes highlighted")).wait_for()
    on_path = page.locator("ul.node-list button.on-path").all_inner_texts()
    assert {"scene/street@v2", "dataset/render-train@v2", f"{MODEL}@v2"} <= set(on_path)

    # Exports: dot and mermaid text of the view.
    with page.expect_download() as download:
        page.get_by_role("button", name="dot", exact=True).click()
    dot = Path(download.value.path()).read_text()
    assert dot.startswith("digraph lineage {")
    assert "scene/street@v2" in dot
    with page.expect_download() as download:
        page.get_by_role("button", name="SVG", exact=True).click()
    assert "<svg" in Path(download.value.path()).read_text()


def test_the_time_slider_replays_the_graph_before_the_second_iteration(
    page: Page, project: str, api: Any, shots: Path
) -> None:
    first_promotion = api(f"models/{MODEL.split('/')[1]}/history")["promotions"][0]["seq"]
    page.goto(f"/p/{project}/lineage?ref={MODEL}:production")
    _graph_ready(page)
    assert f"{MODEL}@v2" in _nodes(page)
    page.locator("#asof").fill(str(first_promotion))
    page.wait_for_url(re.compile(rf"asof={first_promotion}"))
    _graph_ready(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll('ul.node-list button')]"
        f".some(b => b.textContent === '{MODEL}@v1')"
    )
    nodes = _nodes(page)
    assert f"{MODEL}@v1" in nodes
    assert f"{MODEL}@v2" not in nodes
    assert "dataset/render-train@v1" in nodes
    assert page.get_by_test_id("asof-value").inner_text().startswith(f"record {first_promotion}")
    _shoot(page, shots, "lineage-as-of")
    page.get_by_role("button", name="Now", exact=True).click()
    _graph_ready(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll('ul.node-list button')]"
        f".some(b => b.textContent === '{MODEL}@v2')"
    )


def test_comparing_the_two_evaluation_runs_ranks_the_label_schema_first(
    page: Page, project: str, api: Any, shots: Path
) -> None:
    evaluations = api("runs", where="name = 'evaluate-classifier'")
    first, last = evaluations[-1]["ref"], evaluations[0]["ref"]  # newest first
    page.goto(f"/p/{project}/runs")
    page.get_by_label(f"Select {first} for comparison").check()
    page.get_by_label(f"Select {last} for comparison").check()
    _shoot(page, shots, "runs")
    page.get_by_role("button", name="Compare 2 selected").click()
    page.wait_for_url(re.compile(r"/compare\?runs="))
    table = page.get_by_role("table", name="Upstream changes, ranked")
    table.wait_for()
    top = table.locator("tbody tr").first
    assert top.get_attribute("data-category") == "schema"
    metrics = page.get_by_role("table", name="Last metric values").inner_text()
    assert "AP/pedestrian" in metrics  # the class before the rename
    assert "AP/person" in metrics  # and after
    page.locator(".chart canvas").first.wait_for()
    _shoot(page, shots, "compare")

    # The rename itself, on the label schema's page.
    page.goto(f"/p/{project}/artifacts?kind=schema&name=render-eval")
    page.get_by_text("renamed").wait_for()
    assert "pedestrian → person" in page.inner_text("main")
    _shoot(page, shots, "schema")


def test_the_audit_trail_shows_who_promoted_the_model(
    page: Page, project: str, shots: Path
) -> None:
    page.goto(f"/p/{project}/audit")
    rows = page.get_by_role("table", name="Audit rows, newest first")
    rows.locator("tbody tr").first.wait_for()
    text = rows.inner_text()
    assert "model.promote" in text
    assert "demo-engineer" in text
    page.get_by_label("ref").fill(f"{MODEL}:production")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"ref=model"))
    _shoot(page, shots, "audit")


PAGES = [
    ("lineage", "lineage?ref=model/street-classifier:production"),
    ("runs", "runs"),
    ("compare", "compare"),
    ("registry", "registry"),
    ("data", "artifacts?kind=dataset"),
    ("audit", "audit"),
    ("verify", "verify"),
]


@pytest.mark.parametrize(("name", "path"), PAGES, ids=[name for name, _ in PAGES])
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_each_page_has_no_serious_accessibility_violation(
    page: Page, project: str, shots: Path, name: str, path: str, theme: str
) -> None:
    page.emulate_media(color_scheme=theme)
    page.goto(f"/p/{project}/{path}")
    page.get_by_role("heading", level=1).first.wait_for()
    page.wait_for_load_state("networkidle")
    if name == "lineage":
        _graph_ready(page)
    _shoot(page, shots, f"page-{name}-{theme}")
    assert serious_violations(page) == []


def test_a_narrow_window_keeps_every_page_usable(page: Page, project: str, shots: Path) -> None:
    page.set_viewport_size({"width": 420, "height": 860})
    page.goto(f"/p/{project}/lineage?ref={MODEL}:production")
    _graph_ready(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 440
    _shoot(page, shots, "narrow-lineage")
    page.goto(f"/p/{project}/registry")
    page.get_by_role("heading", name=MODEL).wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 440


def test_the_keyboard_reaches_the_pages_and_the_theme(page: Page, project: str) -> None:
    page.goto(f"/p/{project}/verify")
    page.get_by_text("verified").wait_for()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Lineage"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/lineage"))
    page.get_by_label("Theme").select_option("dark")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
