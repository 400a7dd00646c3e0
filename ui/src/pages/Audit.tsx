import { useState, type FormEvent } from "react";
import { useSearchParams } from "react-router-dom";
import { read } from "../api";
import { ErrorLine, Loading, useProject } from "../components";
import { useData } from "../hooks";

interface Row {
  seq: number;
  time: string;
  agent: string | null;
  token_id: string | null;
  method: string;
  endpoint: string;
  path: string;
  refs: string[];
  ops?: string[];
  outcome: string;
  status: number | null;
}

const FIELDS = ["agent", "ref", "since", "until"] as const;

export default function Audit() {
  const project = useProject();
  const [params, setParams] = useSearchParams();
  const [form, setForm] = useState<Record<string, string>>(() =>
    Object.fromEntries(FIELDS.map((f) => [f, params.get(f) ?? ""])),
  );
  const limit = Number(params.get("limit") ?? "200");
  const filters = Object.fromEntries(FIELDS.map((f) => [f, params.get(f)]));
  const found = useData(
    (signal) => read<{ rows: Row[] }>(project, "audit", { ...filters, limit }, signal),
    [project, params.toString()],
  );

  function submit(event: FormEvent) {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const f of FIELDS) if (form[f]?.trim()) next.set(f, form[f]!.trim());
    setParams(next);
  }

  const rows = [...(found.data?.rows ?? [])].sort((a, b) => b.seq - a.seq);
  return (
    <div className="page wide audit">
      <h1>Audit trail</h1>
      <p className="muted">Who read or changed what, when: each row is chained and its head signed.</p>
      <form className="toolbar" onSubmit={submit} aria-label="Audit filters">
        {FIELDS.map((f) => (
          <span key={f}>
            <label htmlFor={`audit-${f}`}>{f}</label>{" "}
            <input
              id={`audit-${f}`}
              value={form[f] ?? ""}
              onChange={(e) => setForm({ ...form, [f]: e.target.value })}
              placeholder={f === "since" || f === "until" ? "2026-01-01, 30d" : ""}
              size={f === "ref" ? 28 : 14}
            />
          </span>
        ))}
        <button type="submit">Filter</button>
      </form>
      <ErrorLine error={found.error} />
      <Loading when={found.loading} />
      <div className="scroll-x">
        <table aria-label="Audit rows, newest first" className="audit-rows">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Time</th>
              <th scope="col">Agent</th>
              <th scope="col">What</th>
              <th scope="col">References</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.seq} className={row.outcome === "ok" ? "" : "fail"}>
                <td>{row.seq}</td>
                <td>{row.time.replace("T", " ").slice(0, 19)}</td>
                <td>{row.agent ?? "(anonymous)"}</td>
                <td>
                  {row.method} {row.endpoint}
                  {row.ops?.length ? <span className="muted"> ({row.ops.join(", ")})</span> : null}
                </td>
                <td className="refs">{row.refs.join(", ")}</td>
                <td>
                  {row.outcome}
                  {row.status ? ` ${row.status}` : ""}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {found.data && rows.length === 0 ? <p>No audit rows match.</p> : null}
    </div>
  );
}
