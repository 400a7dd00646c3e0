import { describe, expect, it } from "vitest";
import {
  carriedFrom,
  classificationsByRef,
  daysOf,
  driftRows,
  headline,
  pageOf,
  reportUrl,
  statistic,
  troubled,
  type Drift,
  type Measure,
} from "./quality";

const measure = (name: string, number: number, of: number): Measure => ({ measure: name, number, of, detail: "", items: [] });

describe("health measures", () => {
  it("says coverage as a percentage and counts as N of M", () => {
    expect(headline(measure("coverage", 0.5, 2))).toBe("50%");
    expect(headline(measure("coverage", 2 / 3, 3))).toBe("66.7%");
    expect(headline(measure("staleness", 1, 2))).toBe("1 of 2");
  });

  it("marks a measure that finds something wrong", () => {
    expect(troubled(measure("coverage", 0, 2))).toBe(true);
    expect(troubled(measure("coverage", 1, 2))).toBe(false);
    expect(troubled(measure("coverage", 0, 0))).toBe(false);
    expect(troubled(measure("orphans", 0, 21))).toBe(false);
    expect(troubled(measure("crashed", 1, 9))).toBe(true);
  });

  it("reads days from the address, 30 when absent or bad", () => {
    expect(daysOf(null)).toBe(30);
    expect(daysOf("")).toBe(30);
    expect(daysOf("7")).toBe(7);
    expect(daysOf("0.5")).toBe(0.5);
    expect(daysOf("0")).toBe(0);
    expect(daysOf("-1")).toBe(30);
    expect(daysOf("soon")).toBe(30);
  });
});

describe("references", () => {
  it("sends each kind to its page", () => {
    expect(pageOf("model/street-classifier@v1")).toBe("registry?model=street-classifier");
    expect(pageOf("model/det:production")).toBe("registry?model=det");
    expect(pageOf("dataset/render-train@v2")).toBe("artifacts?kind=dataset&name=render-train&b=dataset%2Frender-train%40v2");
    expect(pageOf("scene/street")).toBe("artifacts?kind=scene&name=street");
    expect(pageOf("run/01M999TZT7VGQDG3W0H6PWH0GX")).toBe("lineage?ref=run%2F01M999TZT7VGQDG3W0H6PWH0GX");
  });

  it("addresses the audit report", () => {
    expect(reportUrl("p q", "model/m@v2")).toBe("/api/v1/projects/p%20q/report?ref=model%2Fm%40v2");
    expect(reportUrl("p", "dataset/d@v1", false)).toBe("/api/v1/projects/p/report?ref=dataset%2Fd%40v1&verify=false");
  });
});

describe("drift", () => {
  const found: Drift = {
    a: "dataset/x@v1",
    b: "dataset/x@v2",
    drift: true,
    drifted: ["class_js"],
    measures: [
      { measure: "file_count", statistic: 0, threshold: 0.5, verdict: "ok", before: 3, after: 3, detail: "" },
      { measure: "class_js", statistic: 0.560697, threshold: 0.1, verdict: "drift", before: null, after: null, detail: "" },
      { measure: "box_area", statistic: null, threshold: 0.25, verdict: "skipped", before: null, after: null, detail: "" },
    ],
  };

  it("puts the drifted measures first and marks them", () => {
    const rows = driftRows(found);
    expect(rows.map((r) => [r.measure, r.drifted])).toEqual([
      ["class_js", true],
      ["file_count", false],
      ["box_area", false],
    ]);
  });

  it("says statistics briefly", () => {
    expect(statistic(0.560697)).toBe("0.5607");
    expect(statistic(0)).toBe("0");
    expect(statistic(376)).toBe("376");
    expect(statistic(null)).toBe("—");
    expect(statistic("NaN")).toBe("NaN");
  });
});

describe("classifications", () => {
  const carried = { classification: "pii", from: "dataset/x@v2", source: "dataset/x@sha256:aa", seq: 5, text: "" };

  it("says where a classification comes from", () => {
    expect(carriedFrom({ ...carried, distance: 0, inherited: false })).toBe("its own tag");
    expect(carriedFrom({ ...carried, distance: 1, inherited: true })).toBe("1 edge up");
    expect(carriedFrom({ ...carried, distance: 2, inherited: true })).toBe("2 edges up");
  });

  it("indexes the classified model versions by reference", () => {
    const found = classificationsByRef(
      [
        { node: "n1", ref: "dataset/x@v2", kind: "dataset", classifications: ["pii"], carried: [] },
        { node: "n2", ref: "model/m@v2", kind: "model", classifications: ["pii", "restricted"], carried: [] },
      ],
      "model",
    );
    expect([...found]).toEqual([["model/m@v2", ["pii", "restricted"]]]);
  });
});
