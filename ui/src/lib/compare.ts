// Run comparison's own logic: params side by side, series on one x axis.
import type { Json, Series } from "../types";

export interface ParamRow {
  key: string;
  values: (Json | undefined)[];
  differs: boolean;
}

/** One row per key any run has; ``differs`` when not every run holds the same value. */
export function paramRows(params: Record<string, Json>[]): ParamRow[] {
  const keys = new Set<string>();
  params.forEach((one) => Object.keys(one).forEach((k) => keys.add(k)));
  return [...keys].sort().map((key) => {
    const values = params.map((one) => one[key]);
    const texts = new Set(values.map((v) => JSON.stringify(v ?? null)));
    return { key, values, differs: texts.size > 1 };
  });
}

function numeric(value: number | string | null): number | null {
  if (typeof value === "number") return value;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  return null;
}

/** Several runs' series of one key as uPlot data: the union of steps, then one value list
 * per run (null where a run has no point at that step). */
export function align(series: (Series | undefined)[]): [number[], ...(number | null)[][]] {
  const steps = new Set<number>();
  series.forEach((one) => one?.steps.forEach((s) => steps.add(s)));
  const xs = [...steps].sort((a, b) => a - b);
  const index = new Map(xs.map((s, i) => [s, i]));
  const ys = series.map((one) => {
    const values: (number | null)[] = new Array<number | null>(xs.length).fill(null);
    if (one) one.steps.forEach((s, i) => (values[index.get(s)!] = numeric(one.values[i] ?? null)));
    return values;
  });
  return [xs, ...ys];
}

/** Runs from a URL's ``runs=a,b`` (2 to 10 kept, duplicates dropped). */
export function runsFromParam(value: string | null): string[] {
  if (!value) return [];
  const seen: string[] = [];
  for (const one of value.split(",").map((s) => s.trim())) {
    if (one && !seen.includes(one)) seen.push(one);
  }
  return seen.slice(0, 10);
}

/** The points of ``series`` within the step range (all of them without one): a server that
 * answers more than the zoom asked for is cut here. */
export function within(series: Series | undefined, range: [number, number] | null): Series | undefined {
  if (!series || !range) return series;
  const keep = series.steps.map((s) => s >= range[0] && s <= range[1]);
  return {
    steps: series.steps.filter((_, i) => keep[i]),
    times: series.times.filter((_, i) => keep[i]),
    values: series.values.filter((_, i) => keep[i]),
  };
}
