import { describe, expect, it } from "vitest";
import { queryString } from "../api";
import { align, paramRows, runsFromParam, within } from "./compare";
import { classChanges } from "./schema";

describe("comparison", () => {
  it("marks the params that differ", () => {
    const rows = paramRows([{ lr: 0.1, seed: 1 }, { lr: 0.2, seed: 1 }, { seed: 1 }]);
    expect(rows).toEqual([
      { key: "lr", values: [0.1, 0.2, undefined], differs: true },
      { key: "seed", values: [1, 1, 1], differs: false },
    ]);
  });

  it("aligns series on the union of steps", () => {
    const data = align([
      { steps: [0, 2], times: [0, 0], values: [1, 3] },
      { steps: [1, 2], times: [0, 0], values: ["Infinity", "NaN"] },
      undefined,
    ]);
    expect(data).toEqual([[0, 1, 2], [1, null, 3], [null, Infinity, null], [null, null, null]]);
  });

  it("cuts a series to a zoom's steps", () => {
    const cut = within({ steps: [0, 5, 10], times: [1, 2, 3], values: [1, 2, 3] }, [4, 10]);
    expect(cut).toEqual({ steps: [5, 10], times: [2, 3], values: [2, 3] });
  });

  it("reads runs from the URL: at most 10, no duplicates", () => {
    expect(runsFromParam("run/A,run/B,run/A,")).toEqual(["run/A", "run/B"]);
    expect(runsFromParam(Array.from({ length: 12 }, (_, i) => `run/${i}`).join(","))).toHaveLength(10);
    expect(runsFromParam(null)).toEqual([]);
  });

  it("finds a renamed class first", () => {
    const before = [{ id: 1, name: "car" }, { id: 3, name: "pedestrian" }, { id: 4, name: "bus" }];
    const after = [{ id: 1, name: "car" }, { id: 3, name: "person" }, { id: 5, name: "bike" }];
    expect(classChanges(before, after)).toEqual([
      { change: "renamed", id: 3, before: "pedestrian", after: "person" },
      { change: "removed", id: 4, before: "bus", after: null },
      { change: "added", id: 5, before: null, after: "bike" },
    ]);
  });

  it("builds query strings without empty values, repeating lists", () => {
    expect(queryString({ ref: "model/m:prod", kind: ["run", "dataset"], as_of: null, depth: 2, x: "" })).toBe(
      "?ref=model%2Fm%3Aprod&kind=run&kind=dataset&depth=2",
    );
    expect(queryString({})).toBe("");
  });
});
