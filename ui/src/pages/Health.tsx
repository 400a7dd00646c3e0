import { useEffect, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router-dom";
import { read } from "../api";
import { ErrorLine, Loading, RefLink, useProject } from "../components";
import { useData } from "../hooks";
import { daysOf, headline, MEASURES, troubled, type Health as HealthAnswer, type Measure } from "../lib/quality";
import { PageLink } from "../quality";
import type { Json } from "../types";

type Item = Record<string, Json>;

const text = (value: Json | undefined): string => (value === null || value === undefined ? "" : String(value));

function Reasons({ reasons }: { reasons: Item[] }) {
  return (
    <ul>
      {reasons.map((r, i) => (
        <li key={i}>
          <PageLink reference={text(r.input)} /> has a newer version <PageLink reference={text(r.newer)} />{" "}
          <span className="muted">({text(r.kind)})</span>
        </li>
      ))}
    </ul>
  );
}

/** A measure's list, each entry as that measure names it. */
function Items({ measure }: { measure: Measure }) {
  const items = measure.items;
  if (!items.length) return <p className="muted">Nothing to list.</p>;
  if (measure.measure === "freshness") {
    return (
      <table aria-label="Pipelines and their last run">
        <thead>
          <tr>
            <th scope="col">Pipeline</th>
            <th scope="col">Last run</th>
            <th scope="col">Status</th>
            <th scope="col">Age (days)</th>
            <th scope="col">Runs</th>
            <th scope="col">Fresh</th>
          </tr>
        </thead>
        <tbody>
          {items.map((p) => (
            <tr key={text(p.pipeline)} className={p.fresh ? undefined : "flagged"}>
              <th scope="row">{text(p.pipeline)}</th>
              <td>
                <RefLink reference={text(p.last_run)}>{text(p.started) || text(p.last_run)}</RefLink>
              </td>
              <td>{text(p.status)}</td>
              <td className="num">{typeof p.age_days === "number" ? p.age_days.toFixed(1) : text(p.age_days)}</td>
              <td className="num">{text(p.runs)}</td>
              <td>{p.fresh ? <span className="pass">✓ fresh</span> : <strong className="fail">✗ stale</strong>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  return (
    <ul className="items">
      {items.map((item, i) => {
        const subject = text(item.model ?? item.artifact ?? item.run);
        return (
          <li key={`${subject}-${i}`}>
            {subject ? <PageLink reference={subject} /> : <code>{JSON.stringify(item)}</code>}
            {item.kind && !item.reasons ? <span className="muted"> {text(item.kind)}</span> : null}
            {item.name ? <span className="muted"> {text(item.name)}</span> : null}
            {item.started ? <span className="muted"> started {text(item.started)}</span> : null}
            {item.latest === false ? <span className="muted"> (a newer version of it exists)</span> : null}
            {Array.isArray(item.gaps) ? (
              <ul>
                {item.gaps.map((gap, j) => (
                  <li key={j}>{text(gap)}</li>
                ))}
              </ul>
            ) : null}
            {Array.isArray(item.reasons) ? <Reasons reasons={item.reasons as Item[]} /> : null}
          </li>
        );
      })}
    </ul>
  );
}

export default function Health() {
  const project = useProject();
  const [params, setParams] = useSearchParams();
  const days = daysOf(params.get("days"));
  const health = useData((signal) => read<HealthAnswer>(project, "health", { days }, signal), [project, days]);
  const [draft, setDraft] = useState(String(days));
  useEffect(() => setDraft(String(days)), [days]);

  function apply(event: FormEvent) {
    event.preventDefault();
    const next = new URLSearchParams(params);
    if (draft.trim() === "" || daysOf(draft) === 30) next.delete("days");
    else next.set("days", String(daysOf(draft)));
    setParams(next);
  }

  return (
    <div className="page wide health">
      <h1>Lineage health</h1>
      <p className="muted">
        What `lineal health` measures: model versions with a complete upstream, models made from inputs that have a newer
        version, pipelines not run lately, artifacts nothing uses, runs that died.
      </p>
      <form className="toolbar" onSubmit={apply}>
        <label htmlFor="days">A pipeline is stale after (days)</label>
        <input id="days" type="number" min={0} step="any" value={draft} onChange={(e) => setDraft(e.target.value)} />
        <button type="submit">Apply</button>
      </form>
      <ErrorLine error={health.error} />
      <Loading when={health.loading} />
      {health.data ? (
        <div className="cards">
          {MEASURES.filter(([key]) => health.data![key]).map(([key, title]) => {
            const one = health.data![key];
            return (
              <section key={key} aria-labelledby={`measure-${key}`} className={troubled(one) ? "card trouble" : "card"} data-measure={key}>
                <h2 id={`measure-${key}`}>
                  {title} <span className="big">{headline(one)}</span>
                </h2>
                <p className="muted">{one.detail}</p>
                <Items measure={one} />
              </section>
            );
          })}
        </div>
      ) : null}
      {health.data ? <p className="muted">Measured at {health.data.now}.</p> : null}
    </div>
  );
}
