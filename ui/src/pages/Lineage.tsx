import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router-dom";
import { answeredEarly, ApiError, read } from "../api";
import { ErrorLine, KeyValues, Loading, shortDigest, useProject } from "../components";
import { useData } from "../hooks";
import { MAX_NODES, mergeGraphs, nearest, nodeRef, toDot, toMermaid, toSvg, type Box, type Merged } from "../lib/graph";
import { KINDS, list, REF_PLACEHOLDER, viewAsks } from "../lib/asks";
import { takeFirstPicture } from "../lib/firstPicture";
import { layout, layoutNow, SYNC_LIMIT } from "../lib/layout";
import { fromLog, markText, type Timeline } from "../lib/timeline";
import type { Carried } from "../lib/quality";
import { CarriedList } from "../quality";
import type { Graph, GraphNode, Json, LogRecord } from "../types";
import { LineageCanvas } from "./LineageCanvas";

export { MAX_NODES };
/** Ledger ops that mark the time slider (a version, an alias, a promotion). */
const MARK_OPS = new Set(["artifact.record", "alias.set", "model.promote", "model.approve"]);

function download(name: string, type: string, data: BlobPart) {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function svgToPng(svg: string): Promise<Blob> {
  const image = new Image();
  image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext("2d")!.drawImage(image, 0, 0);
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("no PNG"))), "image/png"),
  );
}


const EMPTY: Graph = { roots: [], nodes: [], edges: [], as_of: null };

function Details({ project, node, asOf }: { project: string; node: GraphNode; asOf: string | null }) {
  const shown = useData(
    (signal) => read<Record<string, Json>>(project, "show", { ref: nodeRef(node) }, signal),
    [project, node.id],
  );
  const data = shown.data;
  const meta = (data?.meta ?? {}) as Record<string, Json>;
  const tags = (data?.tags ?? {}) as Record<string, Json>;
  const licence = (tags.license ?? meta.license ?? null) as string | null;
  const metrics = (data?.metrics ?? {}) as Record<string, { value: Json } | Json>;
  return (
    <section aria-labelledby="details-title" className="details">
      <h2 id="details-title">{node.label}</h2>
      {asOf ? <p className="muted">Graph as of ledger record {asOf}; details as they are now.</p> : null}
      <Loading when={shown.loading} />
      <ErrorLine error={shown.error} />
      {data ? (
        <dl className="facts">
          <dt>Kind</dt>
          <dd>{String(data.kind ?? node.kind)}</dd>
          {data.digest ? (
            <>
              <dt>Digest</dt>
              <dd>
                <code title={String(data.digest)}>{shortDigest(String(data.digest))}</code>
              </dd>
            </>
          ) : null}
          {data.version ? (
            <>
              <dt>Version</dt>
              <dd>v{String(data.version)}</dd>
            </>
          ) : null}
          {Array.isArray(data.versions) && data.versions.length ? (
            <>
              <dt>Versions</dt>
              <dd>{(data.versions as string[]).join(", ")}</dd>
            </>
          ) : null}
          {node.aliases.length || (Array.isArray(data.aliases) && data.aliases.length) ? (
            <>
              <dt>Aliases</dt>
              <dd>{[...new Set([...node.aliases, ...((data.aliases as string[]) ?? [])])].join(", ")}</dd>
            </>
          ) : null}
          <dt>Licence</dt>
          <dd data-testid="licence">{licence ?? "none recorded"}</dd>
          {data.status ? (
            <>
              <dt>Status</dt>
              <dd>{String(data.status)}</dd>
            </>
          ) : null}
          {data.author ? (
            <>
              <dt>Author</dt>
              <dd>{String(data.author)}</dd>
            </>
          ) : null}
          {data.started ? (
            <>
              <dt>Started</dt>
              <dd>{String(data.started)}</dd>
            </>
          ) : null}
        </dl>
      ) : null}
      {data && Array.isArray(data.classified) ? <CarriedList carried={data.classified as unknown as Carried[]} /> : null}
      {data && Object.keys(tags).length ? (
        <>
          <h3>Tags</h3>
          <KeyValues values={tags} label="Tags" />
        </>
      ) : null}
      {data && Object.keys(metrics).length ? (
        <>
          <h3>Metrics</h3>
          <KeyValues
            label="Metrics"
            values={Object.fromEntries(
              Object.entries(metrics).map(([k, v]) => [k, v && typeof v === "object" && "value" in v ? v.value : v]),
            )}
          />
        </>
      ) : null}
      {data && data.params && Object.keys(data.params as object).length ? (
        <>
          <h3>Params</h3>
          <KeyValues values={data.params as Record<string, Json>} label="Params" />
        </>
      ) : null}
      {data && (meta.context || meta.hardware) ? (
        <>
          <h3>Capture</h3>
          <KeyValues
            label="Capture"
            values={{ ...((meta.context as object) ?? {}), ...(meta.hardware ? { hardware: meta.hardware } : {}) }}
          />
        </>
      ) : null}
    </section>
  );
}

export default function Lineage() {
  const project = useProject();
  const [params, setParams] = useSearchParams();
  const ref = params.get("ref") ?? "";
  const depth = Number(params.get("depth") ?? "2") || 0;
  const direction = params.get("dir") ?? "both";
  const kinds = list(params.get("kinds"));
  const asOf = params.get("asof");
  const expanded = list(params.get("expand"));
  const selectedId = params.get("sel");
  const pathA = params.get("pa");
  const pathB = params.get("pb");
  const [search, setSearch] = useState(ref);
  useEffect(() => setSearch(ref), [ref]);

  function update(changes: Record<string, string | null>) {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value === null || value === "") next.delete(key);
      else next.set(key, value);
    }
    setParams(next);
  }

  // The start page offers the models (a big store holds too many artifacts to list them all).
  const artifacts = useData(
    ref
      ? null
      : (signal) =>
              read<{ ref: string; latest: string; aliases: Record<string, Json> }[]>(project, "artifacts", { kind: "model" }, signal),
        [project, ref === ""],
      );
      // Each answer is kept for the page's life: an expansion asks only for the new node's.
      const answers = useRef(new Map<string, Promise<Graph>>());
      function ask(path: string, query: Record<string, string | number | string[] | null>): Promise<Graph> {
        const key = `${project} ${path} ${JSON.stringify(query)}`;
        let found = answers.current.get(key);
        if (!found) {
          found = read<Graph>(project, path, query);
          found.catch(() => answers.current.delete(key)); // a failure is asked again next time
          answers.current.set(key, found);
        }
        return found;
      }
      const graph = useData<Merged | null>(
        ref
          ? async () => {
              const asks = viewAsks(params).map(({ path, query, optional }) =>
                optional ? ask(path, query).catch(() => EMPTY) : ask(path, query),
              );
              return mergeGraphs(await Promise.all(asks));
            }
          : null,
        [project, ref, depth, direction, kinds.join(","), asOf, expanded.join(",")],
        // A view opened by address: its reads, sent by index.html, are often answered before the
        // app's first render, which then draws the graph.
        () => {
          const bodies = answeredEarly(project, viewAsks(params));
          return bodies ? mergeGraphs(bodies as Graph[]) : undefined;
        },
      );
      // Asked once the first view is painted (or with no reference), not beside it: on a long
      // ledger it is the slower read, and its marks (a thousand options) take a while to render:
      // the view comes first.
      const [viewPainted, setViewPainted] = useState(false);
      const graphShown = !ref || graph.error !== undefined || viewPainted;
      const timeline = useData<Timeline>(
        !graphShown
          ? null
          : (signal) =>
          read<Timeline>(project, "timeline", { limit: 1000 }, signal).catch(async (error: unknown) => {
            // A server without /timeline: the ledger's own records give the span and the marks.
            if (!(error instanceof ApiError) || error.status !== 404) throw error;
            // The newest record (the span's end), and the marks' records by op, a few hundred each.
            const asks = [read<LogRecord[]>(project, "log", { limit: 1 }, signal)];
            for (const op of MARK_OPS) asks.push(read<LogRecord[]>(project, "log", { op, limit: 300 }, signal));
            const records = (await Promise.all(asks)).flat();
            records.push({ seq: 1, time: "", author: "", op: "", payload: {} }); // a ledger starts at 1
            return fromLog(records, MARK_OPS);
          }),
    [project, graphShown],
  );
  const span = timeline.data?.first && timeline.data.last ? { first: timeline.data.first.seq, last: timeline.data.last.seq } : null;
  // The slider's place is kept (disabled) until its span is read, so its arrival moves nothing.
  const slider = span ?? { first: 0, last: 0 };
  const marks = useMemo(() => [...(timeline.data?.events ?? [])].sort((a, b) => a.seq - b.seq), [timeline.data]);
  const asOfRecord = useMemo(
    () => (asOf ? marks.find((r) => String(r.seq) === asOf) : undefined),
    [asOf, marks],
  );

  const pathGraph = useData<Set<string>>(
    pathA && pathB
      ? async (signal) => {
          const found = await read<Graph>(project, "path", { a: pathA, b: pathB, as_of: asOf }, signal);
          const back = found.nodes.length
            ? found
            : await read<Graph>(project, "path", { a: pathB, b: pathA, as_of: asOf }, signal);
          return new Set(back.nodes.map((n) => n.id));
        }
      : null,
    [project, pathA, pathB, asOf],
  );
  // One set while the path's answer stands: a new set each render would make the graph's nodes
  // and edges anew, and React Flow redraw them.
  const onPath = useMemo(() => pathGraph.data ?? new Set<string>(), [pathGraph.data]);

  const shown = useMemo<Merged | null>(() => (graph.data ? nearest(graph.data, MAX_NODES) : null), [graph.data]);
  const shownKey = useMemo(() => (shown ? shown.nodes.map((n) => n.id).join("|") : ""), [shown]);
  // A view of up to SYNC_LIMIT nodes is laid out here, in the render that draws it; a bigger one
  // in elkjs's worker, drawn when its layout comes back.
  // The view drawn first without React (src/first.ts) keeps the layout it was drawn with.
  const placedNow = useMemo<Box[] | null>(
    () =>
      shown && shown.nodes.length <= SYNC_LIMIT
        ? (takeFirstPicture(shownKey) ??
          layoutNow(
            shown.nodes.map((n) => n.id),
            shown.edges.map((e) => [e.parent, e.child]),
          ))
        : null,
    [shown, shownKey],
  );
  const [placedLater, setPlacedLater] = useState<{ key: string; boxes: Box[] }>({ key: "", boxes: [] });
  useEffect(() => {
    if (!shown || placedNow) return;
    let current = true;
    layout(
      shown.nodes.map((n) => n.id),
      shown.edges.map((e) => [e.parent, e.child]),
    ).then((found) => {
      if (current) setPlacedLater({ key: shownKey, boxes: found });
    });
    return () => {
      current = false;
    };
  }, [shown, shownKey, placedNow]);
  const boxes = placedNow ?? placedLater.boxes;
  const laidOut = placedNow ? shownKey : placedLater.key;

  const selected = shown?.nodes.find((n) => n.id === selectedId) ?? null;
  const ready = shown !== null && laidOut === shownKey;
  useEffect(() => {
    if (!ready || viewPainted) return;
    // After the frame that paints the view's first picture (the next frame, then a task): React
    // Flow is loaded and mounted, and the as-of slider's span read, only then.
    let timer = 0;
    const frame = requestAnimationFrame(() => {
      timer = window.setTimeout(() => setViewPainted(true));
    });
    return () => {
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
  }, [ready, viewPainted]);

  function choose(node: GraphNode) {
    const isRoot = shown?.roots.includes(node.id);
    const more = isRoot || expanded.includes(node.id) ? expanded : [...expanded, node.id];
    update({ sel: node.id, expand: more.join(",") });
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    update({ ref: search.trim(), sel: null, expand: null, pa: null, pb: null });
  }

  const suggestions = (artifacts.data ?? []).flatMap((a) => [
    a.latest,
    ...Object.keys(a.aliases).map((alias) => `${a.ref}:${alias}`),
  ]);

  return (
    <div className="lineage page wide">
      <h1 className="visually-hidden">Lineage explorer</h1>
      <form className="toolbar" onSubmit={submit} role="search">
        <label htmlFor="ref">Reference</label>
        <input
          id="ref"
          list="refs"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          placeholder={REF_PLACEHOLDER}
          size={36}
        />
        <datalist id="refs">
          {suggestions.map((one) => (
            <option key={one} value={one} />
          ))}
        </datalist>
        <button type="submit">Show</button>
        <label htmlFor="depth">Depth</label>
        <input
          id="depth"
          type="number"
          min={1}
          max={20}
          value={depth}
          onChange={(e) => update({ depth: e.target.value === "2" ? null : e.target.value })}
        />
        <label htmlFor="dir">Direction</label>
        <select id="dir" value={direction} onChange={(e) => update({ dir: e.target.value === "both" ? null : e.target.value })}>
          <option value="both">up and down</option>
          <option value="up">upstream</option>
          <option value="down">downstream</option>
        </select>
      </form>
      <fieldset className="toolbar kinds">
        <legend>Kinds shown (none checked: all)</legend>
        {KINDS.map((kind) => (
          <label key={kind}>
            <input
              type="checkbox"
              checked={kinds.includes(kind)}
              onChange={(e) =>
                update({ kinds: (e.target.checked ? [...kinds, kind] : kinds.filter((k) => k !== kind)).join(",") })
              }
            />
            {kind}
          </label>
        ))}
      </fieldset>
      {span || ref ? (
        <div className="toolbar timeline">
          <label htmlFor="asof">As of</label>
          <input
            id="asof"
            type="range"
            min={slider.first}
            max={slider.last}
            step={1}
            list="marks"
            disabled={!span}
            value={asOf ?? slider.last}
            aria-valuetext={asOf ? `ledger record ${asOf}${asOfRecord ? ` at ${asOfRecord.time}` : ""}` : "now"}
            onChange={(e) => update({ asof: Number(e.target.value) >= slider.last ? null : e.target.value })}
          />
          <datalist id="marks">
            {marks.map((m) => (
              <option key={m.seq} value={m.seq} label={m.event} />
            ))}
          </datalist>
          <output htmlFor="asof" data-testid="asof-value">
            {asOf ? `record ${asOf}${asOfRecord ? ` · ${asOfRecord.time.replace("T", " ").slice(0, 19)}` : ""}` : "now"}
          </output>
          {asOf ? (
            <button type="button" onClick={() => update({ asof: null })}>
              Now
            </button>
          ) : null}
          <label htmlFor="jump">Jump to</label>
          <select id="jump" disabled={!span} value="" onChange={(e) => e.target.value && update({ asof: e.target.value })}>
            <option value="">an event…</option>
            {[...marks].reverse().map((m) => (
              <option key={m.seq} value={String(m.seq)}>
                {m.seq}: {markText(m)}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      <ErrorLine error={graph.error ?? pathGraph.error} />
      {!ref ? (
        <section className="start">
          <p>Start from any reference: a model, a dataset version, a run.</p>
          <ul>
            {(artifacts.data ?? []).slice(0, 30).map((a) => (
              <li key={a.ref}>
                <button type="button" className="linkish" onClick={() => update({ ref: a.latest })}>
                  {a.latest}
                </button>
                {Object.keys(a.aliases).map((alias) => (
                  <button key={alias} type="button" className="linkish" onClick={() => update({ ref: `${a.ref}:${alias}` })}>
                    :{alias}
                  </button>
                ))}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {graph.data && graph.data.nodes.length > MAX_NODES ? (
        <p className="warning" role="status">
          {graph.data.nodes.length} nodes: the {MAX_NODES} nearest are drawn. Lower the depth or filter kinds.
        </p>
      ) : null}
      {shown ? (
        <div className="explorer">
          <LineageCanvas
            shown={shown}
            boxes={boxes}
            laidOut={laidOut}
            ready={ready}
            loading={graph.loading}
            onPath={onPath}
            selectedId={selectedId}
            onChoose={choose}
            flow={viewPainted}
          />
          <aside className="side" aria-label="Node details">
            <div className="exports" role="group" aria-label="Export">
              <button type="button" onClick={() => download("lineage.svg", "image/svg+xml", toSvg(shown, boxes, onPath))}>
                SVG
              </button>
              <button
                type="button"
                onClick={() => svgToPng(toSvg(shown, boxes, onPath)).then((png) => download("lineage.png", "image/png", png))}
              >
                PNG
              </button>
              <button type="button" onClick={() => download("lineage.dot", "text/vnd.graphviz", toDot(shown))}>
                dot
              </button>
              <button type="button" onClick={() => download("lineage.mmd", "text/plain", toMermaid(shown))}>
                mermaid
              </button>
            </div>
            {pathA || pathB ? (
              <p className="path-info" role="status">
                Path from <code>{pathA ?? "?"}</code> to <code>{pathB ?? "?"}</code>
                {pathGraph.data ? `: ${pathGraph.data.size} nodes highlighted` : ""}{" "}
                <button type="button" onClick={() => update({ pa: null, pb: null })}>
                  Clear path
                </button>
              </p>
            ) : null}
            {selected ? (
              <>
                <div className="actions" role="group" aria-label="Selected node">
                  <button type="button" onClick={() => update({ ref: nodeRef(selected), sel: null, expand: null })}>
                    Centre here
                  </button>
                  <button type="button" onClick={() => update({ pa: selected.id })}>
                    Path from here
                  </button>
                  <button type="button" onClick={() => update({ pb: selected.id })}>
                    Path to here
                  </button>
                </div>
                <Details project={project} node={selected} asOf={asOf} />
              </>
            ) : (
              <p className="muted">Select a node (click it, or pick it below) to see its details and expand it.</p>
            )}
            <h2 id="nodes-title">Nodes in view ({shown.nodes.length})</h2>
            <ul className="node-list" aria-labelledby="nodes-title">
              {[...shown.nodes]
                .sort((a, b) => a.depth - b.depth)
                .map((node) => (
                  <li key={node.id}>
                    <button
                      type="button"
                      className={`linkish${node.id === selectedId ? " current" : ""}${onPath.has(node.id) ? " on-path" : ""}`}
                      aria-pressed={node.id === selectedId}
                      onClick={() => choose(node)}
                    >
                      {node.label}
                    </button>{" "}
                    <span className="muted">{node.kind}</span>
                  </li>
                ))}
            </ul>
          </aside>
        </div>
      ) : null}
    </div>
  );
}
