// The shapes the REST API answers (each a service result's as_dict()).
export interface GraphNode {
  id: string;
  type: string;
  kind: string;
  label: string;
  name: string | null;
  version: number | null;
  status: string | null;
  depth: number;
  aliases: string[];
}

export interface GraphEdge {
  kind: string;
  parent: string;
  child: string;
  role: string | null;
  seq: number | null;
  through?: number;
}

export interface Graph {
  direction?: string;
  roots: string[];
  as_of: string | number | null;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface RunSummary {
  ref: string;
  name: string | null;
  status: string;
  author: string | null;
  started: string | null;
  ended: string | null;
  duration: number | null;
  error: string | null;
  params: Record<string, Json>;
  seed: Json;
  metrics: Record<string, number | string | null>;
  tags: Record<string, string>;
}

export interface Series {
  steps: number[];
  times: number[];
  values: (number | string | null)[];
}

export interface LogRecord {
  seq: number;
  time: string;
  author: string;
  op: string;
  payload: Record<string, Json>;
}

export interface Change {
  category: string;
  subject: string;
  before: string | null;
  after: string | null;
  detail: Record<string, Json>;
  score: number;
}

export interface Diff {
  a: string;
  b: string;
  metrics: { key: string; a: Json; b: Json; delta: number | null; changed: boolean }[];
  changes: Change[];
}

export interface NamedArtifact {
  ref: string;
  kind: string;
  name: string;
  latest: string;
  version: number;
  digest: string;
  versions: number;
  aliases: Record<string, string | number>;
  license: string | null;
}
