// The lineage view's first picture: its nodes and edges drawn where React Flow will draw them
// (lib/sketch.ts), as soon as the graph and its layout are there, without waiting for React
// Flow's code (its own chunk, LineageFlow) to load and mount. React Flow replaces it; until then
// a click on a node selects and expands it as React Flow's does.
import type { RefObject } from "react";
import { caption, type Box, type Merged } from "../lib/graph";
import { sketchEdges } from "../lib/sketch";
import type { GraphNode } from "../types";

export interface SketchProps {
  shown: Merged;
  boxes: Box[];
  /** The picture's viewport: its canvas fits it there (LineageCanvas) before it is painted. */
  view: RefObject<HTMLDivElement>;
  onPath: ReadonlySet<string>;
  selectedId: string | null;
  onChoose: (node: GraphNode) => void;
}

export function LineageSketch({ shown, boxes, view, onPath, selectedId, onChoose }: SketchProps) {
  const at = new Map(boxes.map((box) => [box.id, box]));
  return (
    // Hidden from assistive technology: the "Nodes in view" list is the view's accessible form,
    // and React Flow's nodes replace these.
    <div className="lineage-sketch" aria-hidden="true">
      <div ref={view} className="lineage-sketch-viewport">
        <svg className="lineage-sketch-edges" width="1" height="1">
          <defs>
            <marker id="sketch-arrow" viewBox="-10 -10 20 20" markerWidth="12.5" markerHeight="12.5" orient="auto-start-reverse" refX="0" refY="0">
              <polyline points="-5,-4 0,0 -5,4 -5,-4" />
            </marker>
          </defs>
          {sketchEdges(shown, boxes).map((one) => (
            <g key={one.id} data-id={one.id} className={onPath.has(one.edge.parent) && onPath.has(one.edge.child) ? "on-path" : ""}>
              <path d={one.path} markerEnd="url(#sketch-arrow)" />
              <text x={one.labelX} y={one.labelY}>
                {one.label}
              </text>
            </g>
          ))}
        </svg>
        {shown.nodes.map((node) => {
          const box = at.get(node.id);
          if (!box) return null;
          const { title, detail } = caption(node);
          const classes = ["lnode", `k-${node.kind}`, node.type === "run" ? "is-run" : ""];
          if (onPath.has(node.id)) classes.push("on-path");
          if (shown.roots.includes(node.id)) classes.push("is-root");
          if (node.id === selectedId) classes.push("is-selected");
          return (
            <div
              key={node.id}
              data-id={node.id}
              className="lineage-sketch-node"
              style={{ transform: `translate(${box.x}px, ${box.y}px)`, width: box.width, height: box.height }}
              onClick={() => onChoose(node)}
            >
              <div className={classes.join(" ")} title={node.label}>
                <div className="lnode-title">{title}</div>
                <div className="lnode-detail">
                  <span className="kind">{node.kind}</span>
                  {detail ? ` · ${detail}` : ""}
                </div>
              </div>
            </div>
          );
        })}
      </div>
    </div>
  );
}
