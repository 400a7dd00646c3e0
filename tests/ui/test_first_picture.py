"""The lineage view opened by address is drawn before React Flow has loaded (a first picture of
plain elements), and React Flow, loaded after it, takes over with every node where the picture
drew it; the built page preloads each deep-linked page's chunk."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

pytestmark = pytest.mark.ui

BUILT = Path(__file__).resolve().parents[2] / "src" / "lineal" / "server" / "ui_static"
MODEL = "model/street-classifier"

#: Each node of the view by id, as a box on screen (rounded): those of `selector`.
BOXES = """(selector) => Object.fromEntries([...document.querySelectorAll(selector)]
    .filter((e) => e.checkVisibility({ visibilityProperty: true }))
    .map((e) => { const r = e.getBoundingClientRect();
                  return [e.dataset.id, [r.left, r.top, r.width, r.height].map(Math.round)]; }))"""


def test_the_built_page_preloads_the_chunks_of_the_pages_opened_by_address(
    ui_url: str,
) -> None:
    html = (BUILT / "index.html").read_text()
    found = re.search(r"var chunks = (\{.*?\});", html)
    assert found, "index.html's early script has no chunk list: the build did not fill it in"
    chunks = json.loads(found.group(1))
    for page, module in (("lineage", "Lineage"), ("compare", "Compare")):
        files = chunks.get(page, [])
        assert any(Path(f).name.startswith(f"{module}-") for f in files), (page, files)
        assert all((BUILT / f.lstrip("/")).is_file() for f in files), files
    # React Flow is not among what the lineage page's first picture waits for.
    assert not any("LineageFlow" in f for f in chunks["lineage"])


def test_react_flow_takes_over_the_first_picture_in_place(page: Page, project: str) -> None:
    held: list[Route] = []

    def hold(route: Route) -> None:  # React Flow's chunk, held back until the picture is read
        held.append(route)

    page.route("**/assets/LineageFlow-*.js", hold)
    page.goto(f"/p/{project}/lineage?ref={MODEL}:production")
    page.wait_for_selector("[data-testid=graph][data-ready=yes] .lineage-sketch-node")
    sketched = page.locator(".lineage-sketch-edges path").count()
    picture: dict[str, Any] = page.evaluate(BOXES, ".lineage-sketch-node")
    assert f"{MODEL}@sha256" in " ".join(picture)
    assert page.locator(".react-flow__node").count() == 0
    for _ in range(400):  # the chunk is asked for once the picture is painted
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "React Flow's chunk was never asked for"
    for route in held:
        route.continue_()
    page.wait_for_function("() => !document.querySelector('.lineage-sketch')", timeout=20_000)
    assert page.evaluate(BOXES, ".react-flow__node") == picture
    assert page.locator(".react-flow__edge").count() == sketched > 0
