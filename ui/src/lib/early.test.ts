import { readFileSync } from "node:fs";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { queryString } from "../api";
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
