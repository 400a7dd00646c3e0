import { nodeHasDimensions } from "@xyflow/system";
import { describe, expect, it } from "vitest";
import type { GraphNode } from "../types";
import { flowNodes } from "./flow";
import type { Merged } from "./graph";
import { layoutNow, NODE_HEIGHT, NODE_WIDTH } from "./layout";
import { nodeHandles } from "./sketch";

function node(id: string, depth: number): GraphNode {
  return { id, type: "artifact", kind: id.split("/")[0]!, label: id, name: null, version: null, status: null, depth, aliases: [] };
}

const shown: Merged = {
  roots: ["model/m"],
  nodes: [node("model/m", 0), node("run/R", 1), node("dataset/d", 2)],
  edges: [
    { kind: "generated", parent: "run/R", child: "model/m", role: "model", seq: 3 },
    { kind: "used", parent: "dataset/d", child: "run/R", role: "train", seq: 2 },
  ],
} as Merged;

describe("flowNodes", () => {
  it("gives every node its size, so React Flow shows it without measuring it first", () => {
    // React Flow keeps a node `visibility: hidden` until nodeHasDimensions holds: a node without
    // its size waits for a measurement, and a view could stay blank.
    for (const boxes of [[], layoutNow(["model/m", "run/R", "dataset/d"], [["run/R", "model/m"], ["dataset/d", "run/R"]])]) {
      const nodes = flowNodes(shown, boxes, new Set(), null);
      expect(nodes).toHaveLength(3);
      nodes.forEach((one) => {
        expect(nodeHasDimensions(one)).toBe(true);
        expect([one.width, one.height]).toEqual([NODE_WIDTH, NODE_HEIGHT]);
        // and its handles, so React Flow draws its edges with it, not after measuring them
        expect(one.handles).toEqual(nodeHandles());
        // and, as React Flow then measures it no more, its size as measured: what fitView fits
        expect(one.measured).toEqual({ width: NODE_WIDTH, height: NODE_HEIGHT });
      });
    }
  });

  it("places each node where its layout put it, marking the root, the path and the selection", () => {
    const boxes = layoutNow(["model/m", "run/R", "dataset/d"], [["run/R", "model/m"], ["dataset/d", "run/R"]]);
    const nodes = flowNodes(shown, boxes, new Set(["run/R"]), "dataset/d");
    const byId = new Map(nodes.map((n) => [n.id, n]));
    for (const box of boxes) expect(byId.get(box.id)!.position).toEqual({ x: box.x, y: box.y });
    expect(nodes.map((n) => [n.data.root, n.data.highlighted, n.selected])).toEqual([
      [true, false, false],
      [false, true, false],
      [false, false, true],
    ]);
  });
});
