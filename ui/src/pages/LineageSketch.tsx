// The lineage view's first picture: its nodes and edges drawn where React Flow will draw them
// (lib/sketch.ts), as soon as the graph and its layout are there, without waiting for React
// Flow's code (its own chunk, LineageFlow) to load and mount. Its markup is the one the page's
// early script (src/first.ts) draws before React has loaded (sketchMarkup), so this one replaces
// that in place. React Flow replaces it; until then a click on a node selects and expands it as
// React Flow's does.
import { useMemo, type MouseEvent, type RefObject } from "react";
import type { Box, Merged } from "../lib/graph";
import { sketchMarkup } from "../lib/sketch";
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
  const markup = useMemo(() => ({ __html: sketchMarkup(shown, boxes, onPath, selectedId) }), [shown, boxes, onPath, selectedId]);
  function click(event: MouseEvent<HTMLDivElement>) {
    const id = (event.target as Element).closest<HTMLElement>(".lineage-sketch-node")?.dataset.id;
    const node = shown.nodes.find((one) => one.id === id);
    if (node) onChoose(node);
  }
  return (
    // Hidden from assistive technology: the "Nodes in view" list is the view's accessible form,
    // and React Flow's nodes replace these.
    <div className="lineage-sketch" aria-hidden="true">
      <div ref={view} className="lineage-sketch-viewport" onClick={click} dangerouslySetInnerHTML={markup} />
    </div>
  );
}
