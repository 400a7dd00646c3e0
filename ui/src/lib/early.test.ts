import { readFileSync } from "node:fs";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { answeredEarly, queryString } from "../api";
import { POINTS, viewAsks } from "./asks";
import { runsFromParam } from "./compare";

// index.html's script sends the first reads of a page opened by address; the app takes them
// only if their addresses are exactly those it would ask for itself.
const html = readFileSync(new URL("../../index.html", import.meta.url), "utf8");
const script = /<script id="early-reads">([\s\S]*?)<\/script>/.exec(html)![1]!;

function sentBy(path: string, token: string | null = null): { urls: string[]; auth: (string | undefined)[] } {
  const url = new URL(path, "http://127.0.0.1");
  const urls: string[] = [];
  const auth: (string | undefined)[] = [];
  const context: Record<string, unknown> = {
    location: { pathname: url.pathname, search: url.search },
    URLSearchParams,
    sessionStorage: { getItem: (key: string) => (key === "lineal.token" ? token : null) },
    fetch: (address: string, init: { headers: Record<string, string> }) => {
      urls.push(address);
      auth.push(init.headers.authorization);
      return Promise.resolve();
    },
  };
  context.window = context;
  runInNewContext(script, context);
  return { urls, auth };
}

function appAsks(project: string, search: string): string[] {
  const base = `/api/v1/projects/${encodeURIComponent(project)}/`;
  return viewAsks(new URLSearchParams(search)).map(({ path, query }) => `${base}${path}${queryString(query)}`);
}

describe("index.html's early reads", () => {
  it.each([
    "?ref=model%2Fm%3Aproduction",
    "?ref=model/m@v2&depth=3&dir=up&kinds=dataset,scene&asof=17",
    "?ref=run/01J&depth=&dir=down&expand=dataset%2Fd%40sha256%3A1,run%2FR1",
    "?ref=run/01J&depth=0",
  ])("a lineage view %s: the app's own reads", (search) => {
    const sent = sentBy(`/p/my%20project/lineage${search}`).urls;
    expect(sent.length).toBeGreaterThan(0);
    expect(sent).toEqual(appAsks("my project", search));
  });

  it("a comparison's charts: each run's series of each charted metric, as the charts ask", () => {
    const search = "?runs=run/A,%20run/B,run/A&metrics=loss,acc";
    const expected = ["loss", "acc"].flatMap((key) =>
      runsFromParam("run/A, run/B,run/A").map(
        (run) => `/api/v1/projects/p/metrics${queryString({ run, key, max_points: POINTS })}`,
      ),
    );
    expect(sentBy(`/p/p/compare${search}`).urls).toEqual(expected);
  });

  it("sends the session's token, and nothing for other pages or a view without a reference", () => {
    expect(sentBy("/p/p/lineage?ref=run/R", "t0k").auth).toEqual(["Bearer t0k", "Bearer t0k"]);
    expect(sentBy("/p/p/lineage").urls).toEqual([]);
    expect(sentBy("/p/p/compare?runs=run/A,run/B").urls).toEqual([]); // charts follow the runs' metrics
    expect(sentBy("/p/p/runs?ref=run/R").urls).toEqual([]);
  });
});

describe("answers parsed before the app's first render", () => {
  it("are the bodies of the app's own reads, all or none, taken once", async () => {
    const search = "?ref=model/m@v2&expand=run%2FR1";
    const url = new URL(`/p/my%20project/lineage${search}`, "http://127.0.0.1");
    const bodies = new Map<string, unknown>();
    let slow: (() => void) | null = null;
    const window: Record<string, unknown> = {};
    const context: Record<string, unknown> = {
      location: { pathname: url.pathname, search: url.search },
      URLSearchParams,
      sessionStorage: { getItem: () => null },
      window,
      fetch: (address: string) => {
        const body = { asked: address };
        bodies.set(address, body);
        const answer = { ok: !address.includes("R1") || !address.includes("downstream"), clone: () => ({ json: () => Promise.resolve(body) }) };
        // The expanded node's downstream read comes later than the others.
        if (address.includes("R1") && address.includes("downstream")) {
          return new Promise((resolve) => (slow = () => resolve({ ...answer, ok: true })));
        }
        return Promise.resolve(answer);
      },
    };
    runInNewContext(script, context);
    await new Promise((resolve) => setTimeout(resolve, 0));
    const asks = viewAsks(new URLSearchParams(search));
    (globalThis as { window?: unknown }).window = window;
    try {
      expect(answeredEarly("my project", asks)).toBeUndefined(); // one not answered yet: none
      slow!();
      await new Promise((resolve) => setTimeout(resolve, 0));
      const got = answeredEarly("my project", asks);
      expect(got).toEqual(appAsks("my project", search).map((address) => bodies.get(address)));
      expect(answeredEarly("my project", asks)).toBeUndefined(); // taken once
      expect(answeredEarly("my project", asks.slice(0, 1))).toBeUndefined();
    } finally {
      delete (globalThis as { window?: unknown }).window;
    }
  });

  it("leave out a failed read", async () => {
    const window: Record<string, unknown> = {};
    runInNewContext(script, {
      location: { pathname: "/p/p/lineage", search: "?ref=run/R" },
      URLSearchParams,
      sessionStorage: { getItem: () => null },
      window,
      fetch: () => Promise.resolve({ ok: false, clone: () => ({ json: () => Promise.resolve({ error: "no" }) }) }),
    });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(window.__linealParsed).toEqual({});
  });
});

describe("answers the server sent within the page", () => {
  function embedded(search: string) {
    const url = new URL(`/p/p/lineage${search}`, "http://127.0.0.1");
    const sent: string[] = [];
    const window: Record<string, unknown> = {};
    const listeners: Record<string, () => void> = {};
    runInNewContext(script, {
      location: { pathname: url.pathname, search: url.search },
      URLSearchParams,
      Response,
      sessionStorage: { getItem: () => "t0k" },
      document: {
        currentScript: { getAttribute: (name: string) => (name === "data-answers" ? "embedded" : null) },
        addEventListener: (name: string, listener: () => void) => (listeners[name] = listener),
      },
      window,
      fetch: (address: string) => {
        sent.push(address);
        const body = { fetched: address };
        return Promise.resolve({ ok: true, clone: () => ({ json: () => Promise.resolve(body) }) });
      },
    });
    return { sent, window: window as { __linealAnswers: (answers: Record<string, unknown>) => void; __linealParsed: Record<string, unknown>; __linealJson: Record<string, Promise<unknown>> }, listeners };
  }

  it("are awaited, not asked; those not sent are asked then, with the token", async () => {
    const { sent, window } = embedded("?ref=run/R");
    const [up, down] = appAsks("p", "?ref=run/R");
    expect(sent).toEqual([]); // nothing asked before the server's answers come
    window.__linealAnswers({ [up!]: { nodes: ["sent"] } });
    expect(await window.__linealJson[up!]).toEqual({ nodes: ["sent"] });
    expect(await window.__linealJson[down!]).toEqual({ fetched: down });
    expect(sent).toEqual([down]);
    expect(window.__linealParsed[up!]).toEqual({ nodes: ["sent"] });
  });

  it("are asked once the page is parsed when none came", async () => {
    const { sent, window, listeners } = embedded("?ref=run/R");
    listeners.DOMContentLoaded!();
    expect(sent).toEqual(appAsks("p", "?ref=run/R"));
    window.__linealAnswers({}); // too late: nothing more is asked
    expect(sent.length).toBe(2);
  });
});
