// The lineage view's canvas: its first picture (LineageSketch), fitted to the canvas as React
// Flow fits a view, then React Flow (LineageFlow, its own chunk) mounted over it once ``flow``
// says the picture is painted; React Flow, once shown, draws every later view itself.
import { lazy, Suspense, useLayoutEffect, useMemo, useRef, useState } from "react";
import { Loading } from "../components";
import { flowNodes } from "../lib/flow";
import type { Box, Merged } from "../lib/graph";
import { fitted } from "../lib/sketch";
import type { GraphNode } from "../types";
import { LineageSketch } from "./LineageSketch";

const LineageFlow = lazy(() => import("./LineageFlow"));

export interface CanvasProps {
  shown: Merged;
  boxes: Box[];
  /** The layout's key, and whether ``boxes`` are that layout's. */
  laidOut: string;
  ready: boolean;
  loading: boolean;
  onPath: ReadonlySet<string>;
  selectedId: string | null;
  onChoose: (node: GraphNode) => void;
  /** Load and mount React Flow (once the first picture is painted). */
  flow: boolean;
}

export function LineageCanvas({ shown, boxes, laidOut, ready, loading, onPath, selectedId, onChoose, flow }: CanvasProps) {
  // The canvas's size, read as it appears, before it is painted (a re-render of this alone).
  const canvas = useRef<HTMLDivElement>(null);
  const [pane, setPane] = useState<{ width: number; height: number } | null>(null);
  useLayoutEffect(() => {
    if (canvas.current) setPane({ width: canvas.current.clientWidth, height: canvas.current.clientHeight });
  }, []);
  const viewport = useMemo(() => (pane && ready ? fitted(boxes, pane.width, pane.height) : null), [boxes, pane, ready]);
  const nodes = useMemo(() => flowNodes(shown, boxes, onPath, selectedId), [shown, boxes, onPath, selectedId]);
  const [flowShown, setFlowShown] = useState(false);
  return (
    <div ref={canvas} className="canvas" data-testid="graph" data-ready={ready ? "yes" : "no"} aria-label="Lineage graph" role="region">
      <Loading when={loading || !ready} />
      {viewport && !flowShown ? (
        <LineageSketch shown={shown} boxes={boxes} viewport={viewport} onPath={onPath} selectedId={selectedId} onChoose={onChoose} />
      ) : null}
      {flow ? (
        <Suspense fallback={null}>
          <LineageFlow
            shown={shown}
            nodes={nodes}
            onPath={onPath}
            laidOut={laidOut}
            fit={pane && viewport ? { ...pane, viewport } : null}
            onChoose={onChoose}
            onShown={() => setFlowShown(true)}
          />
        </Suspense>
      ) : null}
    </div>
  );
}
