// The as-of slider's span and marks: the server's /timeline, or the same built from /log.
import type { LogRecord } from "../types";

export interface TimelineEvent {
  seq: number;
  time: string;
  author?: string;
  event: string;
  ref?: string | null;
  target?: string | null;
}

export interface Timeline {
  first: { seq: number; time: string } | null;
  last: { seq: number; time: string } | null;
  events: TimelineEvent[];
}

const EVENT_OF: Record<string, string> = {
  "artifact.record": "versions",
  "alias.set": "aliases",
  "model.promote": "promotions",
  "model.approve": "approvals",
};

/** A timeline from ledger records (in any order, each seq once however often given): their
 * span, and an event for each record whose op is in ``marked``. */
export function fromLog(records: LogRecord[], marked: ReadonlySet<string>): Timeline {
  if (records.length === 0) return { first: null, last: null, events: [] };
  const unique = new Map(records.map((r) => [r.seq, r]));
  const sorted = [...unique.values()].sort((a, b) => a.seq - b.seq);
  const first = sorted[0]!;
  const last = sorted[sorted.length - 1]!;
  const events = sorted
    .filter((r) => marked.has(r.op))
    .reverse()
    .map((r) => {
      const name = r.payload?.name;
      const alias = r.payload?.alias;
      const ref = typeof name === "string" ? name + (typeof alias === "string" ? `:${alias}` : "") : null;
      return { seq: r.seq, time: r.time, author: r.author, event: EVENT_OF[r.op] ?? r.op, ref };
    });
  return { first: { seq: first.seq, time: first.time }, last: { seq: last.seq, time: last.time }, events };
}

/** How a mark reads in the "Jump to" list. */
export function markText(event: TimelineEvent): string {
  const what = event.event.replace(/s$/, "");
  const target = event.target ? ` → ${event.target}` : "";
  return `${what} ${event.ref ?? ""}${target}`.trim();
}
