// The lineage graph's own logic: merging answers, text exports, an SVG of a laid-out view.
import type { Graph, GraphEdge, GraphNode } from "../types";

/** The most nodes drawn at once: a bigger answer is cut, deepest first, and says so. */
export const MAX_NODES = 400;

export interface Merged {
  nodes: GraphNode[];
  edges: GraphEdge[];
  roots: string[];
}

export function edgeKey(edge: GraphEdge): string {
  return `${edge.parent}\u0000${edge.child}\u0000${edge.kind}\u0000${edge.role ?? ""}`;
}

/** Several answers (upstream, downstream, expansions) as one graph: each node and edge once;
 * a node keeps its smallest depth. */
export function mergeGraphs(graphs: Graph[]): Merged {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();
  const roots: string[] = [];
  for (const graph of graphs) {
    for (const root of graph.roots) if (!roots.includes(root)) roots.push(root);
    for (const node of graph.nodes) {
      const known = nodes.get(node.id);
      if (!known || node.depth < known.depth) nodes.set(node.id, node);
    }
    for (const edge of graph.edges) edges.set(edgeKey(edge), edge);
  }
  const kept = [...edges.values()].filter((e) => nodes.has(e.parent) && nodes.has(e.child));
  return { nodes: [...nodes.values()], edges: kept, roots };
}

/** At most ``max`` nodes: the nearest to the roots first, and the edges between those kept. */
export function nearest(graph: Merged, max: number): Merged {
  if (graph.nodes.length <= max) return graph;
  const kept = [...graph.nodes].sort((a, b) => a.depth - b.depth).slice(0, max);
  const ids = new Set(kept.map((n) => n.id));
  return {
    roots: graph.roots,
    nodes: kept,
    edges: graph.edges.filter((e) => ids.has(e.parent) && ids.has(e.child)),
  };
}

/** The reference to ask /show about a node: its label when it is one (KIND/NAME@vN, run/…). */
export function nodeRef(node: GraphNode): string {
  return node.label || node.id;
}

export function edgeLabel(edge: GraphEdge): string {
  if (edge.through !== undefined && edge.through !== null) return `via ${edge.through} hidden`;
  return edge.role ? `${edge.kind} (${edge.role})` : edge.kind;
}

/** A node's caption in the graph: a short label and a second line (name, status, aliases). */
export function caption(node: GraphNode): { title: string; detail: string } {
  let title = node.label;
  if (title.startsWith("sha256:")) title = `${node.kind} ${title.slice(7, 19)}…`;
  if (node.type === "run") title = node.name ? `run ${node.name}` : title;
  const detail: string[] = [];
  if (node.type === "run") detail.push(node.label.slice(4, 14) + "…", node.status ?? "");
  for (const alias of node.aliases) detail.push(`:${alias.split(":").pop()}`);
  return { title, detail: detail.filter(Boolean).join(" · ") };
}

function quoteDot(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function quoteMermaid(text: string): string {
  return `"${text.replace(/"/g, "#quot;")}"`;
}

const DOT_SHAPES: Record<string, string> = { artifact: "box", run: "ellipse", agent: "house" };
const MERMAID_SHAPES: Record<string, [string, string]> = {
  artifact: ["[", "]"],
  run: ["([", "])"],
  agent: ["{{", "}}"],
};

/** Graphviz text of the graph (as `lineal upstream --format dot` draws it). */
export function toDot(graph: Merged): string {
  const lines = ["digraph lineage {", "  rankdir=LR;"];
  for (const node of graph.nodes) {
    const shape = DOT_SHAPES[node.type] ?? "box";
    lines.push(`  ${quoteDot(node.id)} [label=${quoteDot(node.label)}, shape=${shape}];`);
  }
  for (const edge of graph.edges) {
    lines.push(`  ${quoteDot(edge.parent)} -> ${quoteDot(edge.child)} [label=${quoteDot(edgeLabel(edge))}];`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** Mermaid text of the graph: nodes as n0, n1, … with their labels. */
export function toMermaid(graph: Merged): string {
  const ids = new Map(graph.nodes.map((node, i) => [node.id, `n${i}`]));
  const lines = ["flowchart LR"];
  for (const node of graph.nodes) {
    const [open, close] = MERMAID_SHAPES[node.type] ?? ["[", "]"];
    lines.push(`  ${ids.get(node.id)}${open}${quoteMermaid(node.label)}${close}`);
  }
  for (const edge of graph.edges) {
    lines.push(`  ${ids.get(edge.parent)} -->|${quoteMermaid(edgeLabel(edge))}| ${ids.get(edge.child)}`);
  }
  return lines.join("\n") + "\n";
}

export interface Box {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A standalone SVG of the laid-out view (what the export buttons save). */
export function toSvg(graph: Merged, boxes: Box[], highlighted: ReadonlySet<string> = new Set()): string {
  const at = new Map(boxes.map((box) => [box.id, box]));
  const pad = 20;
  const width = Math.max(100, ...boxes.map((b) => b.x + b.width)) + pad * 2;
  const height = Math.max(60, ...boxes.map((b) => b.y + b.height)) + pad * 2;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>`,
  ];
  for (const edge of graph.edges) {
    const a = at.get(edge.parent);
    const b = at.get(edge.child);
    if (!a || !b) continue;
    const x1 = a.x + a.width + pad;
    const y1 = a.y + a.height / 2 + pad;
    const x2 = b.x + pad;
    const y2 = b.y + b.height / 2 + pad;
    parts.push(
      `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#555" marker-end="url(#arrow)"><title>${escapeXml(edgeLabel(edge))}</title></line>`,
    );
  }
  for (const node of graph.nodes) {
    const box = at.get(node.id);
    if (!box) continue;
    const stroke = highlighted.has(node.id) ? "#d97706" : "#334155";
    const { title, detail } = caption(node);
    parts.push(
      `<g transform="translate(${box.x + pad},${box.y + pad})">` +
        `<rect width="${box.width}" height="${box.height}" rx="${node.type === "run" ? 16 : 4}" fill="#f8fafc" stroke="${stroke}" stroke-width="${highlighted.has(node.id) ? 3 : 1}"/>` +
        `<text x="8" y="18" fill="#0f172a">${escapeXml(title)}</text>` +
        `<text x="8" y="34" fill="#475569" font-size="10">${escapeXml(node.kind)}${detail ? " · " + escapeXml(detail) : ""}</text>` +
        `</g>`,
    );
  }
  parts.push("</svg>");
  return parts.join("\n");
}
