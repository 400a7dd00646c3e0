import { useSearchParams } from "react-router-dom";
import { ApiError, read } from "../api";
import { ErrorLine, KeyValues, Loading, RefLink, shortDigest, useProject } from "../components";
import { useData } from "../hooks";
import type { Drift } from "../lib/quality";
import { classChanges, classesOf, type ClassChange } from "../lib/schema";
import { DriftTable, ReportLink } from "../quality";
import type { Json, NamedArtifact } from "../types";

const KINDS = ["dataset", "schema", "scene", "config", "file"];

type Shown = Record<string, Json> & { meta?: Record<string, Json>; versions?: string[] };

interface Stats {
  annotations?: number;
  images?: number;
  per_class?: Record<string, number>;
}

function statsOf(meta: Record<string, Json> | undefined): Stats[] {
  const labels = meta?.labels as { schemas?: { stats?: Stats }[] } | undefined;
  return (labels?.schemas ?? []).map((s) => s.stats ?? {});
}

function Histogram({ counts, label }: { counts: Record<string, number>; label: string }) {
  const top = Math.max(1, ...Object.values(counts));
  return (
    <table className="histogram" aria-label={label}>
      <tbody>
        {Object.entries(counts)
          .sort((a, b) => b[1] - a[1])
          .map(([name, count]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td className="num">{count}</td>
              <td className="bar-cell" aria-hidden="true">
                <span className="bar" style={{ width: `${(100 * count) / top}%` }} />
              </td>
            </tr>
          ))}
      </tbody>
    </table>
  );
}

/** The drift of dataset version ``b`` from ``a`` (`drift?ref=A&to=B`). */
function DriftCompare({ project, a, b }: { project: string; a: string; b: string }) {
  const found = useData((signal) => read<Drift>(project, "drift", { ref: a, to: b }, signal), [project, a, b]);
  return (
    <>
      <ErrorLine error={found.error} />
      <Loading when={found.loading} />
      {found.data ? <DriftTable found={found.data} title={`Drift: ${a} → ${b}`} id="drift-compared" /> : null}
    </>
  );
}

/** One version; ``compared``: the pair the page compares (a dataset version's drift from the
 * one before is shown here unless that pair is it). */
function Version({ project, reference, compared }: { project: string; reference: string; compared: [string | null, string | null] }) {
  const shown = useData((signal) => read<Shown>(project, "show", { ref: reference }, signal), [project, reference]);
  const data = shown.data;
  const meta = data?.meta;
  const tags = (data?.tags ?? {}) as Record<string, Json>;
  const stats = statsOf(meta);
  const summary = (meta?.summary ?? null) as Record<string, Json> | null;
  const layers = (meta?.layers ?? []) as { path: string; digest: string; size: number }[];
  const drift = (data?.drift ?? null) as unknown as Drift | null;
  return (
    <section className="version" aria-label={reference}>
      <h3>
        <RefLink reference={reference} />
      </h3>
      {data && data.kind === "dataset" && data.type !== "run" ? (
        <p>
          <ReportLink reference={reference} />
        </p>
      ) : null}
      <ErrorLine error={shown.error} />
      <Loading when={shown.loading} />
      {data ? (
        <dl className="facts">
          <dt>Digest</dt>
          <dd>
            <code title={String(data.digest)}>{shortDigest(String(data.digest ?? ""))}</code>
          </dd>
          <dt>Size</dt>
          <dd>{String(data.size ?? "")} bytes</dd>
          <dt>Licence</dt>
          <dd>{String(tags.license ?? "none recorded")}</dd>
          {meta?.files !== undefined ? (
            <>
              <dt>Files</dt>
              <dd>{String(meta.files)}</dd>
            </>
          ) : null}
          {meta?.run ? (
            <>
              <dt>Made by</dt>
              <dd>
                <RefLink reference={String(meta.run)} />
              </dd>
            </>
          ) : null}
        </dl>
      ) : null}
      {stats.map((one, i) => (
        <div key={i}>
          <p>
            {one.images ?? "?"} images, {one.annotations ?? "?"} annotations
          </p>
          {one.per_class ? <Histogram counts={one.per_class} label={`Annotations per class, ${reference}`} /> : null}
        </div>
      ))}
      {classesOf(meta).length ? (
        <table aria-label={`Classes of ${reference}`}>
          <thead>
            <tr>
              <th scope="col">id</th>
              <th scope="col">class</th>
              <th scope="col">supercategory</th>
            </tr>
          </thead>
          <tbody>
            {classesOf(meta).map((c) => (
              <tr key={String(c.id)}>
                <td>{String(c.id)}</td>
                <td>{c.name}</td>
                <td>{c.supercategory ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {layers.length ? (
        <>
          <h4>Layers</h4>
          <ul>
            {layers.map((l) => (
              <li key={l.path}>
                {l.path} <span className="muted">{shortDigest(l.digest)}</span>
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {drift && !(compared[0] === drift.a && compared[1] === drift.b) ? (
        <DriftTable found={drift} title={`Drift from ${drift.a}`} id={`drift-${reference}`} />
      ) : null}
      {summary && summary.counts ? <KeyValues values={summary.counts as Record<string, Json>} label={`Scene summary of ${reference}`} /> : null}
    </section>
  );
}

interface SchemaDiffAnswer {
  added: { id: number | string; name: string }[];
  removed: { id: number | string; name: string }[];
  renamed: { id: number | string; before: string; after: string }[];
}

/** Classes renamed, removed, added: the server's `schema/diff`, else worked out here from
 * both versions' classes (a server without that endpoint). */
async function schemaChanges(project: string, a: string, b: string, signal: AbortSignal): Promise<ClassChange[]> {
  try {
    const found = await read<SchemaDiffAnswer>(project, "schema/diff", { a, b }, signal);
    return [
      ...found.renamed.map((c) => ({ change: "renamed" as const, id: c.id, before: c.before, after: c.after })),
      ...found.removed.map((c) => ({ change: "removed" as const, id: c.id, before: c.name, after: null })),
      ...found.added.map((c) => ({ change: "added" as const, id: c.id, before: null, after: c.name })),
    ];
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error; // no such endpoint: work it out here
    const [one, two] = await Promise.all([a, b].map((ref) => read<Shown>(project, "show", { ref }, signal)));
    return classChanges(classesOf(one!.meta), classesOf(two!.meta));
  }
}

function SchemaDiff({ project, a, b }: { project: string; a: string; b: string }) {
  const changes = useData((signal) => schemaChanges(project, a, b, signal), [project, a, b]);
  return (
    <section aria-labelledby="schema-diff">
      <h3 id="schema-diff">
        Classes: {a} → {b}
      </h3>
      <ErrorLine error={changes.error} />
      {changes.data && changes.data.length === 0 ? <p>The same classes.</p> : null}
      <ul>
        {(changes.data ?? []).map((c) => (
          <li key={`${c.change}-${String(c.id)}`}>
            <strong>{c.change}</strong> class {String(c.id)}: {c.before ?? ""}
            {c.change === "renamed" ? " → " : ""}
            {c.after ?? ""}
          </li>
        ))}
      </ul>
    </section>
  );
}

type Changes = { added?: unknown[]; removed?: unknown[]; changed?: unknown[] };

function describe(item: unknown): string {
  if (item && typeof item === "object") {
    const one = item as Record<string, unknown>;
    const name = String(one.path ?? one.name ?? one.id ?? "");
    if (one.changes && typeof one.changes === "object") {
      const parts = Object.entries(one.changes as Record<string, { before?: unknown; after?: unknown }>).map(
        ([key, change]) => `${key}: ${JSON.stringify(change.before)} → ${JSON.stringify(change.after)}`,
      );
      return `${name} (${parts.join("; ")})`;
    }
    return name || JSON.stringify(item);
  }
  return String(item);
}

/** `scene/diff` (layers, assets, lights, cameras, transforms, labels) or `diff` (a dataset's
 * files), each part listed with what was added, removed or changed. */
function VersionDiff({ project, kind, a, b }: { project: string; kind: string; a: string; b: string }) {
  const path = kind === "scene" ? "scene/diff" : "diff";
  const found = useData((signal) => read<Record<string, Json>>(project, path, { a, b }, signal), [project, path, a, b]);
  const parts = Object.entries(found.data ?? {}).filter(
    ([, value]) => value && typeof value === "object" && !Array.isArray(value) && ["added", "removed", "changed"].some((k) => k in (value as object)),
  ) as [string, Changes][];
  return (
    <section aria-labelledby="version-diff">
      <h3 id="version-diff">
        What changed: {a} → {b}
      </h3>
      <ErrorLine error={found.error} />
      <Loading when={found.loading} />
      {found.data && parts.every(([, c]) => !c.added?.length && !c.removed?.length && !c.changed?.length) ? (
        <p>No change found.</p>
      ) : null}
      <dl className="facts">
        {parts
          .filter(([, c]) => c.added?.length || c.removed?.length || c.changed?.length)
          .map(([name, c]) => (
            <div key={name} className="diff-part">
              <dt>{name}</dt>
              <dd>
                <ul>
                  {(["added", "removed", "changed"] as const).flatMap((change) =>
                    (c[change] ?? []).slice(0, 200).map((item, i) => (
                      <li key={`${change}-${i}`}>
                        <strong>{change}</strong> {describe(item)}
                      </li>
                    )),
                  )}
                </ul>
              </dd>
            </div>
          ))}
      </dl>
    </section>
  );
}

export default function Artifacts() {
  const project = useProject();
  const [params, setParams] = useSearchParams();
  const kind = params.get("kind") ?? "dataset";
  const listed = useData((signal) => read<NamedArtifact[]>(project, "artifacts", { kind }, signal), [project, kind]);
  const name = params.get("name") ?? listed.data?.[0]?.name ?? null;
  const chosen = listed.data?.find((a) => a.name === name) ?? null;
  const versions = chosen ? Array.from({ length: chosen.version }, (_, i) => `${chosen.ref}@v${i + 1}`) : [];
  const a = params.get("a") ?? versions[versions.length - 2] ?? null;
  const b = params.get("b") ?? versions[versions.length - 1] ?? null;

  function update(changes: Record<string, string | null>) {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) next.delete(key);
      else next.set(key, value);
    }
    setParams(next);
  }

  return (
    <div className="page wide artifacts two-columns">
      <h1>Datasets, label schemas and scenes</h1>
      <nav aria-label="Artifacts" className="list">
        <div role="tablist" aria-label="Kind" className="tabs">
          {KINDS.map((k) => (
            <button key={k} role="tab" type="button" aria-selected={k === kind} onClick={() => setParams({ kind: k })}>
              {k}
            </button>
          ))}
        </div>
        <ErrorLine error={listed.error} />
        <Loading when={listed.loading} />
        <ul>
          {(listed.data ?? []).map((one) => (
            <li key={one.ref}>
              <button
                type="button"
                className="linkish"
                aria-current={one.name === name ? "true" : undefined}
                onClick={() => update({ name: one.name, a: null, b: null })}
              >
                {one.ref}
              </button>{" "}
              <span className="muted">
                {one.versions} version{one.versions === 1 ? "" : "s"}
                {one.license ? ` · ${one.license}` : ""}
              </span>
            </li>
          ))}
        </ul>
        {listed.data && listed.data.length === 0 ? <p>None of this kind.</p> : null}
      </nav>
      {chosen ? (
        <div className="detail">
          <h2>{chosen.ref}</h2>
          {versions.length > 1 ? (
            <p className="toolbar">
              <label htmlFor="ver-a">Compare</label>
              <select id="ver-a" value={a ?? ""} onChange={(e) => update({ a: e.target.value })}>
                {versions.map((v) => (
                  <option key={v}>{v}</option>
                ))}
              </select>
              <label htmlFor="ver-b">with</label>
              <select id="ver-b" value={b ?? ""} onChange={(e) => update({ b: e.target.value })}>
                {versions.map((v) => (
                  <option key={v}>{v}</option>
                ))}
              </select>
            </p>
          ) : null}
          {kind === "schema" && a && b && a !== b ? <SchemaDiff project={project} a={a} b={b} /> : null}
          {kind === "dataset" && a && b && a !== b ? <DriftCompare project={project} a={a} b={b} /> : null}
          {(kind === "scene" || kind === "dataset") && a && b && a !== b ? (
            <VersionDiff project={project} kind={kind} a={a} b={b} />
          ) : null}
          <div className="versions">
            {[...new Set([a, b].filter((v): v is string => v !== null))].map((v) => (
              <Version key={v} project={project} reference={v} compared={kind === "dataset" && a !== b ? [a, b] : [null, null]} />
            ))}
          </div>
        </div>
      ) : null}
    </div>
  );
}
