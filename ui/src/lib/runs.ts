// The runs table's own logic: columns, cells, sorting.
import type { Json, RunSummary } from "../types";

export interface Column {
  /** "name", "status", "started", "duration", "params.KEY", "metrics.KEY", "tags.KEY" */
  id: string;
  title: string;
}

export const BASE_COLUMNS: Column[] = [
  { id: "name", title: "Name" },
  { id: "status", title: "Status" },
  { id: "started", title: "Started" },
  { id: "duration", title: "Duration (s)" },
];

export interface Keys {
  params: string[];
  metrics: string[];
  tags: string[];
}

/** The param, metric and tag keys the runs hold (sorted). */
export function keysOf(runs: RunSummary[]): Keys {
  const params = new Set<string>();
  const metrics = new Set<string>();
  const tags = new Set<string>();
  for (const run of runs) {
    Object.keys(run.params).forEach((k) => params.add(k));
    Object.keys(run.metrics).forEach((k) => metrics.add(k));
    Object.keys(run.tags).forEach((k) => tags.add(k));
  }
  return { params: [...params].sort(), metrics: [...metrics].sort(), tags: [...tags].sort() };
}

export function columnsOf(keys: Keys): Column[] {
  return [
    ...BASE_COLUMNS,
    ...keys.metrics.map((k) => ({ id: `metrics.${k}`, title: k })),
    ...keys.params.map((k) => ({ id: `params.${k}`, title: k })),
    ...keys.tags.map((k) => ({ id: `tags.${k}`, title: `#${k}` })),
  ];
}

export function cell(run: RunSummary, column: string): Json | undefined {
  const dot = column.indexOf(".");
  if (dot > 0) {
    const group = column.slice(0, dot);
    const key = column.slice(dot + 1);
    if (group === "params") return run.params[key];
    if (group === "metrics") return run.metrics[key];
    if (group === "tags") return run.tags[key];
  }
  const value = (run as unknown as Record<string, Json>)[column];
  return value;
}

export function formatCell(value: Json | undefined): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    return Math.abs(value) >= 1e5 || Math.abs(value) < 1e-3 ? value.toExponential(3) : value.toFixed(4);
  }
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

function rank(value: Json | undefined): [number, number | string] {
  if (value === null || value === undefined || value === "") return [2, 0];
  if (typeof value === "number") return [0, value];
  if (typeof value === "string" && value !== "" && !Number.isNaN(Number(value))) return [0, Number(value)];
  return [1, typeof value === "string" ? value : JSON.stringify(value)];
}

/** Runs sorted by ``column`` (``-column``: descending); missing values last either way. */
export function sortRuns(runs: RunSummary[], sort: string): RunSummary[] {
  if (!sort) return runs;
  const descending = sort.startsWith("-");
  const column = descending ? sort.slice(1) : sort;
  const keyed = runs.map((run) => ({ run, key: rank(cell(run, column)) }));
  keyed.sort((a, b) => {
    if (a.key[0] !== b.key[0]) return a.key[0] - b.key[0];
    if (a.key[0] === 2) return 0;
    const x = a.key[1];
    const y = b.key[1];
    const order = x < y ? -1 : x > y ? 1 : 0;
    return descending ? -order : order;
  });
  return keyed.map((one) => one.run);
}

/** The sort after clicking ``column``'s header: ascending, then descending, then off. */
export function nextSort(current: string, column: string): string {
  if (current === column) return `-${column}`;
  if (current === `-${column}`) return "";
  return column;
}
