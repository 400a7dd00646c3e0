import { read } from "../api";
import { ErrorLine, Loading, useProject } from "../components";
import { useData } from "../hooks";
import type { Json } from "../types";

type Report = Record<string, Json>;

function Status({ ok, label }: { ok: boolean; label: string }) {
  return <strong className={ok ? "pass" : "fail"}>{ok ? `✓ ${label}` : `✗ ${label}`}</strong>;
}

export default function Verify() {
  const project = useProject();
  const report = useData((signal) => read<Report>(project, "verify", {}, signal), [project]);
  const checkpoint = useData((signal) => read<Report>(project, "checkpoint", {}, signal), [project]);
  const data = report.data;
  const audit = (data?.audit ?? {}) as Report;
  const objects = (data?.objects ?? {}) as Report;
  const kept = (data?.checkpoint ?? {}) as Report;
  return (
    <div className="page verify">
      <h1>Verify</h1>
      <p className="muted">The ledger's hash chain, every signature and the projections, checked now by the server.</p>
      <ErrorLine error={report.error} />
      <Loading when={report.loading} />
      {data ? (
        <section aria-labelledby="verify-ledger">
          <h2 id="verify-ledger">
            <Status ok={Boolean(data.ok)} label={data.ok ? "verified" : "problems found"} />
          </h2>
          {data.problem ? <p className="error">{String(data.problem)}</p> : null}
          <dl className="facts">
            <dt>Ledger chain and signatures</dt>
            <dd>
              <Status ok={Boolean(data.ledger_ok)} label={`${data.records} records, ${data.commits} commits, ${data.agents} agents`} />
            </dd>
            <dt>Head</dt>
            <dd>
              <code>{String(data.head)}</code>
            </dd>
            <dt>Projections</dt>
            <dd>{String(data.projection_rows)} rows rebuilt and compared</dd>
            <dt>Audit log</dt>
            <dd>
              <Status ok={Boolean(audit.ok)} label={`${audit.rows} rows, ${audit.heads} signed heads`} />
              {audit.signer ? ` (signed by ${audit.signer}, key ${audit.key_id})` : ""}
              {audit.problem ? <span className="error"> {String(audit.problem)}</span> : null}
            </dd>
            <dt>Objects</dt>
            <dd>{objects.checked ? <Status ok={Boolean(objects.ok)} label={`${objects.objects} objects`} /> : "not checked here (no object cache)"}</dd>
            <dt>Kept checkpoint</dt>
            <dd>{kept.known ? <Status ok={Boolean(kept.ok)} label="matches" /> : String(kept.reason ?? "none")}</dd>
          </dl>
        </section>
      ) : null}
      <section aria-labelledby="verify-checkpoint">
        <h2 id="verify-checkpoint">Checkpoint</h2>
        <p className="muted">A Merkle tree head over the ledger, signed now: keep it to prove later that history was not rewritten.</p>
        <ErrorLine error={checkpoint.error} />
        <Loading when={checkpoint.loading} />
        {checkpoint.data ? <pre className="json" tabIndex={0} aria-label="The checkpoint, as JSON">{JSON.stringify(checkpoint.data, null, 2)}</pre> : null}
      </section>
    </div>
  );
}
