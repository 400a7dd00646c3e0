import { describe, expect, it } from "vitest";
import type { LogRecord } from "../types";
import { fromLog, markText } from "./timeline";

const record = (seq: number, op: string, payload: Record<string, string> = {}): LogRecord => ({
  seq,
  time: `2026-01-01T00:00:${String(seq).padStart(2, "0")}Z`,
  author: "ann",
  op,
  payload,
});

describe("timeline from the ledger", () => {
  it("spans the records and marks versions, aliases and promotions", () => {
    const log = [record(9, "model.promote", { name: "m", alias: "production" }), record(5, "edge.record"), record(2, "artifact.record", { name: "d" })];
    const found = fromLog(log, new Set(["artifact.record", "model.promote"]));
    expect(found.first?.seq).toBe(2);
    expect(found.last?.seq).toBe(9);
    expect(found.events.map((e) => [e.seq, e.event, e.ref])).toEqual([
      [9, "promotions", "m:production"],
      [2, "versions", "d"],
    ]);
  });

  it("counts a record given twice once", () => {
    const promote = record(9, "model.promote", { name: "m", alias: "production" });
    expect(fromLog([promote, record(1, "agent.register"), promote], new Set(["model.promote"])).events).toHaveLength(1);
  });

  it("is empty for an empty ledger", () => {
    expect(fromLog([], new Set())).toEqual({ first: null, last: null, events: [] });
  });

  it("reads a mark as its event, reference and target", () => {
    expect(markText({ seq: 1, time: "", event: "promotions", ref: "model/m:production", target: "model/m@v2" })).toBe(
      "promotion model/m:production → model/m@v2",
    );
  });
});
