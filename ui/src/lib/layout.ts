// Layered layout of the lineage view, left to right. A view of up to SYNC_LIMIT nodes (the
// usual depth-2 view: tens of nodes) is laid out at once in the page by dagre (50 kB, a few
// milliseconds), so the first view waits for no worker to start; a bigger one goes to elkjs
// in a web worker (1.6 MB to load once, and the page stays responsive while it works).
import ELK from "elkjs/lib/elk-api.js";
import workerUrl from "elkjs/lib/elk-worker.min.js?url";
import type { Box } from "./graph";
import { BETWEEN_LAYERS, BETWEEN_NODES, layoutNow, NODE_HEIGHT, NODE_WIDTH, SYNC_LIMIT } from "./place";

export { layoutNow, NODE_HEIGHT, NODE_WIDTH, SYNC_LIMIT };

let elk: InstanceType<typeof ELK> | null = null;

function engine(): InstanceType<typeof ELK> {
  if (elk === null) {
    elk = new ELK({
      workerFactory: () => new Worker(workerUrl),
    });
  }
  return elk;
}

/** Positions of ``ids`` with ``edges`` (parent → child) drawn left to right: at once (dagre) for
 * up to SYNC_LIMIT nodes, else by elkjs in its worker (started on the first such view). */
export async function layout(ids: string[], edges: [string, string][]): Promise<Box[]> {
  if (ids.length <= SYNC_LIMIT) return layoutNow(ids, edges);
  const graph = {
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "RIGHT",
      "elk.layered.spacing.nodeNodeBetweenLayers": String(BETWEEN_LAYERS),
      "elk.spacing.nodeNode": String(BETWEEN_NODES),
      "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
    },
    children: ids.map((id) => ({ id, width: NODE_WIDTH, height: NODE_HEIGHT })),
    edges: edges.map(([source, target], i) => ({ id: `e${i}`, sources: [source], targets: [target] })),
  };
  const done = await engine().layout(graph);
  return (done.children ?? []).map((child) => ({
    id: child.id,
    x: child.x ?? 0,
    y: child.y ?? 0,
    width: child.width ?? NODE_WIDTH,
    height: child.height ?? NODE_HEIGHT,
  }));
}
