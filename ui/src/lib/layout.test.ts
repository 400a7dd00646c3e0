import { describe, expect, it } from "vitest";
import { layoutNow, NODE_HEIGHT, NODE_WIDTH } from "./layout";

describe("layoutNow (dagre, in the page)", () => {
  const ids = ["dataset/d", "schema/s", "run/R", "model/m", "run/E"];
  const edges: [string, string][] = [
    ["dataset/d", "run/R"],
    ["schema/s", "run/R"],
    ["run/R", "model/m"],
    ["run/R", "model/m"], // two edges between one pair (a model used twice)
    ["model/m", "run/E"],
    ["model/m", "file/not-in-view"],
  ];
  const boxes = layoutNow(ids, edges);
  const at = new Map(boxes.map((b) => [b.id, b]));

  it("places every node once, at the size drawn", () => {
    expect(boxes.map((b) => b.id)).toEqual(ids);
    boxes.forEach((b) => expect([b.width, b.height]).toEqual([NODE_WIDTH, NODE_HEIGHT]));
    boxes.forEach((b) => expect(Number.isFinite(b.x) && Number.isFinite(b.y)).toBe(true));
  });

  it("draws parents left of their children, and no two nodes overlap", () => {
    for (const [parent, child] of edges.filter(([, c]) => at.has(c))) {
      expect(at.get(parent)!.x + NODE_WIDTH).toBeLessThan(at.get(child)!.x);
    }
    for (const a of boxes) {
      for (const b of boxes) {
        if (a === b) continue;
        const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
        expect(apart).toBe(true);
      }
    }
  });

  it("lays out SYNC_LIMIT (150) nodes in under 2 s, even on a loaded machine", () => {
    const many = Array.from({ length: 150 }, (_, i) => `n${i}`);
    const links: [string, string][] = many.slice(1).map((id, i) => [many[Math.floor(i / 3)]!, id]);
    const start = performance.now();
    const placed = layoutNow(many, links);
    expect(placed).toHaveLength(150);
    expect(performance.now() - start).toBeLessThan(2000);
  });
});
