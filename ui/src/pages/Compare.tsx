import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { ApiError, read } from "../api";
import { POINTS } from "../lib/asks";
import { ErrorLine, Loading, RefLink, useProject } from "../components";
import { useData } from "../hooks";
import { align, paramRows, runsFromParam, within } from "../lib/compare";
import { formatCell } from "../lib/runs";
import type { Diff, Json, Series } from "../types";

const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#9333ea", "#475569"];

interface Shown {
  ref: string;
  name: string | null;
  params: Record<string, Json>;
  metrics: Record<string, { value: Json; step?: number }>;
  metric_points?: number;
}

/** A side-by-side table's header row: its first column, then one per run (its id, short). */
function RunsHeader({ first, runs }: { first: string; runs: { ref: string }[] }) {
  return (
    <tr>
      <th scope="col">{first}</th>
      {runs.map((run) => (
        <th scope="col" key={run.ref}>
          {run.ref.slice(4, 14)}…
        </th>
      ))}
    </tr>
  );
}

function Chart({ title, runs, series, onZoom }: {
  title: string;
  runs: string[];
  series: (Series | undefined)[];
  onZoom: (range: [number, number] | null) => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const data = align(series);
    const plot = new uPlot(
      {
        width: Math.max(280, element.clientWidth),
        height: 220,
        title,
        scales: { x: { time: false } },
        series: [
          { label: "step" },
          ...runs.map((ref, i) => ({ label: ref.slice(4, 14), stroke: COLOURS[i % COLOURS.length], spanGaps: true, width: 1.5 })),
        ],
        cursor: { drag: { x: true, y: false } },
        hooks: {
          setSelect: [
            (u: uPlot) => {
              if (u.select.width > 4) {
                const from = Math.floor(u.posToVal(u.select.left, "x"));
                const to = Math.ceil(u.posToVal(u.select.left + u.select.width, "x"));
                onZoom([from, to]);
              }
            },
          ],
        },
      },
      data as uPlot.AlignedData,
      element,
    );
    element.dataset.drawn = String(data[0].length);
    element.dataset.firstStep = String(data[0][0] ?? "");
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, element.clientWidth), height: 220 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [title, runs, series, onZoom]);
  return <div ref={box} className="chart" role="img" aria-label={`Chart of ${title} for ${runs.length} runs`} />;
}

/** Series answers kept for the page's life, by read: a run added to the comparison asks
 * only for its own series, not again for those already drawn. */
type SeriesCache = Map<string, Promise<Series | undefined>>;

function MetricChart({ project, runs, metric, cache }: { project: string; runs: string[]; metric: string; cache: SeriesCache }) {
  const [range, setRange] = useState<[number, number] | null>(null);
  function one(run: string): Promise<Series | undefined> {
    const query = { run, key: metric, max_points: POINTS, from_step: range?.[0], to_step: range?.[1] };
    const key = `${project} ${JSON.stringify(query)}`;
    let found = cache.get(key);
    if (!found) {
      found = read<Record<string, Series>>(project, "metrics", query)
        .then((answer) => within(answer[metric], range))
        .catch((error: unknown) => {
          // A run without this metric draws no line; other errors are shown.
          if (error instanceof ApiError && error.status === 404) return undefined;
          throw error;
        });
      found.catch(() => cache.delete(key)); // a failure is asked again next time
      cache.set(key, found);
    }
    return found;
  }
  const loaded = useData(() => Promise.all(runs.map(one)), [project, runs.join(","), metric, range?.[0], range?.[1]]);
  return (
    <figure className="metric">
      <Loading when={loaded.loading} />
      <ErrorLine error={loaded.error} />
      {loaded.data ? <Chart title={metric} runs={runs} series={loaded.data} onZoom={setRange} /> : null}
      <figcaption>
        {range ? (
          <>
            steps {range[0]}–{range[1]}{" "}
            <button type="button" onClick={() => setRange(null)}>
              Reset zoom of {metric}
            </button>
          </>
        ) : (
          <span className="muted">drag across the chart to zoom (detail is fetched again)</span>
        )}
      </figcaption>
    </figure>
  );
}

export default function Compare() {
  const project = useProject();
  const [params, setParams] = useSearchParams();
  const runs = useMemo(() => runsFromParam(params.get("runs")), [params]);
  const [adding, setAdding] = useState("");
  const series = useRef<SeriesCache>(new Map());
  const shown = useData(
    runs.length ? (signal) => Promise.all(runs.map((ref) => read<Shown>(project, "show", { ref }, signal))) : null,
    [project, runs.join(",")],
  );
  const diffA = params.get("a") ?? runs[0];
  const diffB = params.get("b") ?? runs[1];
  const diff = useData(
    diffA && diffB ? (signal) => read<Diff>(project, "diff", { a: diffA, b: diffB }, signal) : null,
    [project, diffA, diffB],
  );
  const metricKeys = useMemo(() => {
    const keys = new Set<string>();
    (shown.data ?? []).forEach((run) => Object.keys(run.metrics ?? {}).forEach((k) => keys.add(k)));
    return [...keys].sort();
  }, [shown.data]);
  const charted = params.get("metrics")?.split(",").filter(Boolean) ?? metricKeys;
  const rows = useMemo(() => paramRows((shown.data ?? []).map((run) => run.params ?? {})), [shown.data]);

  function setRuns(next: string[]) {
    const copy = new URLSearchParams(params);
    copy.set("runs", next.join(","));
    copy.delete("a");
    copy.delete("b");
    setParams(copy);
  }

  return (
    <div className="page wide compare">
      <h1>Compare runs</h1>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          if (adding.trim()) setRuns([...runs, adding.trim()].slice(0, 10));
          setAdding("");
        }}
      >
        <label htmlFor="add-run">Add a run</label>
        <input id="add-run" value={adding} onChange={(e) => setAdding(e.target.value)} placeholder="run/ID" />
        <button type="submit">Add</button>
        <span className="muted">
          or pick 2–10 in <Link to={`/p/${encodeURIComponent(project)}/runs`}>Runs</Link>
        </span>
      </form>
      {runs.length < 2 ? <p>Choose at least two runs to compare.</p> : null}
      <ErrorLine error={shown.error} />
      <Loading when={shown.loading} />
      {shown.data ? (
        <>
          <section aria-labelledby="compare-runs">
            <h2 id="compare-runs">Runs</h2>
            <ul className="run-chips">
              {shown.data.map((run, i) => (
                <li key={run.ref} style={{ borderColor: COLOURS[i % COLOURS.length] }}>
                  <RefLink reference={run.ref}>{run.ref}</RefLink> <span className="muted">{run.name}</span>{" "}
                  <button type="button" aria-label={`Remove ${run.ref}`} onClick={() => setRuns(runs.filter((r) => r !== run.ref))}>
                    ×
                  </button>
                </li>
              ))}
            </ul>
          </section>
          <section aria-labelledby="compare-diff">
            <h2 id="compare-diff">What differs upstream</h2>
            {runs.length > 2 ? (
              <p className="toolbar">
                <label htmlFor="diff-a">Diff</label>
                <select id="diff-a" value={diffA} onChange={(e) => setParams((p) => (p.set("a", e.target.value), p))}>
                  {runs.map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
                <label htmlFor="diff-b">against</label>
                <select id="diff-b" value={diffB} onChange={(e) => setParams((p) => (p.set("b", e.target.value), p))}>
                  {runs.map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              </p>
            ) : null}
            <ErrorLine error={diff.error} />
            <Loading when={diff.loading} />
            {diff.data ? (
              <table className="diff" aria-label="Upstream changes, ranked">
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Category</th>
                    <th scope="col">Subject</th>
                    <th scope="col">Before</th>
                    <th scope="col">After</th>
                    <th scope="col">Change</th>
                    <th scope="col">Score</th>
                  </tr>
                </thead>
                <tbody>
                  {diff.data.changes.map((change, i) => (
                    <tr key={`${change.category}-${change.subject}-${i}`} data-category={change.category}>
                      <td>{i + 1}</td>
                      <td>{change.category}</td>
                      <td>{change.subject}</td>
                      <td>{change.before && /^[a-z]+\/[^,\s]+$/.test(change.before) ? <RefLink reference={change.before} /> : change.before}</td>
                      <td>{change.after && /^[a-z]+\/[^,\s]+$/.test(change.after) ? <RefLink reference={change.after} /> : change.after}</td>
                      <td>{String(change.detail?.change ?? "")}</td>
                      <td className="num">{change.score.toFixed(1)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
          </section>
          <section aria-labelledby="compare-metrics">
            <h2 id="compare-metrics">Metrics</h2>
            <table className="side-by-side" aria-label="Last metric values">
              <thead>
                <RunsHeader first="Metric" runs={shown.data} />
              </thead>
              <tbody>
                {metricKeys.map((key) => (
                  <tr key={key}>
                    <th scope="row">{key}</th>
                    {shown.data!.map((run) => (
                      <td key={run.ref} className="num">
                        {formatCell(run.metrics?.[key]?.value ?? null)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </>
      ) : null}
      {runs.length && charted.length ? (
        <section aria-labelledby="compare-charts">
          <h2 id="compare-charts">Charts</h2>
          <div className="charts">
            {charted.map((metric) => (
              <MetricChart key={metric} project={project} runs={runs} metric={metric} cache={series.current} />
            ))}
          </div>
        </section>
      ) : null}
      {shown.data ? (
        <>
          <section aria-labelledby="compare-params">
            <h2 id="compare-params">Params</h2>
            {rows.length === 0 ? <p className="muted">These runs record no params.</p> : null}
            {rows.length ? (
              <table className="side-by-side" aria-label="Params side by side">
                <thead>
                  <RunsHeader first="Param" runs={shown.data} />
                </thead>
                <tbody>
                  {rows.map((row) => (
                    <tr key={row.key} className={row.differs ? "differs" : ""}>
                      <th scope="row">
                        {row.key}
                        {row.differs ? <span className="visually-hidden"> (differs)</span> : null}
                      </th>
                      {row.values.map((value, i) => (
                        <td key={i}>{formatCell(value ?? null)}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
          </section>
        </>
      ) : null}
    </div>
  );
}
