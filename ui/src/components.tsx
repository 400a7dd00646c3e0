import type { ReactNode } from "react";
import { Link, useParams } from "react-router-dom";
import { ApiError } from "./api";

export function useProject(): string {
  return useParams().project ?? "default";
}

export function ErrorLine({ error }: { error: Error | undefined }) {
  if (!error) return null;
  const hint = error instanceof ApiError ? error.hint : null;
  return (
    <p className="error" role="alert">
      {error.message}
      {hint ? <span className="hint"> — {hint}</span> : null}
    </p>
  );
}

export function Loading({ when }: { when: boolean }) {
  return when ? (
    <p className="muted" role="status">
      Loading…
    </p>
  ) : null;
}

/** A link to the lineage explorer centred on ``reference``. */
export function RefLink({ reference, children }: { reference: string; children?: ReactNode }) {
  const project = useProject();
  return (
    <Link to={`/p/${encodeURIComponent(project)}/lineage?ref=${encodeURIComponent(reference)}`} className="ref">
      {children ?? reference}
    </Link>
  );
}

export function shortDigest(digest: string | null | undefined): string {
  if (!digest) return "";
  return digest.startsWith("sha256:") ? `sha256:${digest.slice(7, 19)}…` : digest;
}

export function KeyValues({ values, label }: { values: Record<string, unknown>; label: string }) {
  const entries = Object.entries(values);
  if (entries.length === 0) return null;
  return (
    <table className="kv" aria-label={label}>
      <tbody>
        {entries.map(([key, value]) => (
          <tr key={key}>
            <th scope="row">{key}</th>
            <td>{typeof value === "string" ? value : JSON.stringify(value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
