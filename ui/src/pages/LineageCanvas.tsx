// The lineage view's canvas: its first picture (LineageSketch), fitted to the canvas as React
// Flow fits a view, then React Flow (LineageFlow, its own chunk) mounted over it once ``flow``
// says the picture is painted; React Flow, once shown, draws every later view itself.
import type { Viewport } from "@xyflow/system";
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
  const canvas = useRef<HTMLDivElement>(null);
  const view = useRef<HTMLDivElement>(null);
  const fit = useRef<{ width: number; height: number; viewport: Viewport } | null>(null);
  // The picture fitted to the canvas's size, read once it is laid out and before it is painted,
  // and set on the picture's viewport directly: a state update here would make React run every
  // effect of the page's first render, and render the page again, before that paint.
  useLayoutEffect(() => {
    if (!ready || !canvas.current) return;
    const { clientWidth: width, clientHeight: height } = canvas.current;
    const viewport = fitted(boxes, width, height);
    fit.current = viewport ? { width, height, viewport } : null;
    if (view.current && viewport) {
      view.current.style.transform = `translate(${viewport.x}px, ${viewport.y}px) scale(${viewport.zoom})`;
      view.current.style.visibility = "visible";
    }
  }, [boxes, ready]);
  const nodes = useMemo(() => flowNodes(shown, boxes, onPath, selectedId), [shown, boxes, onPath, selectedId]);
  const [flowShown, setFlowShown] = useState(false);
  return (
    <div ref={canvas} className="canvas" data-testid="graph" data-ready={ready && !loading ? "yes" : "no"} aria-label="Lineage graph" role="region">
      <Loading when={loading || !ready} />
      {ready && !flowShown ? (
        <LineageSketch shown={shown} boxes={boxes} view={view} onPath={onPath} selectedId={selectedId} onChoose={onChoose} />
      ) : null}
      {flow ? (
        <Suspense fallback={null}>
          <LineageFlow
            shown={shown}
            nodes={nodes}
            onPath={onPath}
            laidOut={laidOut}
            fit={fit.current}
            onChoose={onChoose}
            onShown={() => setFlowShown(true)}
          />
        </Suspense>
      ) : null}
    </div>
  );
}
