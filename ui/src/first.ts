// The first picture of a lineage view opened by address, drawn before React has loaded.
//
// index.html's script asks the view's reads at once (or finds their answers in the page, where
// the server embedded them: lineal.server.ui), and this small entry — dagre, the sketch's sums,
// no React — runs before the app's own (the page's scripts run in order). With the answers in
// the page it draws at once, before the app's code runs at all; else once they come. It draws
// the page as the app's first render will draw it (the shell, the explorer's toolbars, and once the answers are here the view laid out
// and fitted to its canvas, with the "Nodes in view" list), so the graph is on screen while the
// app's code (React, ~175 kB) still compiles. The app waits for this picture (main.tsx), lays the
// view out as it was laid out here (``window.__linealFirstPicture``), and its first render
// replaces this markup with its own, element for element in the same places
// (tests/ui/test_first_picture.py).
// The markup of the shell and the page mirrors App.tsx's Shell and pages/Lineage.tsx; the
// sketch's is theirs (lib/sketch.ts's sketchMarkup).
import { queryString } from "./api";
import { KINDS, list, REF_PLACEHOLDER, viewAsks } from "./lib/asks";
import { MAX_NODES, mergeGraphs, nearest, type Box, type Merged } from "./lib/graph";
import { layoutNow, SYNC_LIMIT } from "./lib/place";
import { PAGES, storedTheme } from "./lib/shell";
import { fitted, sketchMarkup } from "./lib/sketch";
import type { Graph } from "./types";
import type { FirstPicture } from "./lib/firstPicture";

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** The view's key: its nodes' ids, as pages/Lineage.tsx keys a layout. */
export function viewKey(shown: Merged): string {
  return shown.nodes.map((n) => n.id).join("|");
}

/** The shell (App.tsx's Shell) around the lineage page (pages/Lineage.tsx) as the app's first
 * render draws it for ``params``, with ``view`` in place of the explorer (none: still loading). */
export function pageMarkup(project: string, params: URLSearchParams, view: string): string {
  const ref = params.get("ref") ?? "";
  const depth = Number(params.get("depth") ?? "2") || 0;
  const direction = params.get("dir") ?? "both";
  const kinds = list(params.get("kinds"));
  const asOf = params.get("asof");
  const theme = storedTheme();
  const at = encodeURIComponent(project);
  const nav = PAGES.map(
    ([path, title]) =>
      `<li><a ${path === "lineage" ? 'aria-current="page" class="active"' : 'class=""'} href="/p/${escape(at)}/${path}">${title}</a></li>`,
  ).join("");
  const option = (value: string, text: string, chosen: string) =>
    `<option value="${value}"${value === chosen ? " selected" : ""}>${text}</option>`;
  const themes = [["system", "system"], ["light", "light"], ["dark", "dark"]].map(([v, t]) => option(v!, t!, theme)).join("");
  const directions = [["both", "up and down"], ["up", "upstream"], ["down", "downstream"]]
    .map(([v, t]) => option(v!, t!, direction))
    .join("");
  const boxes = KINDS.map(
    (kind) => `<label><input type="checkbox"${kinds.includes(kind) ? " checked" : ""}>${kind}</label>`,
  ).join("");
  const asOfText = asOf ? `ledger record ${escape(asOf)}` : "now";
  return (
    `<div class="shell"><a class="skip" href="#main">Skip to content</a><header class="top"><span class="brand">lineal</span>` +
    `<nav aria-label="Pages"><ul>${nav}</ul></nav><div class="top-tools"><span class="muted" aria-label="Project">${escape(project)}</span>` +
    `<label>Theme <select>${themes}</select></label></div></header>` +
    `<main id="main" tabindex="-1"><div class="lineage page wide"><h1 class="visually-hidden">Lineage explorer</h1>` +
    `<form class="toolbar" role="search"><label for="ref">Reference</label><input id="ref" list="refs" placeholder="${escape(REF_PLACEHOLDER)}" size="36" value="${escape(ref)}">` +
    `<datalist id="refs"></datalist><button type="submit">Show</button><label for="depth">Depth</label>` +
    `<input id="depth" type="number" min="1" max="20" value="${depth}"><label for="dir">Direction</label><select id="dir">${directions}</select></form>` +
    `<fieldset class="toolbar kinds"><legend>Kinds shown (none checked: all)</legend>${boxes}</fieldset>` +
    `<div class="toolbar timeline"><label for="asof">As of</label><input id="asof" type="range" min="0" max="0" step="1" list="marks" disabled="" aria-valuetext="${asOfText}" value="${escape(asOf ?? "0")}">` +
    `<datalist id="marks"></datalist><output for="asof" data-testid="asof-value">${asOf ? `record ${escape(asOf)}` : "now"}</output>` +
    (asOf ? `<button type="button">Now</button>` : "") +
    `<label for="jump">Jump to</label><select id="jump" disabled=""><option value="">an event…</option></select></div>` +
    `${view}</div></main></div>`
  );
}

/** The explorer (pages/Lineage.tsx's, with LineageCanvas's canvas and LineageSketch's picture)
 * of ``shown``, laid out at ``boxes``, out of ``all`` nodes answered. */
export function explorerMarkup(shown: Merged, all: number, boxes: Box[], selectedId: string | null): string {
  const selected = shown.nodes.find((n) => n.id === selectedId) ?? null;
  const cut =
    all > MAX_NODES
      ? `<p class="warning" role="status">${all} nodes: the ${MAX_NODES} nearest are drawn. Lower the depth or filter kinds.</p>`
      : "";
  const side = selected
    ? `<div class="actions" role="group" aria-label="Selected node"><button type="button">Centre here</button>` +
      `<button type="button">Path from here</button><button type="button">Path to here</button></div>` +
      `<section aria-labelledby="details-title" class="details"><h2 id="details-title">${escape(selected.label)}</h2>` +
      `<p class="muted" role="status">Loading…</p></section>`
    : `<p class="muted">Select a node (click it, or pick it below) to see its details and expand it.</p>`;
  const items = [...shown.nodes]
    .sort((a, b) => a.depth - b.depth)
    .map(
      (node) =>
        `<li><button type="button" class="linkish${node.id === selectedId ? " current" : ""}" aria-pressed="${node.id === selectedId}">` +
        `${escape(node.label)}</button> <span class="muted">${escape(node.kind)}</span></li>`,
    )
    .join("");
  return (
    `${cut}<div class="explorer"><div class="canvas" data-testid="graph" data-ready="no" data-first="yes" aria-label="Lineage graph" role="region">` +
    `<div class="lineage-sketch" aria-hidden="true"><div class="lineage-sketch-viewport">${sketchMarkup(shown, boxes, new Set(), selectedId)}</div></div></div>` +
    `<aside class="side" aria-label="Node details"><div class="exports" role="group" aria-label="Export">` +
    `<button type="button">SVG</button><button type="button">PNG</button><button type="button">dot</button><button type="button">mermaid</button></div>` +
    `${side}<h2 id="nodes-title">Nodes in view (${shown.nodes.length})</h2><ul class="node-list" aria-labelledby="nodes-title">${items}</ul></aside></div>`
  );
}

/** The lineage view the address names, as the app would ask for it; null: the app draws this
 * page itself (another page, no reference, a path highlighted, which needs a read of its own). */
function opened(): { project: string; params: URLSearchParams; urls: string[] } | null {
  const page = /^\/p\/([^/]+)\/lineage\/?$/.exec(location.pathname);
  if (!page) return null;
  const params = new URLSearchParams(location.search);
  if (!params.get("ref") || params.get("pa") || params.get("pb")) return null;
  let project: string;
  try {
    project = decodeURIComponent(page[1]!);
  } catch {
    return null;
  }
  const base = `/api/v1/projects/${encodeURIComponent(project)}/`;
  const urls = viewAsks(params).map(({ path, query }) => `${base}${path}${queryString(query)}`);
  return { project, params, urls };
}

/** Draw ``markup`` as the page, unless the app has started (the page is then the app's). */
function show(root: HTMLElement, markup: string): boolean {
  if (window.__linealReact) return false;
  root.innerHTML = markup;
  // Not interactive until the app is: its controls are the app's to answer.
  root.querySelector("main")?.setAttribute("inert", "");
  root.querySelector("header")?.setAttribute("inert", "");
  return true;
}

/** The page's root element, once the page is parsed that far (this module may run before). */
function rootElement(): Promise<HTMLElement | null> {
  const now = document.getElementById("root");
  if (now || document.readyState !== "loading") return Promise.resolve(now);
  return new Promise((resolve) => {
    const watch = new MutationObserver(() => {
      const found = document.getElementById("root");
      if (found) {
        watch.disconnect();
        resolve(found);
      }
    });
    watch.observe(document, { childList: true, subtree: true });
    document.addEventListener("DOMContentLoaded", () => {
      watch.disconnect();
      resolve(document.getElementById("root"));
    });
  });
}

/** The stylesheet applied (the picture is measured in its canvas): at once when it is. */
function styled(): Promise<unknown> | null {
  const sheet = document.querySelector<HTMLLinkElement>('link[rel="stylesheet"]');
  if (!sheet || sheet.sheet) return null;
  return new Promise((done) => {
    sheet.addEventListener("load", done, { once: true });
    sheet.addEventListener("error", done, { once: true });
  });
}

/** Draw the view of ``bodies`` (the answers of ``view``'s reads) into ``root``: its layout. */
function drawView(root: HTMLElement, view: NonNullable<ReturnType<typeof opened>>, bodies: unknown[]): FirstPicture | null {
  if (bodies.some((body) => !body || typeof body !== "object")) return null; // the app says why
  const merged = mergeGraphs(bodies as Graph[]);
  const shown = nearest(merged, MAX_NODES);
  if (!shown.nodes.length || shown.nodes.length > SYNC_LIMIT) return null; // elkjs's, in the app
  const boxes = layoutNow(
    shown.nodes.map((n) => n.id),
    shown.edges.map((e) => [e.parent, e.child]),
  );
  const selectedId = view.params.get("sel");
  if (!show(root, pageMarkup(view.project, view.params, explorerMarkup(shown, merged.nodes.length, boxes, selectedId)))) return null;
  // Fitted to its canvas as LineageCanvas fits it, before it is painted.
  const canvas = root.querySelector<HTMLElement>(".canvas")!;
  const viewport = root.querySelector<HTMLElement>(".lineage-sketch-viewport")!;
  const fit = fitted(boxes, canvas.clientWidth, canvas.clientHeight);
  if (fit) {
    viewport.style.transform = `translate(${fit.x}px, ${fit.y}px) scale(${fit.zoom})`;
    viewport.style.visibility = "visible";
  }
  const picture = { key: viewKey(shown), boxes };
  window.__linealFirstPicture = picture;
  return picture;
}

/** The first picture: drawn now when the answers are here already (sent within the page) and
 * the page styled, before the app's code runs at all; else once they are. */
function draw(): Promise<FirstPicture | null> {
  const view = opened();
  const json = window.__linealJson;
  if (!view || !json) return Promise.resolve(null);
  const asked = view.urls.map((url) => json[url]);
  if (!asked.length || asked.some((one) => one === undefined)) return Promise.resolve(null);
  const root = document.getElementById("root");
  const parsed = window.__linealParsed ?? {};
  if (root && !root.childNodes.length && view.urls.every((url) => url in parsed) && !styled()) {
    return Promise.resolve(drawView(root, view, view.urls.map((url) => parsed[url])));
  }
  return (async () => {
    const found = root ?? (await rootElement());
    if (!found || found.childNodes.length) return null;
    show(found, pageMarkup(view.project, view.params, ""));
    const bodies = await Promise.all(asked);
    await styled();
    return drawView(found, view, bodies);
  })();
}

if (typeof window !== "undefined" && typeof document !== "undefined") {
  window.__linealFirst = draw().catch(() => null);
}
