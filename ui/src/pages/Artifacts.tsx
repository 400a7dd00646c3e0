import { useSearchParams } from "react-router-dom";
import { read } from "../api";
import { ErrorLine, KeyValues, Loading, RefLink, shortDigest, useProject } from "../components";
import { useData } from "../hooks";
import { classChanges, classesOf } from "../lib/schema";
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

function Version({ project, reference }: { project: string; reference: string }) {
  const shown = useData((signal) => read<Shown>(project, "show", { ref: reference }, signal), [project, reference]);
  const data = shown.data;
  const meta = data?.meta;
  const tags = (data?.tags ?? {}) as Record<string, Json>;
  const stats = statsOf(meta);
  const summary = (meta?.summary ?? null) as Record<string, Json> | null;
  const layers = (meta?.layers ?? []) as { path: string; digest: string; size: number }[];
  return (
    <section className="version" aria-label={reference}>
      <h3>
        <RefLink reference={reference} />
      </h3>
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
      {summary && summary.counts ? <KeyValues values={summary.counts as Record<string, Json>} label={`Scene summary of ${reference}`} /> : null}
    </section>
  );
}

function SchemaDiff({ project, a, b }: { project: string; a: string; b: string }) {
  const both = useData(
    (signal) => Promise.all([a, b].map((ref) => read<Shown>(project, "show", { ref }, signal))),
    [project, a, b],
  );
  if (!both.data) return <ErrorLine error={both.error} />;
  const changes = classChanges(classesOf(both.data[0]!.meta), classesOf(both.data[1]!.meta));
  return (
    <section aria-labelledby="schema-diff">
      <h3 id="schema-diff">
        Classes: {a} → {b}
      </h3>
      {changes.length === 0 ? <p>The same classes.</p> : null}
      <ul>
        {changes.map((c) => (
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
          <div className="versions">
            {[...new Set([a, b].filter((v): v is string => v !== null))].map((v) => (
              <Version key={v} project={project} reference={v} />
            ))}
          </div>
        </div>
      ) : null}
    </div>
  );
}
