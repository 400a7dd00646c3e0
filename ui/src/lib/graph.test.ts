import { describe, expect, it } from "vitest";
import type { Graph, GraphNode } from "../types";
import { caption, mergeGraphs, nearest, nodeRef, toDot, toMermaid, toSvg } from "./graph";

function node(id: string, depth: number, extra: Partial<GraphNode> = {}): GraphNode {
  return { id, type: "artifact", kind: id.split("/")[0]!, label: id, name: null, version: null, status: null, depth, aliases: [], ...extra };
}

const up: Graph = {
  roots: ["model/m@sha256:1"],
  as_of: null,
  nodes: [node("model/m@sha256:1", 0, { label: "model/m@v2" }), node("run/R1", 1, { type: "run", kind: "run" })],
  edges: [{ kind: "generated", parent: "run/R1", child: "model/m@sha256:1", role: "model", seq: 3 }],
};
const expanded: Graph = {
  roots: ["run/R1"],
  as_of: null,
  nodes: [node("run/R1", 0, { type: "run", kind: "run" }), node("dataset/d@sha256:2", 1)],
  edges: [
    { kind: "used", parent: "dataset/d@sha256:2", child: "run/R1", role: "train", seq: 2 },
    { kind: "generated", parent: "run/R1", child: "model/m@sha256:1", role: "model", seq: 3 },
  ],
};

describe("mergeGraphs", () => {
  it("keeps each node and edge once, at its smallest depth", () => {
    const merged = mergeGraphs([up, expanded]);
    expect(merged.nodes.map((n) => n.id).sort()).toEqual(["dataset/d@sha256:2", "model/m@sha256:1", "run/R1"]);
    expect(merged.nodes.find((n) => n.id === "run/R1")!.depth).toBe(0);
    expect(merged.edges).toHaveLength(2);
    expect(merged.roots).toEqual(["model/m@sha256:1", "run/R1"]);
  });

  it("drops edges to nodes no answer holds", () => {
    const dangling: Graph = { ...up, edges: [...up.edges, { kind: "used", parent: "x/y", child: "run/R1", role: null, seq: 1 }] };
    expect(mergeGraphs([dangling]).edges).toHaveLength(1);
  });
});

describe("exports", () => {
  const merged = mergeGraphs([up, expanded]);

  it("writes dot with every node and edge, quoted", () => {
    const dot = toDot(merged);
    expect(dot.startsWith("digraph lineage {")).toBe(true);
    expect(dot).toContain('"run/R1" -> "model/m@sha256:1" [label="generated (model)"];');
    expect(dot).toContain('"run/R1" [label="run/R1", shape=ellipse];');
  });

  it("writes mermaid with node ids and labels", () => {
    const text = toMermaid(merged);
    expect(text.split("\n")[0]).toBe("flowchart LR");
    expect(text).toContain('n0["model/m@v2"]');
    expect(text).toContain('n1(["run/R1"])');
    expect(text).toMatch(/n2 -->\|"used \(train\)"\| n1/);
  });

  it("draws an SVG with a box per laid-out node and escapes text", () => {
    const odd = mergeGraphs([{ roots: [], as_of: null, nodes: [node("file/a<b>", 0)], edges: [] }]);
    const svg = toSvg(odd, [{ id: "file/a<b>", x: 0, y: 0, width: 100, height: 40 }]);
    expect(svg).toContain("file/a&lt;b&gt;");
    expect(svg.match(/<rect /g)).toHaveLength(2);
  });
});

describe("captions", () => {
  it("names a run by its name and shortens a digest", () => {
    expect(caption(node("run/01ABCDEFGHJK", 0, { type: "run", kind: "run", name: "train", status: "finished" })).title).toBe("run train");
    expect(caption(node("sha256:0123456789abcdef0123", 0, { kind: "env" })).title).toBe("env 0123456789ab…");
    expect(nodeRef(node("x", 0, { label: "" }))).toBe("x");
  });
});

describe("nearest", () => {
  it("keeps the nodes nearest the roots and the edges among them", () => {
    const merged = mergeGraphs([up, expanded]);
    const cut = nearest(merged, 2);
    expect(cut.nodes.map((n) => n.id).sort()).toEqual(["model/m@sha256:1", "run/R1"]);
    expect(cut.edges).toEqual([{ kind: "generated", parent: "run/R1", child: "model/m@sha256:1", role: "model", seq: 3 }]);
    expect(nearest(merged, 10)).toBe(merged);
  });
});
