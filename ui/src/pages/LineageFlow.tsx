// The lineage view in React Flow (pan, zoom, click to expand): its own chunk, loaded once the
// view's first picture (LineageSketch) is on screen, and mounted where that picture is.
import "@xyflow/react/dist/style.css";
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type NodeProps,
  type Viewport,
  useReactFlow,
} from "@xyflow/react";
import { useEffect, useMemo, useRef, useState } from "react";
import { caption, edgeLabel, type Merged } from "../lib/graph";
import type { NodeData } from "../lib/flow";
import { FIT } from "../lib/sketch";
import type { GraphNode } from "../types";

function LineageNode({ data, selected }: NodeProps<Node<NodeData>>) {
  const { title, detail } = caption(data.node);
  const classes = ["lnode", `k-${data.node.kind}`, data.node.type === "run" ? "is-run" : ""];
  if (data.highlighted) classes.push("on-path");
  if (data.root) classes.push("is-root");
  if (selected) classes.push("is-selected");
  return (
    <div className={classes.join(" ")} title={data.node.label}>
      <Handle type="target" position={Position.Left} />
      <div className="lnode-title">{title}</div>
      <div className="lnode-detail">
        <span className="kind">{data.node.kind}</span>
        {detail ? ` · ${detail}` : ""}
      </div>
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

const NODE_TYPES = { lineage: LineageNode };

/** Fits the view to each new layout, in the same graph (no remount: an expansion redraws only
 * what changed). React Flow queues the fit until it has taken the new nodes. */
function FitEachLayout({ laidOut }: { laidOut: string }) {
  const { fitView } = useReactFlow();
  const first = useRef(true);
  useEffect(() => {
    if (first.current) first.current = false; // the first is fitted already
    else if (laidOut) void fitView();
  }, [laidOut, fitView]);
  return null;
}

export interface FlowProps {
  shown: Merged;
  nodes: Node<NodeData>[];
  onPath: ReadonlySet<string>;
  /** The layout's key: a new one is fitted. */
  laidOut: string;
  /** The pane's size and the view fitted to it, as the first picture drew it (null: not known). */
  fit: { width: number; height: number; viewport: Viewport } | null;
  onChoose: (node: GraphNode) => void;
  /** Called once React Flow has drawn the view (the first picture can go). */
  onShown: () => void;
}

export default function LineageFlow({ shown, nodes, onPath, laidOut, fit, onChoose, onShown }: FlowProps) {
  const edges = useMemo<Edge[]>(
    () =>
      shown.edges.map((edge, i) => ({
        id: `e${i}`,
        source: edge.parent,
        target: edge.child,
        label: edgeLabel(edge),
        markerEnd: { type: MarkerType.ArrowClosed },
        className: onPath.has(edge.parent) && onPath.has(edge.child) ? "on-path" : "",
        animated: onPath.has(edge.parent) && onPath.has(edge.child),
      })),
    [shown, onPath],
  );
  // Given the pane's size, React Flow fits the view in its first frame (as lib/sketch.ts's fitted()
  // did for the first picture), and given the same viewport its pan and zoom start there, rather
  // than at the origin until its fitView runs a frame later. Later layouts: FitEachLayout.
  const [start] = useState(() => fit);
  return (
    <ReactFlow
      nodes={nodes}
      edges={edges}
      nodeTypes={NODE_TYPES}
      onNodeClick={(_, node) => onChoose(node.data.node)}
      onInit={onShown}
      nodesDraggable={false}
      nodesConnectable={false}
      fitView
      width={start?.width}
      height={start?.height}
      defaultViewport={start?.viewport}
      minZoom={FIT.minZoom}
      maxZoom={FIT.maxZoom}
      proOptions={{ hideAttribution: true }}
    >
      <Background />
      <Controls showInteractive={false} />
      <FitEachLayout laidOut={laidOut} />
    </ReactFlow>
  );
}
