"""The web UI in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against a
real `lineal ui` process, timed by the page's own clock (``performance.now()``, ms since the
navigation started, polled each animation frame):

  runs      the runs page over 10,000 runs: first contentful paint, and the first row drawn
  chart     the comparison page with a 1,000,000-point metric: the chart drawn (the server
            thins the series to 1,000 points keeping extremes); then a zoom (a drag over a
            tenth of the steps) until the chart is drawn again with that range's detail
  lineage   (--lineage) the explorer on the 155k-node graph of bench/lineage.py: a depth-2
            view of a model drawn (layout done), then a click expanding a node, drawn

A zoom, an added run and an expansion are timed once the page's other reads are answered
(the network idle), as a user clicks.

Each figure is the median of ``--reps`` page loads after a warm-up. The stores are built with
lineal's own write path first (their build times are printed).

    python bench/ui.py [--runs 10000] [--points 1000000] [--reps 5] [--lineage]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path
from typing import Any

import httpx

from lineal.client import Lineal
from lineal.ledger.keys import Signer
from lineal.model.ops import AgentRegister, MetricsBatch
from lineal.model.series import Series
from lineal.store.registry import open_store

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
CHROMIUM = "/usr/bin/chromium"


def build_runs(uri: str, runs: int, points: int) -> tuple[str, str]:
    """``runs`` runs (5 params, 5 metrics, a tag each) and one run of ``points`` points; the
    refs of that run and of one short run."""
    signer = Signer.generate("bench")
    store = open_store(uri, signer, create=True)
    store.append(AgentRegister(name="bench", public_key=signer.public_key))
    repo = Lineal(store)
    rnd = random.Random(4)
    first = ""
    for i in range(runs):
        with repo.atomic():
            params = {f"p{k}": rnd.random() for k in range(5)}
            run = repo.start_run(f"run{i}", params=params)
            metrics = {f"m{k}": rnd.random() for k in range(5)} | ({"loss": 0.5} if i == 0 else {})
            repo.log_metrics(run, metrics, step=0)
            repo.set_tag(run, "t", f"team{rnd.randrange(20)}")
            repo.finish_run(run)
            first = first or run.ref
    long = repo.start_run("long")
    for start in range(0, points, 100_000):
        steps = range(start, min(points, start + 100_000))
        values = array("d", (((s * 7919) % 1000) / 1000 for s in steps))
        store.append(
            MetricsBatch(
                run=long.id,
                series=(Series("loss", array("q", steps), values, array("d", [1.0] * len(steps))),),
            )
        )
    store.close()
    return long.ref, first


def serve(uri: str, folder: Path) -> tuple[subprocess.Popen[str], str]:
    from server_process import LINEAL_BIN, free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    env["LINEAL_URI"] = uri
    log = (folder / "ui.log").open("w")
    proc = subprocess.Popen(
        [str(LINEAL_BIN), "ui", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"lineal ui did not answer: {(folder / 'ui.log').read_text()}")


def when(page: Any, condition: str, timeout: float = 120_000) -> float:
    """``performance.now()`` at the first animation frame where ``condition`` holds."""
    found = page.wait_for_function(
        f"() => ({condition}) && performance.now()", polling="raf", timeout=timeout
    )
    return float(found.json_value())


def median(samples: list[float]) -> str:
    return f"{statistics.median(samples):7.0f} ms (min {min(samples):.0f}, max {max(samples):.0f})"


def bench_runs(browser: Any, url: str, project: str, reps: int) -> None:
    paints, rows = [], []
    for rep in range(reps + 1):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}/p/{project}/runs", wait_until="commit")
        row = when(page, "document.querySelector('[role=row][aria-rowindex=\"2\"]')")
        paint = page.evaluate(
            "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1"
        )
        total = page.locator("[role=status]").first.inner_text()
        page.close()
        if rep:  # the first load warms the server and the browser's cache
            paints.append(paint)
            rows.append(row)
    print(f"runs page ({total}): first contentful paint {median(paints)}")
    print(f"runs page: first row drawn                {median(rows)}")


def bench_chart(browser: Any, url: str, project: str, runs: tuple[str, str], reps: int) -> None:
    drawn, zoomed, added = [], [], []
    drawn_chart = "document.querySelector('.chart[data-drawn]')"
    for rep in range(reps + 1):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(
            f"{url}/p/{project}/compare?runs={','.join(runs)}&metrics=loss", wait_until="commit"
        )
        at = when(page, f"{drawn_chart} && {drawn_chart}.querySelector('canvas')")
        page.wait_for_load_state("networkidle")  # the page's other reads (the diff) done
        box = page.locator(".chart .u-over").first.bounding_box()
        assert box is not None
        start = page.evaluate("performance.now()")
        page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] / 2, steps=4)
        page.mouse.up()
        again = when(page, f"{drawn_chart} && Number({drawn_chart}.dataset.firstStep) > 0")
        # The page loaded with the short run alone, then the long run added with a click.
        page.goto(f"{url}/p/{project}/compare?runs={runs[1]}&metrics=loss", wait_until="commit")
        when(page, f"{drawn_chart} && {drawn_chart}.querySelector('canvas')")
        page.wait_for_load_state("networkidle")
        page.get_by_label("Add a run").fill(runs[0])
        start_click = page.evaluate("performance.now()")
        page.get_by_role("button", name="Add", exact=True).click()
        clicked = when(page, f"{drawn_chart} && Number({drawn_chart}.dataset.drawn) > 2")
        page.close()
        if rep:
            drawn.append(at)
            zoomed.append(again - start)
            added.append(clicked - start_click)
    print(f"compare, 1M-point metric: chart drawn      {median(drawn)} (from navigation)")
    print(f"compare, 1M-point run added: drawn         {median(added)} (from the click)")
    print(f"compare, zoom to a tenth: drawn again      {median(zoomed)} (from the drag)")


def bench_lineage(browser: Any, reps: int, folder: Path) -> None:
    sys.path.insert(0, str(REPO / "bench"))
    from lineage import Graph, build, ops  # bench/lineage.py: the peers' 155k-node graph

    graph = Graph()
    history, nodes = ops(graph)
    uri = f"sqlite:///{folder / 'lineage.db'}"
    start = time.perf_counter()
    build(uri, history)[0].close()
    print(f"built the lineage graph ({graph.describe()}) in {time.perf_counter() - start:.0f}s")
    proc, url = serve(uri, folder)
    try:
        project = httpx.get(f"{url}/api/v1/projects").json()[0]
        model = nodes[graph.queries[0]]
        views, expands = [], []
        ready = "document.querySelector('[data-testid=graph][data-ready=yes]')"
        for rep in range(reps + 1):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{url}/p/{project}/lineage?ref={model}&depth=2", wait_until="commit")
            at = when(page, ready)
            page.wait_for_load_state("networkidle")  # the page's other reads (the timeline) done
            count = page.locator("ul.node-list button").count()
            start = page.evaluate("performance.now()")
            page.locator("ul.node-list button").nth(count - 1).click()
            done = when(
                page,
                f"{ready} && document.querySelectorAll('ul.node-list button').length > {count}",
            )
            page.close()
            if rep:
                views.append(at)
                expands.append(done - start)
        print(f"lineage, depth 2 of a model: drawn         {median(views)} (from navigation)")
        print(f"lineage, expand a node: drawn              {median(expands)} (from the click)")
    finally:
        from server_process import stop

        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--lineage", action="store_true", help="also the 155k-node graph")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from server_process import stop

    folder = Path(tempfile.mkdtemp(prefix="lineal-ui-bench-"))
    uri = f"sqlite:///{folder / 'runs.db'}"
    start = time.perf_counter()
    runs = build_runs(uri, args.runs, args.points)
    took = time.perf_counter() - start
    print(f"built {args.runs} runs and a {args.points}-point run in {took:.0f}s")
    proc, url = serve(uri, folder)
    try:
        project = httpx.get(f"{url}/api/v1/projects").json()[0]
        with sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            bench_runs(browser, url, project, args.reps)
            bench_chart(browser, url, project, runs, args.reps)
            if args.lineage:
                bench_lineage(browser, args.reps, folder)
            browser.close()
    finally:
        stop(proc)


if __name__ == "__main__":
    main()
