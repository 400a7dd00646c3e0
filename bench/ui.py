"""The web UI's figures, measured in a real headless Chromium against real `lineal ui` processes.

Chromium is Debian's /usr/bin/chromium driven by Playwright (nothing downloads a browser).
Each page load gets a fresh browser context (an empty cache) and an init script that watches
the page from outside the app: a MutationObserver and a wrapped
CanvasRenderingContext2D.prototype.stroke note the page's clock (``performance.now()``, ms
since the navigation started) and, through requestAnimationFrame plus a message, the moment
after the next paint. Every figure is the median of --loads loads after one warm-up load.

  1. runs page, 10,000 runs (5 params, 5 metrics, a tag each): navigation to the first table
     rows painted (the page's first meaningful paint; Chromium's first-contentful-paint from
     its performance timeline is printed beside it). Goal: under 1 s.
     Reference: the MLflow UI (`mlflow server` over a sqlite store holding the same runs)
     loaded and timed the same way, to the first rows of its runs table (it shows 100).
  2. comparison page, a run with a 1,000,000-point metric beside a short run (deep link
     compare?runs=A,B&metrics=loss): navigation to the chart drawn (the last canvas stroke
     after the long run's series was answered, the chart then still for 600 ms). Goal: under
     1 s. Then a drag over a tenth of the steps (uPlot's zoom, which asks for that range) to
     the chart drawn again; and, on a page comparing two short runs, the long run typed into
     "Add a run" and a click on Add to the chart drawn with it (once the page's other reads
     are answered). Goal for the click: under 1 s.
     Reference: GET .../metrics?max_points=1000 for the long run alone (what the chart asks
     the server for: the floor of the round trip), and the same for the zoomed range.
  3. lineage explorer on the 155k-node graph of bench/lineage.py (the peers' generator,
     written through lineal's write path): a depth-2 view of a model, navigation to its
     nodes drawn in place: the first paint of the view's final picture (every node shown
     where it then stays and every edge drawn, whether by the page's first picture or by
     React Flow, which replaces it in place), once the view is still for 600 ms with React
     Flow's nodes shown (the last change is printed beside it); then a click on a node at
     the edge of the view until the view is drawn again with the new nodes. Goals: under
     300 ms and under 200 ms.
     References: the API's own upstream + downstream depth-2 answers for that model (the
     page asks both, at once), and the depth-1 answers for the clicked node (the expansion).

The MLflow store: its first run is logged through MlflowClient.log_batch, the others are
copies of that run's rows with their own ids and values, written in one transaction
(log_batch makes ~8 runs a second here: 20 minutes for 10,000).

    python bench/ui.py [--runs 10000] [--points 1000000] [--loads 5] [--no-mlflow] [--quick]
                       [--only runs|compare|lineage]

Prints ``name  ours  reference  ratio`` lines; every store and process it starts is removed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
CHROMIUM = Path("/usr/bin/chromium")
BUNDLE = REPO / "src" / "lineal" / "server" / "ui_static" / "index.html"
BENCH_DIR = Path(os.environ.get("BENCH_DIR", str(Path(tempfile.gettempdir()) / "peers-bench")))
QUIET_MS = 600
LAUNCH = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# The page's clock, from outside the app: the first match of FIRST (painted), the last
# change under REGION or canvas stroke (painted), the last pointerdown.
WATCH = """
(() => {
  const CFG = __CFG__;
  const B = { first: null, firstPainted: null, last: null, lastPainted: null, strokes: 0,
              click: null, count: 0, hidden: 0, picture: null, pictureAt: null,
              picturePainted: null, framed: false };
  window.__lb = B;
  const afterPaint = (done) => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => done(performance.now());
    channel.port2.postMessage(null);
  });
  // The picture: each node shown (by its id) where it is on screen, and the edges drawn (by id).
  // The same node drawn twice in one place (a first picture under the view that replaces it) is
  // one; a node moved, added or removed, or an edge added or removed, is a new picture. Taken in
  // the frame's requestAnimationFrame, before it paints: what that frame shows.
  const framePicture = () => {
    const shown = (selector) => [...document.querySelectorAll(selector)]
      .filter((e) => e.checkVisibility({ visibilityProperty: true }));
    const at = (e) => {
      const r = e.getBoundingClientRect();
      return `${e.dataset.id}@${[r.left, r.top, r.width, r.height].map(Math.round)}`;
    };
    const edges = CFG.edges ? shown(CFG.edges).map((e) => e.dataset.id) : [];
    return [...new Set(shown(CFG.count).map(at))].sort().join(" ") + " | "
      + [...new Set(edges)].sort().join(" ");
  };
  const touched = () => {
    const now = performance.now();
    B.last = now;
    if (CFG.count) {  // those shown: React Flow keeps a node hidden until it is measured
      const all = [...document.querySelectorAll(CFG.count)];
      const shown = all.filter((e) => e.checkVisibility({ visibilityProperty: true }));
      B.count = shown.length;
      B.hidden = all.length - B.count;
    }
    if (CFG.count && !B.framed) {  // the picture as the next frame paints it
      B.framed = true;
      requestAnimationFrame(() => {
        B.framed = false;
        const picture = framePicture();
        if (picture === B.picture) return;
        const at = performance.now();
        B.picture = picture;
        B.pictureAt = at;
        const channel = new MessageChannel();
        channel.port1.onmessage = () => {
          if (B.pictureAt === at) B.picturePainted = performance.now();
        };
        channel.port2.postMessage(null);
      });
    }
    afterPaint((t) => { if (B.last === now) B.lastPainted = t; });
  };
  const inside = (node) => {
    const el = node.nodeType === 1 ? node : node.parentElement;
    return !!el && (!!el.closest(CFG.region) || (node.nodeType === 1 &&
      (el.matches(CFG.region) || !!el.querySelector(CFG.region))));
  };
  new MutationObserver((records) => {
    const now = performance.now();
    if (CFG.first && B.first === null && document.querySelector(CFG.first)) {
      B.first = now;
      afterPaint((t) => { B.firstPainted = t; });
    }
    if (CFG.region && records.some((r) => inside(r.target) ||
        [...r.addedNodes, ...r.removedNodes].some(inside))) touched();
  }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  if (CFG.strokes) {
    const stroke = CanvasRenderingContext2D.prototype.stroke;
    CanvasRenderingContext2D.prototype.stroke = function (...args) {
      B.strokes += 1;
      touched();
      return stroke.apply(this, args);
    };
  }
  addEventListener("pointerdown", () => { B.click = performance.now(); }, true);
  // When the last request whose URL holds PART, started after SINCE, was answered (or null).
  B.fetched = (part, since) => {
    const ends = performance.getEntriesByType("resource")
      .filter((e) => e.name.includes(part) && e.startTime >= since && e.responseEnd > 0)
      .map((e) => e.responseEnd);
    return ends.length ? Math.max(...ends) : null;
  };
})();
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _process(
    cmd: list[str], cwd: Path, health: str, name: str, env: dict[str, str]
) -> Iterator[None]:
    """A server process in its own process group, stopped (the group) on the way out."""
    log = cwd / f"{name}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(health, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} did not answer within 180 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield
    finally:
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return env


@contextmanager
def lineal_ui(folder: Path) -> Iterator[tuple[str, str]]:
    """`lineal ui` over the workspace in ``folder``: its URL and its one project."""
    port = _free_port()
    cmd = [
        sys.executable,
        "-c",
        "from lineal.cli.main import main; main()",
        "ui",
        "--port",
        str(port),
    ]
    url = f"http://127.0.0.1:{port}"
    with _process(cmd, folder, f"{url}/api/v1/health", "lineal-ui", _clean_env()):
        (project,) = httpx.get(f"{url}/api/v1/projects", timeout=30).json()
        yield url, str(project)


# -- the stores -------------------------------------------------------------------------------


def _workspace(folder: Path) -> Any:
    import lineal
    from lineal.client import Lineal

    folder.mkdir(parents=True)
    lineal.init(folder, agent="bench")
    return Lineal.open(path=folder)


def _run_values(runs: int) -> Iterator[tuple[dict[str, str], dict[str, float], str]]:
    """Params, metrics and a tag of each run: the same for lineal and MLflow."""
    rnd = random.Random(21)
    for _ in range(runs):
        params = {
            "lr": f"{rnd.choice([1e-4, 3e-4, 1e-3, 3e-3])}",
            "batch": str(rnd.choice([16, 32, 64, 128])),
            "optimizer": rnd.choice(["adam", "sgd", "adamw"]),
            "seed": str(rnd.randrange(1000)),
            "arch": f"resnet{rnd.choice([18, 34, 50])}",
        }
        metrics = {
            "loss": rnd.random(),
            "accuracy": rnd.random(),
            "mAP": rnd.random(),
            "precision": rnd.random(),
            "recall": rnd.random(),
        }
        yield params, metrics, f"team{rnd.randrange(20)}"


def _series(key: str, steps: range, values: Iterable[float]) -> Any:
    from lineal.model.series import Series

    now = time.time()
    return Series(
        key,
        array("q", steps),
        array("d", values),
        array("d", [now] * len(steps)),
        ordered=True,
    )


def build_runs(folder: Path, runs: int, points: int) -> list[str]:
    """``runs`` runs, then a run with a ``points``-point "loss" and two short ones (their
    refs). Ops appended in transactions of 2,000."""
    from ulid import ULID

    from lineal.model.ops import MetricsBatch, RunFinish, RunStart, TagSet

    repo = _workspace(folder)
    stamp = "2026-12-01T00:00:00.000000Z"
    batch: list[Any] = []
    for i, (params, metrics, team) in enumerate(_run_values(runs)):
        run_id = str(ULID())
        batch.append(RunStart(id=run_id, name=f"run{i}", started=stamp, params=params))
        batch.append(
            MetricsBatch(
                run=run_id,
                series=tuple(_series(k, range(1), [v]) for k, v in metrics.items()),
            )
        )
        batch.append(TagSet(target=f"run/{run_id}", key="team", value=team))
        batch.append(RunFinish(id=run_id, status="finished", ended=stamp))
        if len(batch) >= 2000:
            repo.store.append(batch)
            batch = []
    if batch:
        repo.store.append(batch)
    rnd = random.Random(7)
    refs = []
    for name, n in (("long", points), ("short", 1000), ("short2", 1000)):
        run_id = str(ULID())
        repo.store.append(RunStart(id=run_id, name=name, started=stamp, params={"points": n}))
        for start in range(0, n, 100_000):
            steps = range(start, min(n, start + 100_000))
            curve = _series("loss", steps, (2 / (1 + s / 5e4) + rnd.random() * 0.2 for s in steps))
            repo.store.append(MetricsBatch(run=run_id, series=(curve,)))
        repo.store.append(RunFinish(id=run_id, status="finished", ended=stamp))
        refs.append(f"run/{run_id}")
    repo.close()
    return refs


def build_mlflow(folder: Path, runs: int) -> str:
    """The same runs in an MLflow sqlite store (see the module's note); its experiment id."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    folder.mkdir(parents=True)
    db = folder / "mlflow.db"
    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    experiment = client.create_experiment("bench", artifact_location=str(folder / "artifacts"))
    values = list(_run_values(runs))
    params, metrics, team = values[0]
    first = client.create_run(experiment, run_name="run0", start_time=1_796_000_000_000)
    now = 1_796_000_000_000
    client.log_batch(
        first.info.run_id,
        metrics=[Metric(k, v, now, 0) for k, v in metrics.items()],
        params=[Param(k, v) for k, v in params.items()],
        tags=[RunTag("team", team)],
    )
    client.set_terminated(first.info.run_id, end_time=now + 1000)
    template = first.info.run_id
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        tables = ("runs", "tags", "params", "metrics", "latest_metrics")
        rows = {
            t: [dict(r) for r in conn.execute(f"SELECT * FROM {t} WHERE run_uuid = ?", (template,))]
            for t in tables
        }
        for i, (params, metrics, team) in enumerate(values[1:], start=1):
            run_id = uuid.uuid4().hex
            for table, found in rows.items():
                out = []
                for one in found:
                    row = dict(one, run_uuid=run_id)
                    if table == "runs":
                        row.update(
                            name=f"run{i}",
                            start_time=now + i,
                            end_time=now + i + 1000,
                            artifact_uri=row["artifact_uri"].replace(template, run_id),
                        )
                    elif table == "tags":
                        value = {"mlflow.runName": f"run{i}", "team": team}.get(row["key"])
                        row["value"] = row["value"] if value is None else value
                    elif table == "params":
                        row["value"] = params[row["key"]]
                    else:
                        row["value"] = metrics[row["key"]]
                    out.append(row)
                if out:
                    keys = list(out[0])
                    conn.executemany(
                        f"INSERT INTO {table} ({', '.join(keys)}) "
                        f"VALUES ({', '.join('?' for _ in keys)})",
                        [tuple(r[k] for k in keys) for r in out],
                    )
    return str(experiment)


@contextmanager
def mlflow_ui(folder: Path) -> Iterator[str]:
    port = _free_port()
    cmd = [
        str(Path(sys.executable).parent / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{folder / 'mlflow.db'}",
        "--default-artifact-root",
        str(folder / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    url = f"http://127.0.0.1:{port}"
    with _process(cmd, folder, f"{url}/health", "mlflow-server", env):
        yield url


# -- measuring --------------------------------------------------------------------------------


class Browser:
    def __init__(self, browser: Any) -> None:
        self.browser = browser

    def open(
        self,
        url: str,
        *,
        first: str | None = None,
        region: str | None = None,
        count: str | None = None,
        edges: str | None = None,
        strokes: bool = False,
    ) -> Any:
        config = {
            "first": first,
            "region": region,
            "count": count,
            "edges": edges,
            "strokes": strokes,
        }
        context = self.browser.new_context(viewport={"width": 1400, "height": 900})
        context.add_init_script(WATCH.replace("__CFG__", json.dumps(config)))
        page = context.new_page()
        page.goto(url, wait_until="commit")
        return page


API_CALLS = """() => performance.getEntriesByType('resource')
  .filter((e) => e.name.includes('/api/'))
  .map((e) => [new URL(e.name).pathname.split('/').pop() + ' '
               + (new URL(e.name).searchParams.get('ref') ?? new URL(e.name).searchParams.get('run')
                  ?? '').slice(0, 24),
               e.startTime, e.responseEnd, e.encodedBodySize])"""


def api_calls(page: Any, after: int = 0) -> tuple[str, int]:
    """The page's API requests from the ``after``-th on (Resource Timing): what, when it
    started and ended, its size; and how many there were in all."""
    calls = page.evaluate(API_CALLS)
    text = "; ".join(
        f"{what.strip()} {start:.0f}-{end:.0f} ms {size / 1e3:,.0f} kB"
        for what, start, end, size in calls[after:]
    )
    return text, len(calls)


def first_rows(
    browser: Browser, url: str, rows: str, *, warm: bool = False
) -> tuple[float, float, int, str]:
    """Navigation to the first ``rows`` painted; the first contentful paint; rows drawn; what
    the page's status line says. ``warm``: of a reload, the page's files in the cache."""
    page = browser.open(url, first=rows)
    try:
        if warm:
            page.wait_for_function("() => window.__lb.firstPainted !== null", timeout=120_000)
            page.reload(wait_until="commit")
        page.wait_for_function("() => window.__lb.firstPainted !== null", timeout=120_000)
        at = float(page.evaluate("window.__lb.firstPainted"))
        fcp = float(
            page.evaluate(
                "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN"
            )
        )
        shown = int(page.evaluate(f"document.querySelectorAll({json.dumps(rows)}).length"))
        status = page.evaluate("document.querySelector('[role=status]')?.textContent ?? ''")
        return at, fcp, shown, str(status).strip()
    finally:
        page.context.close()


SETTLED = f"""() => {{
  const B = window.__lb;
  return B.last !== null && B.lastPainted !== null && B.lastPainted >= B.last
    && performance.now() - B.last > {QUIET_MS} && (__MORE__);
}}"""


class NotDrawn(Exception):
    """The page never showed what a figure waits for."""


def settled(page: Any, more: str = "true", timeout: float = 120_000) -> None:
    page.wait_for_function(SETTLED.replace("__MORE__", more), timeout=timeout, polling=50)


def drawn_after(part: str, since: str = "0") -> str:
    """Canvas strokes after the answer to a request holding ``part`` (started after ``since``)."""
    got = f"B.fetched({json.dumps(part)}, {since})"
    return f"{got} !== null && B.strokes > 0 && B.last > {got}"


def chart_drawn(browser: Browser, url: str, long: str) -> tuple[float, float, int, str]:
    """Navigation to the chart drawn with the long run's series; then a drag over a tenth of
    its steps (uPlot's zoom, which asks for that range) to the chart drawn again."""
    page = browser.open(url, region=".chart", strokes=True)
    try:
        settled(page, drawn_after(f"run={quote(long, safe='')}"))
        drawn = float(page.evaluate("window.__lb.lastPainted"))
        calls = api_calls(page)[0]
        strokes = int(page.evaluate("window.__lb.strokes"))
        box = page.locator(".chart .u-over").first.bounding_box()
        assert box is not None, "no uPlot chart on the page"
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] * 0.45, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.55, y, steps=4)
        page.mouse.up()
        settled(page, "B.click !== null && " + drawn_after("from_step=", "B.click"))
        zoom = float(page.evaluate("window.__lb.lastPainted - window.__lb.click"))
        return drawn, zoom, strokes, calls
    finally:
        page.context.close()


def run_added(browser: Browser, url: str, long: str) -> float:
    """From a click on Add (the long run typed in) to the chart drawn with its series."""
    page = browser.open(url, region=".chart", strokes=True)
    try:
        settled(page, "B.strokes > 0")
        page.wait_for_load_state("networkidle")  # the page's other reads answered, as a user sees
        page.get_by_label("Add a run").fill(long)
        page.get_by_role("button", name="Add", exact=True).click()
        wanted = f"run={quote(long, safe='')}"
        settled(page, "B.click !== null && " + drawn_after(wanted, "B.click"))
        return float(page.evaluate("window.__lb.lastPainted - window.__lb.click"))
    finally:
        page.context.close()


def graph_and_expand(
    browser: Browser, url: str, edge: str
) -> tuple[float, float, int, int, str, str, float, float]:
    """Navigation to the depth-2 view drawn (the first paint of its final picture: every node
    shown where it stays, every edge drawn); a click on ``edge`` to the bigger view drawn; the
    nodes drawn before and after; the API calls of each; when the page itself first said its
    graph was ready (its data-ready attribute, painted: a cross-check); the last change under
    the view, painted (React Flow replacing the first picture, edge labels measured)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    nodes = ".react-flow__node"
    page = browser.open(
        url,
        # The page's first picture (drawn before React Flow loads), then React Flow's view.
        region=".react-flow, .lineage-sketch",
        count=".react-flow__node, .lineage-sketch-node",
        edges=".react-flow__edge, .lineage-sketch-edges g[data-id]",
        first="[data-ready=yes]",
    )
    try:
        try:
            # The app's own word that its layout is done (data-ready), then its nodes shown.
            laid_out = "!!document.querySelector('[data-ready=yes]')"
            wanted = f"document.querySelectorAll('{nodes}').length > 0"  # React Flow's, too
            settled(page, f"{laid_out} && {wanted} && B.count > 0 && B.hidden === 0", 60_000)
        except PlaywrightTimeout:
            state = page.evaluate("[window.__lb.count, window.__lb.hidden]")
            raise NotDrawn(
                f"the view was not drawn within 60 s: {state[0]} nodes shown, {state[1]} "
                "hidden (React Flow hides a node until it is measured)"
            ) from None
        view = float(page.evaluate("window.__lb.picturePainted"))
        still = float(page.evaluate("window.__lb.lastPainted"))
        calls, seen = api_calls(page)
        ready = float(page.evaluate("window.__lb.firstPainted ?? NaN"))
        before = int(page.evaluate(f"document.querySelectorAll('{nodes}').length"))
        target = page.locator(f"{nodes}[data-id={json.dumps(edge)}]")
        try:
            target.click(timeout=10_000)
        except PlaywrightTimeout:
            state = page.evaluate("[window.__lb.count, window.__lb.hidden]")
            raise NotDrawn(
                f"the node to expand could not be clicked within 10 s: {state[0]} nodes "
                f"shown, {state[1]} hidden"
            ) from None
        try:
            wanted = f"B.click !== null && B.last > B.click && B.count > {before}"
            settled(page, f"{wanted} && {laid_out} && B.hidden === 0", timeout=60_000)
        except PlaywrightTimeout:
            state = page.evaluate("[window.__lb.count, window.__lb.hidden]")
            raise NotDrawn(
                f"the expansion was not drawn within 60 s: {state[0]} nodes shown (of "
                f"{before} before), {state[1]} hidden"
            ) from None
        expand = float(page.evaluate("window.__lb.lastPainted - window.__lb.click"))
        after = int(page.evaluate("window.__lb.count"))
        return view, expand, before, after, calls, api_calls(page, seen)[0], ready, still
    finally:
        page.context.close()


def api_ms(get: Callable[[], Any], loads: int) -> float:
    get()
    samples = []
    for _ in range(max(loads, 5)):
        start = time.perf_counter()
        get()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def line(name: str, ours: list[float], ref: float | str, goal: float | None = None) -> None:
    mine = statistics.median(ours)
    text = f"{name:<58} ours {mine:8.0f} ms"
    if isinstance(ref, str):
        text += f"   ref {ref}"
    else:
        text += f"   ref {ref:8.0f} ms   ratio {mine / ref:6.2f}"
    if goal is not None:
        text += f"   goal < {goal:.0f} ms {'met' if mine < goal else 'MISSED'}"
    print(text + f"   (of {len(ours)}: {', '.join(f'{v:.0f}' for v in ours)})", flush=True)


def repeat(loads: int, measure: Callable[[], Any]) -> list[Any]:
    measure()  # warm-up: the server's caches and the OS's
    return [measure() for _ in range(loads)]


# -- the figures ------------------------------------------------------------------------------


def runs_and_chart(browser: Browser, scratch: Path, args: argparse.Namespace) -> None:
    start = time.perf_counter()
    long, short, short2 = build_runs(scratch / "runs", args.runs, args.points)
    print(
        f"# lineal store: {args.runs:,} runs and a {args.points:,}-point metric written in "
        f"{time.perf_counter() - start:.1f} s",
        flush=True,
    )
    reference: float | str = "n/a (--no-mlflow)"
    warm_reference: float | str = reference
    shown_theirs = 0
    if not args.no_mlflow:
        try:
            import mlflow  # noqa: F401
        except ImportError:
            reference = warm_reference = "n/a (mlflow is not installed: pip install -e '.[bench]')"
        else:
            start = time.perf_counter()
            experiment = build_mlflow(scratch / "mlflow", args.runs)
            print(
                f"# MLflow store: {args.runs:,} runs in {time.perf_counter() - start:.1f} s",
                flush=True,
            )
            with mlflow_ui(scratch / "mlflow") as mlflow_url:
                found = httpx.post(
                    f"{mlflow_url}/api/2.0/mlflow/runs/search",
                    timeout=120,
                    json={"experiment_ids": [experiment], "max_results": 1000},
                )
                assert len(found.json()["runs"]) == min(1000, args.runs), found.text[:300]
                page = f"{mlflow_url}/#/experiments/{experiment}/runs?workflowType=machine_learning"
                rows = ".ag-center-cols-container .ag-row"
                theirs = repeat(args.loads, lambda: first_rows(browser, page, rows))
                warm_theirs = repeat(args.loads, lambda: first_rows(browser, page, rows, warm=True))
            reference = statistics.median(t[0] for t in theirs)
            warm_reference = statistics.median(t[0] for t in warm_theirs)
            shown_theirs = theirs[-1][2]
            print(
                f"# MLflow {mlflow_version()}: first contentful paint "
                f"{statistics.median(t[1] for t in theirs):.0f} ms, first rows "
                f"{reference:.0f} ms ({shown_theirs} rows in its table)",
                flush=True,
            )
    with lineal_ui(scratch / "runs") as (url, project):
        base = f"{url}/api/v1/projects/{project}"
        total = httpx.get(f"{base}/runs", params={"limit": 1}, timeout=60)
        print(
            f"# lineal ui: X-Total-Count {total.headers.get('x-total-count', 'absent')}", flush=True
        )
        runs_page, rows = f"{url}/p/{project}/runs", "[role=rowgroup] [role=row]"
        ours = repeat(args.loads, lambda: first_rows(browser, runs_page, rows))
        warm = repeat(args.loads, lambda: first_rows(browser, runs_page, rows, warm=True))
        print(
            f"# lineal: first contentful paint {statistics.median(t[1] for t in ours):.0f} ms, "
            f"{ours[-1][2]} rows drawn (virtualized), its status line: {ours[-1][3]!r}",
            flush=True,
        )
        line(
            f"runs page, {args.runs:,} runs: first rows painted vs MLflow UI",
            [t[0] for t in ours],
            reference,
            1000,
        )
        line(
            f"runs page, {args.runs:,} runs, reloaded (files cached) vs MLflow UI",
            [t[0] for t in warm],
            warm_reference,
            1000,
        )

        charts(browser, url, project, [long, short, short2], args)


def compare_only(browser: Browser, scratch: Path, args: argparse.Namespace) -> None:
    start = time.perf_counter()
    refs = build_runs(scratch / "runs", args.runs, args.points)
    print(
        f"# lineal store: {args.runs:,} runs and a {args.points:,}-point metric written in "
        f"{time.perf_counter() - start:.1f} s",
        flush=True,
    )
    with lineal_ui(scratch / "runs") as (url, project):
        charts(browser, url, project, refs, args)


def charts(
    browser: Browser, url: str, project: str, refs: list[str], args: argparse.Namespace
) -> None:
    long, short, short2 = refs
    base = f"{url}/api/v1/projects/{project}"
    compare = f"{url}/p/{project}/compare?runs={long},{short}&metrics=loss"
    drawn = repeat(args.loads, lambda: chart_drawn(browser, compare, long))
    two_short = f"{url}/p/{project}/compare?runs={short},{short2}&metrics=loss"
    added = repeat(args.loads, lambda: run_added(browser, two_short, long))

    def fetch(**extra: int) -> None:
        params: dict[str, str | int] = {"run": long, "key": "loss", "max_points": 1000, **extra}
        httpx.get(f"{base}/metrics", params=params, timeout=120).raise_for_status()

    floor = api_ms(fetch, args.loads)
    tenth = args.points // 10
    zoom_floor = api_ms(lambda: fetch(from_step=4 * tenth, to_step=5 * tenth), args.loads)
    full = httpx.get(f"{base}/metrics", params={"run": long, "key": "loss"}, timeout=300)
    points = len(full.json()["loss"]["steps"]) if full.status_code == 200 else 0
    print(
        f"# the long run holds {points:,} points; the chart stroked "
        f"{drawn[-1][2]} paths; the page's API calls: {drawn[-1][3]}",
        flush=True,
    )
    name = f"compare, {args.points:,}-point metric"
    line(f"{name}: navigation to drawn vs API fetch", [d[0] for d in drawn], floor, 1000)
    line(f"{name}: click adding it to drawn vs API fetch", added, floor, 1000)
    line(f"{name}: zoom (drag) to drawn again vs API fetch", [d[1] for d in drawn], zoom_floor)


def mlflow_version() -> str:
    import mlflow

    return str(mlflow.__version__)


def lineage(browser: Browser, scratch: Path, args: argparse.Namespace) -> None:
    from lineage import Graph, ops  # bench/lineage.py over the peers' generator

    graph = Graph(a=500) if args.quick else Graph()
    history, nodes = ops(graph)
    repo = _workspace(scratch / "lineage")
    start = time.perf_counter()
    for i in range(0, len(history), 2000):
        repo.store.append(history[i : i + 2000])
    repo.close()
    print(
        f"# lineage graph: {graph.n_artifacts + graph.n_executions:,} nodes, "
        f"{len(history):,} records written in {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    model = nodes[graph.queries[0]]
    with lineal_ui(scratch / "lineage") as (url, project):
        base = f"{url}/api/v1/projects/{project}"

        def ask(direction: str, ref: str, depth: int) -> Any:
            answer = httpx.get(
                f"{base}/{direction}", params={"ref": ref, "depth": depth}, timeout=120
            )
            answer.raise_for_status()
            return answer.json()

        up = ask("upstream", model, 2)
        # The node to expand: the deepest upstream node, whose own inputs are not in view yet.
        edge = max(
            (n for n in up["nodes"] if n.get("depth") is not None), key=lambda n: n["depth"]
        )["id"]
        page = f"{url}/p/{project}/lineage?ref={model}&depth=2"
        found, failed = [], []
        for load in range(args.loads + 1):  # the first is the warm-up
            try:
                drawn = graph_and_expand(browser, page, edge)
            except NotDrawn as error:
                failed.append(str(error))
                continue
            if load:
                found.append(drawn)
        view_floor = api_ms(
            lambda: (ask("upstream", model, 2), ask("downstream", model, 2)), args.loads
        )
        expand_floor = api_ms(
            lambda: (ask("upstream", edge, 1), ask("downstream", edge, 1)), args.loads
        )
        view_name = "lineage, depth-2 view of a model: drawn vs API up+down"
        expand_name = "lineage, expand a node: click to drawn vs API depth 1"
        if failed:
            print(
                f"# lineage: {len(failed)} of {args.loads + 1} loads (the warm-up included) "
                f"failed, not timed; the first: {failed[0]}",
                flush=True,
            )
        if not found:
            for name, floor in ((view_name, view_floor), (expand_name, expand_floor)):
                print(f"{name:<58} ours      n/a (not drawn)   ref {floor:8.0f} ms", flush=True)
            return
        print(
            f"# lineage: {found[-1][2]} nodes drawn at depth 2 of {model[:40]}…, "
            f"{found[-1][3]} after expanding {edge[:40]}…",
            flush=True,
        )
        print(
            f"# lineage, the page's own data-ready=yes first painted at "
            f"{statistics.median(f[6] for f in found):.0f} ms (median)",
            flush=True,
        )
        print(
            f"# lineage, the last change under the view (React Flow taking over from the first "
            f"picture) painted at {statistics.median(f[7] for f in found):.0f} ms (median)",
            flush=True,
        )
        print(f"# lineage, the view's API calls: {found[-1][4]}", flush=True)
        print(f"# lineage, the expansion's API calls: {found[-1][5]}", flush=True)
        line(view_name, [f[0] for f in found], view_floor, 300)
        line(expand_name, [f[1] for f in found], expand_floor, 200)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--loads", type=int, default=5, help="page loads per figure (median)")
    parser.add_argument("--no-mlflow", action="store_true", help="skip the MLflow UI reference")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 1,000 runs, 100,000 points, a 15.5k-node graph, 2 loads",
    )
    parser.add_argument(
        "--only",
        choices=["runs", "compare", "lineage"],
        default=None,
        help="one part: runs (the runs page, then the comparison), compare (the comparison "
        "alone, over the same store, without MLflow), lineage",
    )
    args = parser.parse_args()
    if args.quick:
        args.runs, args.points, args.loads = min(args.runs, 1000), min(args.points, 100_000), 2
    if not CHROMIUM.is_file():
        raise SystemExit(f"no {CHROMIUM}: apt-get install chromium (.ci/run does)")
    if not BUNDLE.is_file():
        raise SystemExit("the UI is not built: make ui (or cd ui && npm ci && npm run build)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SystemExit("no playwright: pip install -e '.[dev]'") from None
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="ui-", dir=BENCH_DIR))
    try:
        with sync_playwright() as driver:
            chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH)
            try:
                browser = Browser(chromium)
                print(
                    f"# Chromium {chromium.version}, {args.loads} loads per figure (median), "
                    "each in a fresh context after a warm-up",
                    flush=True,
                )
                if args.only in (None, "runs"):
                    runs_and_chart(browser, scratch, args)
                if args.only == "compare":
                    compare_only(browser, scratch, args)
                if args.only in (None, "lineage"):
                    lineage(browser, scratch, args)
            finally:
                chromium.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
