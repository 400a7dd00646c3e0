import { getBezierPath, getBoundsOfRects, getHandlePosition, getViewportForBounds, Position, type InternalNodeBase } from "@xyflow/system";
import { describe, expect, it } from "vitest";
import type { GraphNode } from "../types";
import type { Box, Merged } from "./graph";
import { layoutNow, NODE_HEIGHT, NODE_WIDTH } from "./layout";
import { bezier, FIT, fitted, HANDLE, nodeHandles, sketchEdges, sketchMarkup } from "./sketch";

// The first picture must be React Flow's view to the pixel: React Flow replaces it in place.

function node(id: string, depth: number): GraphNode {
  return { id, type: "artifact", kind: id.split("/")[0]!, label: id, name: null, version: null, status: null, depth, aliases: [] };
}

function boxesOf(points: [number, number][]): Box[] {
  return points.map(([x, y], i) => ({ id: `n${i}`, x, y, width: NODE_WIDTH, height: NODE_HEIGHT }));
}

describe("fitted", () => {
  it.each([
    [[[0, 0]], 960, 660], // one node: the zoom clamped at its maximum, the padding shifted
    [[[0, 0], [300, 74], [600, 148], [0, 148]], 975, 664],
    [[[-40, 10], [3000, 900], [6000, 2000]], 800, 500], // wide: the zoom held at its minimum
    [[[0, 0], [0, 74], [0, 148], [300, 74]], 401, 1203],
  ] as [[number, number][], number, number][])("is React Flow's fitView of %j in %i x %i", (points, width, height) => {
    const boxes = boxesOf(points);
    const bounds = boxes.map(({ x, y, width: w, height: h }) => ({ x, y, width: w, height: h })).reduce((a, b) => getBoundsOfRects(a, b));
    expect(fitted(boxes, width, height)).toEqual(getViewportForBounds(bounds, width, height, FIT.minZoom, FIT.maxZoom, FIT.padding));
  });

  it("has nothing to fit without nodes or a pane", () => {
    expect(fitted([], 800, 600)).toBeNull();
    expect(fitted(boxesOf([[0, 0]]), 0, 600)).toBeNull();
  });
});

describe("the edges", () => {
  it.each([
    [0, 25, 300, 99],
    [530, 99, 297, 25], // backwards: the curve's other branch
    [10, 10, 10, 10],
  ])("bezier(%i, %i, %i, %i) is React Flow's right-to-left bezier", (sx, sy, tx, ty) => {
    const [path, labelX, labelY] = getBezierPath({
      sourceX: sx,
      sourceY: sy,
      sourcePosition: Position.Right,
      targetX: tx,
      targetY: ty,
      targetPosition: Position.Left,
    });
    const ours = bezier(sx, sy, tx, ty);
    expect(ours[0]).toBe(path);
    expect(ours[1]).toBeCloseTo(labelX, 9);
    expect(ours[2]).toBeCloseTo(labelY, 9);
  });

  it("run from React Flow's handle positions of each node's handles", () => {
    const shown: Merged = {
      roots: ["model/m"],
      nodes: [node("model/m", 0), node("run/R", 1), node("dataset/d", 2)],
      edges: [
        { kind: "generated", parent: "run/R", child: "model/m", role: "model", seq: 3 },
        { kind: "used", parent: "dataset/d", child: "run/R", role: "train", seq: 2 },
        { kind: "used", parent: "dataset/gone", child: "run/R", role: "train", seq: 1 },
      ],
    } as Merged;
    const boxes = layoutNow(["model/m", "run/R", "dataset/d"], [["run/R", "model/m"], ["dataset/d", "run/R"]]);
    const at = new Map(boxes.map((b) => [b.id, b]));
    const internal = (id: string) =>
      ({ internals: { positionAbsolute: { x: at.get(id)!.x, y: at.get(id)!.y } }, measured: {} }) as unknown as InternalNodeBase;
    const [target, source] = nodeHandles().map((h) => ({ ...h, width: h.width ?? HANDLE, height: h.height ?? HANDLE, nodeId: "" }));
    const edges = sketchEdges(shown, boxes);
    expect(edges.map((e) => [e.id, e.label])).toEqual([
      ["e0", "generated (model)"],
      ["e1", "used (train)"],
    ]); // the edge from a node not laid out is left out, the others keep React Flow's ids
    shown.edges.slice(0, 2).forEach((edge, i) => {
      const from = getHandlePosition(internal(edge.parent), source!, Position.Right);
      const to = getHandlePosition(internal(edge.child), target!, Position.Left);
      expect(edges[i]!.path).toBe(
        getBezierPath({ sourceX: from.x, sourceY: from.y, sourcePosition: Position.Right, targetX: to.x, targetY: to.y, targetPosition: Position.Left })[0],
      );
    });
  });

  it("puts the handles where React Flow's CSS draws them: centred on the sides", () => {
    const [target, source] = nodeHandles();
    expect([target!.type, target!.position, target!.x + HANDLE / 2, target!.y + HANDLE / 2]).toEqual(["target", Position.Left, 0, NODE_HEIGHT / 2]);
    expect([source!.type, source!.position, source!.x + HANDLE / 2, source!.y + HANDLE / 2]).toEqual(["source", Position.Right, NODE_WIDTH, NODE_HEIGHT / 2]);
  });
});

describe("the picture's markup", () => {
  it("places each node at its box, marks the root, and escapes every text", () => {
    const shown: Merged = {
      roots: ["model/<m>"],
      nodes: [node("model/<m>", 0), node('dataset/"d"&', 1)],
      edges: [{ kind: "used", parent: 'dataset/"d"&', child: "model/<m>", role: "<in>", seq: 1 }],
    };
    const boxes = layoutNow(
      shown.nodes.map((n) => n.id),
      [['dataset/"d"&', "model/<m>"]],
    );
    const markup = sketchMarkup(shown, boxes, new Set(), "model/<m>");
    expect(markup).not.toContain("<m>");
    expect(markup).toContain('data-id="model/&lt;m&gt;"');
    expect(markup).toContain("dataset/&quot;d&quot;&amp;");
    expect(markup).toContain("used (&lt;in&gt;)");
    expect(markup).toContain("is-root is-selected");
    const box = boxes[1]!;
    expect(markup).toContain(`transform: translate(${box.x}px, ${box.y}px); width: ${box.width}px; height: ${box.height}px;`);
    expect(markup.match(/class="lineage-sketch-node"/g)).toHaveLength(2);
    expect(markup.match(/<g data-id="e0"/g)).toHaveLength(1);
  });
});
