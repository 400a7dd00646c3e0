// The pieces of data quality the pages share: the audit report link, a drift table and what a
// node carries of a classification.
import type { MouseEvent } from "react";
import { Link } from "react-router-dom";
import { token } from "./api";
import { RefLink, useProject } from "./components";
import { carriedFrom, driftRows, pageOf, reportUrl, statistic, type Carried, type Drift } from "./lib/quality";

/** Opens `lineal report`'s HTML of ``reference`` in a new tab. Without a token the link is
 * followed as it is; with one (kept in this tab only) the report is read with it and shown
 * in the new tab from the browser's memory. */
export function ReportLink({ reference }: { reference: string }) {
  const project = useProject();
  const href = reportUrl(project, reference);
  function open(event: MouseEvent<HTMLAnchorElement>) {
    const held = token();
    if (!held) return;
    event.preventDefault();
    const tab = window.open("", "_blank");
    if (!tab) return;
    tab.document.title = `Audit report: ${reference}`;
    tab.document.body.textContent = "Writing the audit report…";
    fetch(href, { headers: { authorization: `Bearer ${held}` } })
      .then(async (answer) => {
        if (!answer.ok) {
          const body = (await answer.json().catch(() => ({}))) as { error?: string; hint?: string };
          tab.document.body.textContent = `${body.error ?? answer.statusText}${body.hint ? ` — ${body.hint}` : ""}`;
          return;
        }
        tab.location.href = URL.createObjectURL(await answer.blob());
      })
      .catch((error: unknown) => {
        tab.document.body.textContent = String(error);
      });
  }
  return (
    <a href={href} target="_blank" rel="noopener" onClick={open} className="report-link" aria-label={`Audit report of ${reference} (opens in a new tab)`}>
      Audit report
    </a>
  );
}

/** A reference linked to the page that shows it best (registry, data page), and to the
 * lineage explorer when that is another page. */
export function PageLink({ reference }: { reference: string }) {
  const project = useProject();
  const page = pageOf(reference);
  if (page.startsWith("lineage")) return <RefLink reference={reference} />;
  return (
    <>
      <Link to={`/p/${encodeURIComponent(project)}/${page}`} className="ref">
        {reference}
      </Link>{" "}
      <Link
        to={`/p/${encodeURIComponent(project)}/lineage?ref=${encodeURIComponent(reference)}`}
        className="ref muted"
        aria-label={`${reference} in the lineage explorer`}
      >
        (lineage)
      </Link>
    </>
  );
}

/** Each drift measure: statistic, threshold, verdict, detail; the drifted ones first, marked. */
export function DriftTable({ found, title, id }: { found: Drift; title: string; id: string }) {
  return (
    <section aria-labelledby={id} className="drift">
      <h3 id={id}>
        {title}{" "}
        {found.drift ? (
          <strong className="fail">drift: {found.drifted.join(", ")}</strong>
        ) : (
          <strong className="pass">no drift</strong>
        )}
      </h3>
      <table aria-label={`Drift of ${found.b} from ${found.a}`}>
        <thead>
          <tr>
            <th scope="col">Measure</th>
            <th scope="col">Statistic</th>
            <th scope="col">Threshold</th>
            <th scope="col">Verdict</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {driftRows(found).map((m) => (
            <tr key={m.measure} className={m.drifted ? "flagged" : undefined}>
              <th scope="row">{m.measure}</th>
              <td className="num">{statistic(m.statistic)}</td>
              <td className="num">{statistic(m.threshold)}</td>
              <td>{m.drifted ? <strong className="fail">⚠ {m.verdict}</strong> : m.verdict}</td>
              <td className="detail-text">{m.detail}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** What a node carries of a classification, and from where (`show`'s `classified`). */
export function CarriedList({ carried }: { carried: Carried[] }) {
  if (!carried.length) return null;
  return (
    <>
      <h3>Classified</h3>
      <ul className="classified" aria-label="Classifications carried">
        {carried.map((one) => (
          <li key={`${one.classification}-${one.source}`}>
            <strong className="badge">{one.classification}</strong> from <RefLink reference={one.from} />{" "}
            <span className="muted">({carriedFrom(one)})</span>
          </li>
        ))}
      </ul>
    </>
  );
}
