import { describe, expect, it } from "vitest";
import type { RunSummary } from "../types";
import { cell, columnsOf, formatCell, keysOf, nextSort, sortRuns } from "./runs";

function run(ref: string, metrics: Record<string, number | string | null>, params: Record<string, string | number> = {}): RunSummary {
  return { ref, name: ref, status: "finished", author: null, started: null, ended: null, duration: null, error: null, params, seed: null, metrics, tags: {} };
}

const runs = [run("run/A", { acc: 0.5 }, { lr: 0.1 }), run("run/B", {}, { lr: 0.01 }), run("run/C", { acc: 0.9 }), run("run/D", { acc: "NaN" })];

describe("runs table", () => {
  it("sorts ascending and descending with missing values last", () => {
    expect(sortRuns(runs, "metrics.acc").map((r) => r.ref)).toEqual(["run/A", "run/C", "run/D", "run/B"]);
    expect(sortRuns(runs, "-metrics.acc").map((r) => r.ref)).toEqual(["run/C", "run/A", "run/D", "run/B"]);
    expect(sortRuns(runs, "params.lr").map((r) => r.ref).slice(0, 2)).toEqual(["run/B", "run/A"]);
  });

  it("cycles a header's sort: up, down, off", () => {
    expect(nextSort("", "metrics.acc")).toBe("metrics.acc");
    expect(nextSort("metrics.acc", "metrics.acc")).toBe("-metrics.acc");
    expect(nextSort("-metrics.acc", "metrics.acc")).toBe("");
    expect(nextSort("-name", "metrics.acc")).toBe("metrics.acc");
  });

  it("offers a column per key", () => {
    const ids = columnsOf(keysOf(runs)).map((c) => c.id);
    expect(ids).toContain("metrics.acc");
    expect(ids).toContain("params.lr");
    expect(cell(runs[0]!, "params.lr")).toBe(0.1);
    expect(cell(runs[0]!, "name")).toBe("run/A");
  });

  it("formats numbers for a cell", () => {
    expect(formatCell(0.123456)).toBe("0.1235");
    expect(formatCell(7)).toBe("7");
    expect(formatCell(1234567.5)).toBe("1.235e+6");
    expect(formatCell(null)).toBe("");
    expect(formatCell({ a: 1 })).toBe('{"a":1}');
  });
});
