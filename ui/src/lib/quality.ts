// Data quality as the UI shows it: the health page's measures, a dataset version's drift, what
// a node carries of a classification and the audit report's address. The shapes are those of
// `lineal health --json`, `lineal drift --json` and `lineal classified --json`.
import { queryString } from "../api";
import type { Json } from "../types";

export interface Measure {
  measure: string;
  number: number;
  of: number;
  detail: string;
  items: Record<string, Json>[];
}

export type Health = { now: string } & Record<"coverage" | "staleness" | "freshness" | "orphans" | "crashed", Measure>;

/** The health measures in the order the page shows them, with their titles. */
export const MEASURES: [keyof Omit<Health, "now">, string][] = [
  ["coverage", "Coverage"],
  ["staleness", "Stale models"],
  ["freshness", "Freshness"],
  ["orphans", "Orphans"],
  ["crashed", "Crashed runs"],
];

/** A measure's number as said on its card: a share as a percentage, a count as "N of M". */
export function headline(one: Measure): string {
  if (one.measure === "coverage") return `${Math.round(one.number * 1000) / 10}%`;
  return `${one.number} of ${one.of}`;
}

/** Whether the measure finds something wrong (coverage below all, any count above none). */
export function troubled(one: Measure): boolean {
  return one.measure === "coverage" ? one.of > 0 && one.number < 1 : one.number > 0;
}

/** `?days=` as given in the address: a non-negative number, else the default (30). */
export function daysOf(text: string | null): number {
  const value = text === null || text.trim() === "" ? NaN : Number(text);
  return Number.isFinite(value) && value >= 0 ? value : 30;
}

/** Where a reference is shown best: a model version on the registry page, a version of a
 * dataset, label schema, scene, config or file on the data page, anything else (a run) in the
 * lineage explorer. Relative to the project's pages. */
export function pageOf(reference: string): string {
  const match = /^(model|dataset|schema|scene|config|file)\/([^@:]+)/.exec(reference);
  if (!match) return `lineage${queryString({ ref: reference })}`;
  const [, kind, name] = match as unknown as [string, string, string];
  if (kind === "model") return `registry${queryString({ model: name })}`;
  const version = /@v\d+$/.test(reference) ? reference : null;
  return `artifacts${queryString({ kind, name, b: version })}`;
}

export interface DriftMeasure {
  measure: string;
  statistic: number | string | null;
  threshold: number | string | null;
  verdict: string;
  before: Json;
  after: Json;
  detail: string;
}

export interface Drift {
  a: string;
  b: string;
  drift: boolean;
  drifted: string[];
  measures: DriftMeasure[];
  schema?: Json;
  thresholds?: Record<string, number>;
}

/** A statistic or threshold as shown: up to 4 significant digits, or the word the server sent
 * (NaN, Infinity), or a dash for none. */
export function statistic(value: number | string | null | undefined): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string") return value;
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

/** The drift's measures, the drifted ones first (in the server's order otherwise). */
export function driftRows(found: Drift): (DriftMeasure & { drifted: boolean })[] {
  const drifted = new Set(found.drifted);
  const rows = found.measures.map((m) => ({ ...m, drifted: drifted.has(m.measure) || m.verdict === "drift" }));
  return [...rows.filter((r) => r.drifted), ...rows.filter((r) => !r.drifted)];
}

export interface Carried {
  classification: string;
  from: string;
  source: string;
  distance: number;
  inherited: boolean;
  seq: number;
  text: string;
}

export interface ClassifiedNode {
  node: string;
  ref: string;
  kind: string;
  classifications: string[];
  carried: Carried[];
}

/** How far up a classification comes from, in words. */
export function carriedFrom(one: Carried): string {
  if (!one.inherited || one.distance === 0) return "its own tag";
  return `${one.distance} edge${one.distance === 1 ? "" : "s"} up`;
}

/** ``ref -> classifications`` of the classified list's nodes of ``kind``. */
export function classificationsByRef(found: ClassifiedNode[], kind: string): Map<string, string[]> {
  return new Map(found.filter((one) => one.kind === kind).map((one) => [one.ref, one.classifications]));
}

/** The address of the audit report of ``reference`` (`lineal report`'s HTML). */
export function reportUrl(project: string, reference: string, verify = true): string {
  return `/api/v1/projects/${encodeURIComponent(project)}/report${queryString({ ref: reference, verify: verify ? null : "false" })}`;
}
