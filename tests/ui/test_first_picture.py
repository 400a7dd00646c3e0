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
    # The first picture's code: run before the app's entry, between the marks the server
    # leaves out of every page but the lineage explorer's.
    marked = r"<!--first-picture-->(.*?)<!--/first-picture-->\s*<script[^>]*/index-"
    first = re.search(marked, html, re.S)
    assert first, "index.html has no first picture before the app's entry: the build added none"
    files = re.findall(r'(?:href|src)="(/assets/[^"]+)"', first.group(1))
    assert Path(files[-1]).name.startswith("first-"), files
    assert all((BUILT / f.lstrip("/")).is_file() for f in files), files


def test_only_a_lineage_view_loads_the_first_picture_s_code(page: Page, project: str) -> None:
    loaded = "performance.getEntriesByType('resource').some((e) => /\\/first-/.test(e.name))"
    page.goto(f"/p/{project}/runs")
    page.wait_for_selector("[role=rowgroup] [role=row]", timeout=20_000)
    assert page.evaluate(loaded) is False
    page.goto(f"/p/{project}/lineage?ref={MODEL}:production")
    page.wait_for_selector("[data-testid=graph][data-ready=yes]", timeout=20_000)
    assert page.evaluate(loaded) is True


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


#: The boxes on screen of the page's frame: what the app's first render must draw where the
#: first picture drew it (the picture's nodes, the canvas, the toolbars, the side panel's list).
FRAME = (
    ".lineage-sketch-node, .canvas, header.top, form.toolbar, fieldset.toolbar, .timeline, "
    ".side, .node-list li"
)
FRAME_BOXES = """(selector) => Object.fromEntries([...document.querySelectorAll(selector)]
    .filter((e) => e.checkVisibility({ visibilityProperty: true }))
    .map((e, i) => { const r = e.getBoundingClientRect();
                     return [e.dataset.id ?? `${e.tagName}.${e.className} ${i}`,
                             [r.left, r.top, r.width, r.height].map(Math.round)]; }))"""
#: The page's own reads of the view (Resource Timing): none when the server sent them within it.
VIEW_READS = """() => performance.getEntriesByType('resource')
    .map((e) => new URL(e.name).pathname).filter((p) => /\\/(upstream|downstream)$/.test(p))"""


def _embedded(html: str) -> dict[str, Any]:
    """The answers a page carries within it (lineal.server.ui), by address."""
    found = re.search(r"<script>__linealAnswers\((.*?)\)</script>", html, re.S)
    assert found, "the page carries no answers call"
    return dict(json.loads(found.group(1)))


def test_lineal_ui_sends_a_deep_link_s_first_reads_within_the_page(
    ui_url: str, project: str
) -> None:
    import httpx

    page = httpx.get(f"{ui_url}/p/{project}/lineage", params={"ref": f"{MODEL}:production"})
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert 'data-answers="embedded"' in page.text
    answers = _embedded(page.text)
    assert [url.split("?")[0].rsplit("/", 1)[1] for url in answers] == ["upstream", "downstream"]
    for url, body in answers.items():  # the REST API's own answers to those very addresses
        assert httpx.get(f"{ui_url}{url}").json() == body
    assert any(n["label"].startswith(MODEL) for n in next(iter(answers.values()))["nodes"])
    # Another page, or a view without a reference, is the plain index.html.
    for path in (f"/p/{project}/runs", f"/p/{project}/lineage"):
        plain = httpx.get(f"{ui_url}{path}", params={"ref": f"{MODEL}"} if "runs" in path else {})
        assert "<script>__linealAnswers(" not in plain.text
        assert 'data-answers="embedded"' not in plain.text


@pytest.mark.parametrize(("width", "theme"), [(1400, "light"), (700, "dark")])
def test_the_first_picture_is_drawn_before_the_app_which_takes_it_over_in_place(
    chromium: Any, ui_url: str, project: str, width: int, theme: str
) -> None:
    context = chromium.new_context(viewport={"width": width, "height": 900}, base_url=ui_url)
    context.add_init_script(f"localStorage.setItem('lineal.theme', {json.dumps(theme)})")
    held: list[Route] = []

    def hold(route: Route) -> None:  # the app's entry (React), held back
        held.append(route)

    context.route("**/assets/index-*.js", hold)
    context.route("**/assets/LineageFlow-*.js", lambda route: None)  # React Flow: never
    # The slider's marks, read once the view is painted, widen its menu (in a narrow window
    # the toolbar then wraps): a later change than the app's first render, held back too.
    context.route("**/api/v1/projects/*/timeline*", lambda route: None)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"/p/{project}/lineage?ref={MODEL}:production", wait_until="commit")
        page.wait_for_selector("[data-first=yes] .lineage-sketch-node", timeout=20_000)
        assert held, "the app's entry was not asked for"
        assert page.evaluate("document.documentElement.dataset.theme") == theme
        first: dict[str, Any] = page.evaluate(FRAME_BOXES, FRAME)
        nodes = {k for k in first if "/" in k}
        assert any(k.startswith(f"{MODEL}@sha256") for k in nodes)
        edges = page.locator(".lineage-sketch-edges g[data-id]").count()
        assert edges > 0
        assert page.evaluate(VIEW_READS) == []  # drawn from the answers within the page
        assert page.locator("[data-ready=yes]").count() == 0  # the app has not rendered
        for route in held:
            route.continue_()
        # The app's first render: its own picture (no data-first), the same boxes everywhere.
        page.wait_for_selector(
            "[data-testid=graph][data-ready=yes]:not([data-first]) .lineage-sketch-node",
            timeout=20_000,
        )
        assert page.evaluate(FRAME_BOXES, FRAME) == first
        assert page.locator(".lineage-sketch-edges g[data-id]").count() == edges
        assert page.evaluate(VIEW_READS) == []  # and the app asked nothing again
    finally:
        context.close()
    assert not errors, errors


@pytest.mark.parametrize(
    "search",
    [
        f"?ref={MODEL}:production&dir=up&kinds=model,dataset,run",
        "?ref=model%2Fstreet-classifier%3Aproduction&depth=3&dir=down",
        f"?ref={MODEL}:production&depth=1&expand={MODEL}:production&sel=x",
    ],
)
def test_the_page_asks_no_read_the_server_sent_within_it(
    page: Page, project: str, search: str
) -> None:
    page.goto(f"/p/{project}/lineage{search}")
    page.wait_for_selector("[data-testid=graph][data-ready=yes]", timeout=20_000)
    assert page.evaluate(VIEW_READS) == []


def test_the_server_spells_the_first_reads_as_the_page_does() -> None:
    """lineal.server.ui.first_reads: the addresses of index.html's early reads, as the
    browser's URLSearchParams writes them (each a space as +, ~ escaped, * kept)."""
    from lineal.server.ui import first_reads

    assert first_reads("/p/my%20p/lineage", "ref=model/m~1*%20x&dir=up&kinds=a,,b&asof=7") == (
        "my p",
        ["/api/v1/projects/my%20p/upstream?ref=model%2Fm%7E1*+x&depth=2&kind=a&kind=b&as_of=7"],
    )
    assert first_reads("/p/p/lineage/", "ref=r&depth=0&dir=down&expand=a,b&ref=ignored") == (
        "p",
        [
            "/api/v1/projects/p/downstream?ref=r&depth=0",
            "/api/v1/projects/p/upstream?ref=a&depth=1",
            "/api/v1/projects/p/downstream?ref=a&depth=1",
            "/api/v1/projects/p/upstream?ref=b&depth=1",
            "/api/v1/projects/p/downstream?ref=b&depth=1",
        ],
    )
    for path, query in (
        ("/p/p/runs", "ref=r"),  # another page
        ("/p/p/lineage", ""),  # no reference: the start page
        ("/p/p/lineage", "ref=r&depth=1e1"),  # a depth the page reads as JavaScript does
        ("/p/%ff/lineage", "ref=r"),  # a project name that is not UTF-8
    ):
        assert first_reads(path, query) is None, (path, query)
