// Layered layout of a lineage view, left to right, in the page: dagre (50 kB, a few
// milliseconds for the usual depth-2 view of tens of nodes). Its own module (no elkjs) so the
// page's first picture (src/first.ts) lays a view out with the very code the explorer uses.
import { Graph, layout as dagreLayout } from "@dagrejs/dagre";
import type { Box } from "./graph";

export const NODE_WIDTH = 230;
export const NODE_HEIGHT = 50;
/** The most nodes laid out in the page itself; more go to elkjs's worker (layout.ts). */
export const SYNC_LIMIT = 150;
export const BETWEEN_LAYERS = 70;
export const BETWEEN_NODES = 24;

/** Positions (top-left corners) of ``ids`` with ``edges`` (parent → child), computed now by
 * dagre. Edges naming a node not in ``ids`` are left out. */
export function layoutNow(ids: string[], edges: [string, string][]): Box[] {
  const graph = new Graph({ multigraph: true });
  graph.setGraph({ rankdir: "LR", ranksep: BETWEEN_LAYERS, nodesep: BETWEEN_NODES, marginx: 0, marginy: 0 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const id of ids) graph.setNode(id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  const known = new Set(ids);
  edges.forEach(([source, target], i) => {
    if (known.has(source) && known.has(target)) graph.setEdge(source, target, {}, `e${i}`);
  });
  dagreLayout(graph);
  return ids.map((id) => {
    const node = graph.node(id);
    // dagre gives the centre of each node; React Flow and the SVG export want the corner.
    return { id, x: node.x - NODE_WIDTH / 2, y: node.y - NODE_HEIGHT / 2, width: NODE_WIDTH, height: NODE_HEIGHT };
  });
}
