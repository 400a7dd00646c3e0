import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { read, request } from "../api";
import { ErrorLine, Loading, useProject } from "../components";
import { useData } from "../hooks";
import { cell, columnsOf, formatCell, keysOf, nextSort, sortRuns, type Keys } from "../lib/runs";
import type { RunSummary } from "../types";

/** Rows asked for at a time: the table pages on from the server as it scrolls. */
const PAGE = 500;
const ROW_HEIGHT = 34;

interface Page {
  runs: RunSummary[];
  total: number | null; // the server's X-Total-Count (or what it answered, when it does not page)
}

export default function Runs() {
  const project = useProject();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const where = params.get("where") ?? "";
  const sort = params.get("sort") ?? "";
  const chosen = params.get("cols");
  const [text, setText] = useState(where);
  const [picked, setPicked] = useState<string[]>([]);
  const loadedFor = useRef("");
  const serverSorts = useRef(true);

  function update(changes: Record<string, string | null>) {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value === null || value === "") next.delete(key);
      else next.set(key, value);
    }
    setParams(next);
  }

  // Pages of rows from the server (offset, limit; the total from X-Total-Count), the next one
  // asked for as the table scrolls near the end of what it holds.
  const [page, setPage] = useState<Page & { loading: boolean; error: Error | undefined }>({
    runs: [],
    total: null,
    loading: true,
    error: undefined,
  });
  const [wanted, setWanted] = useState(PAGE);
  useEffect(() => setWanted(PAGE), [project, where, sort]);
  useEffect(() => {
    const controller = new AbortController();
    const key = `${project}\u0000${where}\u0000${sort}`;
    const held = loadedFor.current === key ? page.runs : [];
    if (held.length >= wanted || (loadedFor.current === key && page.total !== null && held.length >= page.total)) return;
    setPage((old) => ({ ...old, runs: held, loading: true, error: undefined }));
    request<RunSummary[]>(
      `/projects/${encodeURIComponent(project)}/runs`,
      { where, sort: sort || null, offset: held.length || null, limit: PAGE },
      controller.signal,
    ).then(
      (answer) => {
        const total = answer.headers.get("x-total-count");
        loadedFor.current = key;
        // A server without paging answers its first rows whatever the offset: take them once.
        const paged = total !== null;
        setPage({
          runs: paged ? [...held, ...answer.body] : answer.body,
          total: paged ? Number(total) : answer.body.length,
          loading: false,
          error: undefined,
        });
        if (!paged) serverSorts.current = false;
      },
      (error: unknown) => {
        if (!controller.signal.aborted) {
          setPage({ runs: held, total: null, loading: false, error: error instanceof Error ? error : new Error(String(error)) });
        }
      },
    );
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [project, where, sort, wanted]);
  const serverKeys = useData<Keys | null>(
    (signal) => read<Keys>(project, "runs/columns", {}, signal).catch(() => null),
    [project],
  );
  const runs = useMemo(() => (serverSorts.current ? page.runs : sortRuns(page.runs, sort)), [page.runs, sort]);
  const all = useMemo(() => columnsOf(serverKeys.data ?? keysOf(runs)), [serverKeys.data, runs]);
  const columns = useMemo(() => {
    if (chosen === null) return all.slice(0, 12);
    const ids = chosen.split(",");
    return all.filter((c) => ids.includes(c.id));
  }, [all, chosen]);

  const scroller = useRef<HTMLDivElement>(null);
  const rows = useVirtualizer({
    count: runs.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const total = page.total;
  const items = rows.getVirtualItems();
  const last = items[items.length - 1];
  useEffect(() => {
    if (last && last.index >= runs.length - 50 && total !== null && runs.length < total && !page.loading) {
      setWanted(runs.length + PAGE);
    }
  }, [last, runs.length, total, page.loading]);

  function submit(event: FormEvent) {
    event.preventDefault();
    update({ where: text.trim() });
  }

  function toggle(ref: string) {
    setPicked((old) => (old.includes(ref) ? old.filter((r) => r !== ref) : [...old, ref].slice(-10)));
  }

  const template = `2.5rem 9rem ${columns.map((c) => (c.id === "started" ? "13rem" : c.id === "name" ? "12rem" : "8rem")).join(" ")}`;

  return (
    <div className="page wide runs">
      <h1>Runs</h1>
      <form onSubmit={submit} role="search" className="toolbar">
        <label htmlFor="where">Filter</label>
        <input
          id="where"
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder="metrics.accuracy > 0.9 and params.lr < 0.01"
          size={50}
          aria-describedby="where-help"
        />
        <button type="submit">Search</button>
        <span id="where-help" className="muted">
          the `lineal runs --where` language
        </span>
      </form>
      <div className="toolbar">
        <button
          type="button"
          disabled={picked.length < 2}
          onClick={() => navigate(`/p/${encodeURIComponent(project)}/compare?runs=${picked.join(",")}`)}
        >
          Compare {picked.length} selected
        </button>
        <details className="chooser">
          <summary>Columns ({columns.length} of {all.length})</summary>
          <fieldset>
            <legend>Columns shown</legend>
            {all.map((column) => (
              <label key={column.id}>
                <input
                  type="checkbox"
                  checked={columns.some((c) => c.id === column.id)}
                  onChange={(e) => {
                    const ids = columns.map((c) => c.id);
                    const next = e.target.checked ? [...ids, column.id] : ids.filter((id) => id !== column.id);
                    update({ cols: all.filter((c) => next.includes(c.id)).map((c) => c.id).join(",") || "name" });
                  }}
                />
                {column.id}
              </label>
            ))}
          </fieldset>
        </details>
        <span className="muted" role="status">
          {total !== null && total > runs.length ? `${runs.length} of ${total} runs` : `${runs.length} runs`}
        </span>
      </div>
      <ErrorLine error={page.error} />
      <div className="grid" role="table" aria-label="Runs" aria-rowcount={(total ?? runs.length) + 1} ref={scroller}>
        <div className="grid-head" role="row" style={{ gridTemplateColumns: template }}>
          <span role="columnheader">
            <span className="visually-hidden">Select</span>
          </span>
          <span role="columnheader">Run</span>
          {columns.map((column) => {
            const state = sort === column.id ? "ascending" : sort === `-${column.id}` ? "descending" : "none";
            return (
              <span role="columnheader" key={column.id} aria-sort={state} className={column.id.startsWith("metrics.") || column.id === "duration" ? "num" : ""}>
                <button type="button" className="sort" title={column.id} onClick={() => update({ sort: nextSort(sort, column.id) })}>
                  {column.title}
                  {state === "ascending" ? " ▲" : state === "descending" ? " ▼" : ""}
                </button>
              </span>
            );
          })}
        </div>
        <div role="rowgroup" style={{ height: rows.getTotalSize(), position: "relative", width: "max-content", minWidth: "100%" }}>
          {items.map((item) => {
            const run = runs[item.index]!;
            return (
              <div
                key={run.ref}
                role="row"
                aria-rowindex={item.index + 2}
                className="grid-row"
                style={{ gridTemplateColumns: template, transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
              >
                <span role="cell">
                  <input
                    type="checkbox"
                    aria-label={`Select ${run.ref} for comparison`}
                    checked={picked.includes(run.ref)}
                    onChange={() => toggle(run.ref)}
                  />
                </span>
                <span role="cell">
                  <Link to={`/p/${encodeURIComponent(project)}/lineage?ref=${encodeURIComponent(run.ref)}`} title={run.ref}>
                    {run.ref.slice(4, 16)}…
                  </Link>
                </span>
                {columns.map((column) => {
                  const value = cell(run, column.id);
                  return (
                    <span role="cell" key={column.id} className={typeof value === "number" ? "num" : ""} title={formatCell(value)}>
                      {column.id === "started" ? formatCell(value).replace("T", " ").slice(0, 19) : formatCell(value)}
                    </span>
                  );
                })}
              </div>
            );
          })}
        </div>
      </div>
      <Loading when={page.loading} />
    </div>
  );
}
