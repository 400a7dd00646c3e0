// Layered layout of the lineage view by elkjs, in a web worker (the page stays responsive).
import ELK from "elkjs/lib/elk-api.js";
import workerUrl from "elkjs/lib/elk-worker.min.js?url";
import type { Box } from "./graph";

export const NODE_WIDTH = 230;
export const NODE_HEIGHT = 50;

let elk: InstanceType<typeof ELK> | null = null;

/** Start the worker now (loading elkjs while the page asks for its graph). */
export function warmUp(): void {
  engine();
}

function engine(): InstanceType<typeof ELK> {
  if (elk === null) {
    elk = new ELK({
      workerFactory: () => new Worker(workerUrl),
    });
  }
  return elk;
}

/** Positions of ``ids`` with ``edges`` (parent → child) drawn left to right. */
export async function layout(ids: string[], edges: [string, string][]): Promise<Box[]> {
  const graph = {
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "RIGHT",
      "elk.layered.spacing.nodeNodeBetweenLayers": "70",
      "elk.spacing.nodeNode": "24",
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
