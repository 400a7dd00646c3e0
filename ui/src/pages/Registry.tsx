import { useSearchParams } from "react-router-dom";
import { ApiError, read } from "../api";
import { ErrorLine, Loading, RefLink, shortDigest, useProject } from "../components";
import { useData } from "../hooks";
import { classificationsByRef, type ClassifiedNode } from "../lib/quality";
import { ReportLink } from "../quality";
import type { Json, NamedArtifact } from "../types";

interface Holder {
  alias: string;
  ref: string;
  since: string;
  seq: number;
  by: string;
  reason: string | null;
  override: boolean;
  promoted: boolean;
}

interface Promotion {
  alias: string;
  ref?: string;
  digest: string;
  author: string;
  reason: string | null;
  policy: string | null;
  override: boolean;
  seq: number;
  time?: string;
  checks: { check: string; detail: string; passed: boolean; fix: string | null }[];
}

interface History {
  model: string;
  holders: Holder[];
  promotions: Promotion[];
  [key: string]: Json | Holder[] | Promotion[];
}

interface Check {
  check: string;
  detail: string;
  passed: boolean;
  fix?: string | null;
}

interface Approval {
  ref: string;
  alias: string;
  by: string;
  reason: string | null;
  seq: number;
  time: string;
}

interface PolicyCheck {
  ref: string;
  alias: string;
  policy: string | null;
  passed: boolean;
  checks: Check[];
}

interface Evaluation {
  ref: string;
  name: string | null;
  status: string;
  role: string;
  datasets: string[];
  metrics: Record<string, Json>;
}

function ModelDetail({ project, name }: { project: string; name: string }) {
  const shown = useData((signal) => read<Record<string, Json>>(project, `models/${encodeURIComponent(name)}`, {}, signal), [project, name]);
  const history = useData((signal) => read<History>(project, `models/${encodeURIComponent(name)}/history`, {}, signal), [project, name]);
  const holders = history.data?.holders ?? [];
  const checks = useData(
    holders.length
      ? (signal) =>
          Promise.all(
            holders.map((h) =>
              read<PolicyCheck[]>(project, `models/${encodeURIComponent(name)}:${h.alias}/check`, { alias: h.alias }, signal)
                .then((found) => ({ alias: h.alias, checks: found.flatMap((one) => one.checks), error: null as string | null }))
                .catch((e: Error) => ({ alias: h.alias, checks: [] as Check[], error: e.message })),
            ),
          )
      : null,
    [project, name, holders.map((h) => h.alias).join(",")],
  );
  const approvals = useData(
    (signal) =>
      read<Approval[]>(project, `models/${encodeURIComponent(name)}/approvals`, {}, signal).catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 404) return null; // a server without them
        throw error;
      }),
    [project, name],
  );
  const classified = useData(
    (signal) =>
      read<ClassifiedNode[]>(project, "classified", {}, signal).then(
        (found) => classificationsByRef(found, "model"),
        (error: unknown) => {
          if (error instanceof ApiError && error.status === 404) return new Map<string, string[]>(); // a server without them
          throw error;
        },
      ),
    [project],
  );
  const versions = (shown.data?.versions ?? []) as Record<string, Json>[];
  const evaluations = (shown.data?.evaluations ?? []) as unknown as Evaluation[];
  return (
    <section aria-labelledby="model-title" className="detail">
      <h2 id="model-title">model/{name}</h2>
      <ErrorLine error={shown.error ?? history.error ?? classified.error} />
      <Loading when={shown.loading || history.loading} />
      <h3>Aliases held now</h3>
      <table aria-label="Aliases held now">
        <thead>
          <tr>
            <th scope="col">Alias</th>
            <th scope="col">Version</th>
            <th scope="col">Since</th>
            <th scope="col">By</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {holders.map((h) => (
            <tr key={h.alias}>
              <td>
                <RefLink reference={`model/${name}:${h.alias}`}>:{h.alias}</RefLink>
              </td>
              <td>
                <RefLink reference={h.ref} />
              </td>
              <td>{h.since}</td>
              <td>{h.by}</td>
              <td>
                {h.reason}
                {h.override ? " (override)" : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {checks.data?.map((one) => (
        <div key={one.alias}>
          <h3>Policy check of :{one.alias} now</h3>
          {one.error ? <p className="muted">{one.error}</p> : null}
          <ul className="checks">
            {one.checks.map((c) => (
              <li key={c.check} className={c.passed ? "pass" : "fail"}>
                <strong>{c.passed ? "✓ passed" : "✗ failed"}</strong> {c.check}: {c.detail}
                {c.fix ? <span className="hint"> — {c.fix}</span> : null}
              </li>
            ))}
          </ul>
        </div>
      ))}
      <h3>Versions</h3>
      <ul>
        {versions.map((v, i) => {
          const reference = String(v.ref ?? v.label ?? "");
          const carries = classified.data?.get(reference) ?? [];
          return (
            <li key={i}>
              <RefLink reference={reference} /> <span className="muted">{shortDigest(String(v.digest ?? ""))}</span>{" "}
              {carries.length ? (
                <strong className="badge" title="carries a classification from its upstream or its own tag">
                  classified: {carries.join(", ")}
                </strong>
              ) : null}{" "}
              <ReportLink reference={reference} />
            </li>
          );
        })}
      </ul>
      <h3>Runs of the latest version</h3>
      <table aria-label="Training and evaluation runs">
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Role</th>
            <th scope="col">Datasets</th>
            <th scope="col">Metrics</th>
          </tr>
        </thead>
        <tbody>
          {evaluations.map((e) => (
            <tr key={e.ref}>
              <td>
                <RefLink reference={e.ref}>{e.name ?? e.ref}</RefLink>
              </td>
              <td>{e.role}</td>
              <td>{e.datasets.join(", ")}</td>
              <td>
                {Object.entries(e.metrics)
                  .map(([k, v]) => `${k} ${typeof v === "number" ? v.toFixed(4) : String(v)}`)
                  .join(", ")}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {approvals.data !== null ? (
        <>
          <h3>Approvals</h3>
          <ErrorLine error={approvals.error} />
          {approvals.data && approvals.data.length === 0 ? <p className="muted">No version of this model was approved.</p> : null}
          <ul>
            {(approvals.data ?? []).map((a) => (
              <li key={a.seq}>
                <RefLink reference={a.ref} /> approved for :{a.alias} by <strong>{a.by}</strong> at {a.time} (record {a.seq})
                {a.reason ? <span className="reason"> “{a.reason}”</span> : null}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      <h3>Promotions</h3>
      <ol className="promotions" aria-label="Promotions, oldest first">
        {(history.data?.promotions ?? []).map((p) => (
          <li key={p.seq}>
            <p>
              <strong>:{p.alias}</strong> → {p.ref ? <RefLink reference={p.ref} /> : shortDigest(p.digest)} by{" "}
              <strong>{p.author}</strong> (record {p.seq}
              {p.policy ? `, policy ${p.policy}` : ""}
              {p.override ? ", override" : ""})
            </p>
            {p.reason ? <p className="reason">“{p.reason}”</p> : null}
            <ul className="checks">
              {p.checks.map((c) => (
                <li key={c.check} className={c.passed ? "pass" : "fail"}>
                  {c.passed ? "✓" : "✗"} {c.check}: {c.detail}
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ol>
    </section>
  );
}

export default function Registry() {
  const project = useProject();
  const [params, setParams] = useSearchParams();
  const models = useData((signal) => read<NamedArtifact[]>(project, "artifacts", { kind: "model" }, signal), [project]);
  const chosen = params.get("model") ?? models.data?.[0]?.name ?? null;
  return (
    <div className="page registry two-columns">
      <h1>Model registry</h1>
      <nav aria-label="Models" className="list">
        <ErrorLine error={models.error} />
        <Loading when={models.loading} />
        <ul>
          {(models.data ?? []).map((m) => (
            <li key={m.name}>
              <button
                type="button"
                className="linkish"
                aria-current={m.name === chosen ? "true" : undefined}
                onClick={() => setParams({ model: m.name })}
              >
                {m.ref}
              </button>{" "}
              <span className="muted">
                v{m.version}
                {Object.keys(m.aliases).map((alias) => ` :${alias}`)}
              </span>
            </li>
          ))}
        </ul>
        {models.data && models.data.length === 0 ? <p>No models yet.</p> : null}
      </nav>
      {chosen ? <ModelDetail project={project} name={chosen} /> : null}
    </div>
  );
}
