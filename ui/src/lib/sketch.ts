// The lineage view's first picture, drawn before React Flow has loaded (pages/LineageSketch.tsx):
// the view fitted as React Flow's fitView fits it, each node's handles where React Flow puts them,
// and each edge's curve as React Flow draws it, so the picture and the React Flow view that
// replaces it coincide. The two sums below are @xyflow/system's getViewportForBounds (a number
// padding) and getBezierPath (right to left), written out here because importing that module
// would bring it, with the d3 code it holds for React Flow, into the page's first chunk (~90 kB
// more to load and compile before the first picture); sketch.test.ts holds them to it.
import type { NodeHandle, Position, Viewport } from "@xyflow/system";
import type { GraphEdge } from "../types";
import { caption, edgeLabel, type Box, type Merged } from "./graph";
import { NODE_HEIGHT, NODE_WIDTH } from "./place";

/** React Flow's handle: 6 px square (its CSS), centred on the node's left or right side. */
export const HANDLE = 6;
/** The view's fit: React Flow's default padding and maximum zoom, the page's minimum zoom. */
export const FIT = { minZoom: 0.1, maxZoom: 2, padding: 0.1 };
const LEFT = "left" as Position;
const RIGHT = "right" as Position;

/** Each node's two handles (its inputs on the left, its outputs on the right), given to React
 * Flow with the node so it draws the edges at once rather than after measuring them. */
export function nodeHandles(width = NODE_WIDTH, height = NODE_HEIGHT): NodeHandle[] {
  const y = height / 2 - HANDLE / 2;
  return [
    { id: null, type: "target", position: LEFT, x: -HANDLE / 2, y, width: HANDLE, height: HANDLE },
    { id: null, type: "source", position: RIGHT, x: width - HANDLE / 2, y, width: HANDLE, height: HANDLE },
  ];
}

/** Where React Flow's fitView puts ``boxes`` in a pane of ``width`` × ``height`` (null: nothing
 * to fit, or no pane yet). */
export function fitted(boxes: Box[], width: number, height: number, fit = FIT): Viewport | null {
  if (!boxes.length || width <= 0 || height <= 0) return null;
  const left = Math.min(...boxes.map((b) => b.x));
  const top = Math.min(...boxes.map((b) => b.y));
  const right = Math.max(...boxes.map((b) => b.x + b.width));
  const bottom = Math.max(...boxes.map((b) => b.y + b.height));
  const padX = Math.floor((width - width / (1 + fit.padding)) * 0.5);
  const padY = Math.floor((height - height / (1 + fit.padding)) * 0.5);
  const wanted = Math.min((width - 2 * padX) / (right - left), (height - 2 * padY) / (bottom - top));
  const zoom = Math.min(Math.max(wanted, fit.minZoom), fit.maxZoom);
  const x = width / 2 - ((left + right) / 2) * zoom;
  const y = height / 2 - ((top + bottom) / 2) * zoom;
  // Where the padding left is short of the wanted one (the zoom was clamped), shift.
  const short = (room: number, pad: number) => Math.min(Math.floor(room) - pad, 0);
  return {
    x: x - short(left * zoom + x, padX) + short(width - (right * zoom + x), padX),
    y: y - short(top * zoom + y, padY) + short(height - (bottom * zoom + y), padY),
    zoom,
  };
}

export interface SketchEdge {
  /** React Flow's id of the same edge: ``e`` and its index in the view's edges. */
  id: string;
  edge: GraphEdge;
  path: string;
  labelX: number;
  labelY: number;
  label: string;
}

/** React Flow's bezier edge from a right-hand source to a left-hand target: its path and the
 * point its label is centred on. */
export function bezier(sourceX: number, sourceY: number, targetX: number, targetY: number): [string, number, number] {
  const distance = targetX - sourceX;
  const offset = distance >= 0 ? 0.5 * distance : 0.25 * 25 * Math.sqrt(-distance);
  const [sourceControlX, targetControlX] = [sourceX + offset, targetX - offset];
  const labelX = sourceX * 0.125 + sourceControlX * 0.375 + targetControlX * 0.375 + targetX * 0.125;
  const labelY = sourceY * 0.5 + targetY * 0.5;
  const path = `M${sourceX},${sourceY} C${sourceControlX},${sourceY} ${targetControlX},${targetY} ${targetX},${targetY}`;
  return [path, labelX, labelY];
}

/** The view's edges as React Flow draws them (from the parent's right handle to the child's left
 * handle); an edge whose ends are not laid out is left out. */
export function sketchEdges(shown: Merged, boxes: Box[]): SketchEdge[] {
  const at = new Map(boxes.map((box) => [box.id, box]));
  const out: SketchEdge[] = [];
  shown.edges.forEach((edge, i) => {
    const from = at.get(edge.parent);
    const to = at.get(edge.child);
    if (!from || !to) return;
    // React Flow's ends: the right side of the source handle, the left side of the target's.
    const source = nodeHandles(from.width, from.height)[1]!;
    const target = nodeHandles(to.width, to.height)[0]!;
    const [path, labelX, labelY] = bezier(
      from.x + source.x + HANDLE,
      from.y + source.y + HANDLE / 2,
      to.x + target.x,
      to.y + target.y + HANDLE / 2,
    );
    out.push({ id: `e${i}`, edge, path, labelX, labelY, label: edgeLabel(edge) });
  });
  return out;
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** The first picture's markup, inside its viewport: the edges (an SVG, each a curve and its
 * label) and each node a box where ``boxes`` put it. One source for both who draw it: the page's
 * own early script (src/first.ts, before React has loaded) and LineageSketch (React's first
 * render), so the one replaces the other to the pixel. */
export function sketchMarkup(
  shown: Merged,
  boxes: Box[],
  onPath: ReadonlySet<string> = new Set(),
  selectedId: string | null = null,
): string {
  const at = new Map(boxes.map((box) => [box.id, box]));
  const parts = [
    '<svg class="lineage-sketch-edges" width="1" height="1"><defs>' +
      '<marker id="sketch-arrow" viewBox="-10 -10 20 20" markerWidth="12.5" markerHeight="12.5" orient="auto-start-reverse" refX="0" refY="0">' +
      '<polyline points="-5,-4 0,0 -5,4 -5,-4"></polyline></marker></defs>',
  ];
  for (const one of sketchEdges(shown, boxes)) {
    const lit = onPath.has(one.edge.parent) && onPath.has(one.edge.child);
    parts.push(
      `<g data-id="${escape(one.id)}" class="${lit ? "on-path" : ""}"><path d="${one.path}" marker-end="url(#sketch-arrow)"></path>` +
        `<text x="${one.labelX}" y="${one.labelY}">${escape(one.label)}</text></g>`,
    );
  }
  parts.push("</svg>");
  for (const node of shown.nodes) {
    const box = at.get(node.id);
    if (!box) continue;
    const { title, detail } = caption(node);
    const classes = ["lnode", `k-${node.kind}`, node.type === "run" ? "is-run" : ""];
    if (onPath.has(node.id)) classes.push("on-path");
    if (shown.roots.includes(node.id)) classes.push("is-root");
    if (node.id === selectedId) classes.push("is-selected");
    parts.push(
      `<div data-id="${escape(node.id)}" class="lineage-sketch-node" style="transform: translate(${box.x}px, ${box.y}px); width: ${box.width}px; height: ${box.height}px;">` +
        `<div class="${escape(classes.join(" "))}" title="${escape(node.label)}"><div class="lnode-title">${escape(title)}</div>` +
        `<div class="lnode-detail"><span class="kind">${escape(node.kind)}</span>${detail ? ` · ${escape(detail)}` : ""}</div></div></div>`,
    );
  }
  return parts.join("");
}
