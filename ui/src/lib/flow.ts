// The lineage view's nodes as React Flow draws them.
import type { Node } from "@xyflow/react";
import type { GraphNode } from "../types";
import type { Box, Merged } from "./graph";
import { NODE_HEIGHT, NODE_WIDTH } from "./place";
import { nodeHandles } from "./sketch";

export interface NodeData extends Record<string, unknown> {
  node: GraphNode;
  highlighted: boolean;
  root: boolean;
}

/** One React Flow node per node of ``shown``, where ``boxes`` placed it (the origin until its
 * layout comes). Each carries its size (the layout's, as its CSS): React Flow shows a node at
 * once only when it knows its size, and otherwise keeps it hidden until it has measured it —
 * which, racing the first layout, could leave a whole view blank. Each carries its handles too,
 * so its edges are drawn with it, not after a measurement; and, since React Flow then measures
 * it no more, its size as measured (what fitView fits: a node without it is left out of the
 * fit, and a view expanded by a click was fitted to its new nodes alone). */
export function flowNodes(shown: Merged, boxes: Box[], onPath: ReadonlySet<string>, selectedId: string | null): Node<NodeData>[] {
  const at = new Map(boxes.map((b) => [b.id, b]));
  return shown.nodes.map((node) => ({
    id: node.id,
    type: "lineage",
    position: { x: at.get(node.id)?.x ?? 0, y: at.get(node.id)?.y ?? 0 },
    width: NODE_WIDTH,
    height: NODE_HEIGHT,
    handles: nodeHandles(),
    measured: { width: NODE_WIDTH, height: NODE_HEIGHT },
    data: { node, highlighted: onPath.has(node.id), root: shown.roots.includes(node.id) },
    selected: node.id === selectedId,
    ariaLabel: `${node.kind} ${node.label}`,
  }));
}
