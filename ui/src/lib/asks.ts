// The reads a page makes first, from its address alone: the page asks them, and the app asks
// them as it starts (src/early.ts), before the page's code has loaded.

/** Points a chart asks for per run and key: the server downsamples, keeping extremes. */
export const POINTS = 1000;

/** The lineage explorer's kind filters, in the order its checkboxes show them. */
export const KINDS = ["dataset", "schema", "scene", "model", "run", "config", "file", "env", "code"];
export const REF_PLACEHOLDER = "model/NAME:production, dataset/NAME@v2, run/ID…";

type Query = Record<string, string | number | string[] | null>;

export interface Ask {
  path: "upstream" | "downstream";
  query: Query;
  /** An expanded node's read: its failure leaves the rest of the view drawn. */
  optional: boolean;
}

export function list(value: string | null): string[] {
  return value ? value.split(",").filter(Boolean) : [];
}

/** The lineage view's reads: its reference's upstream and downstream (by direction) at its
 * depth, and depth 1 both ways of each expanded node. None without a reference. */
export function viewAsks(params: URLSearchParams): Ask[] {
  const ref = params.get("ref") ?? "";
  if (!ref) return [];
  const depth = Number(params.get("depth") ?? "2") || 0;
  const direction = params.get("dir") ?? "both";
  const kind = list(params.get("kinds"));
  const as_of = params.get("asof");
  const asks: Ask[] = [];
  const common = { depth, kind, as_of };
  if (direction !== "down") asks.push({ path: "upstream", query: { ref, ...common }, optional: false });
  if (direction !== "up") asks.push({ path: "downstream", query: { ref, ...common }, optional: false });
  for (const id of list(params.get("expand"))) {
    const one = { ref: id, depth: 1, kind, as_of };
    asks.push({ path: "upstream", query: one, optional: true });
    asks.push({ path: "downstream", query: one, optional: true });
  }
  return asks;
}
