// Label schema versions compared by their classes (the id each class keeps across versions).
export interface SchemaClass {
  id: number | string;
  name: string;
  supercategory?: string | null;
}

export interface ClassChange {
  change: "added" | "removed" | "renamed";
  id: number | string;
  before: string | null;
  after: string | null;
}

export function classesOf(meta: unknown): SchemaClass[] {
  const schema = (meta as { schema?: { classes?: unknown } } | null)?.schema;
  const classes = schema?.classes;
  return Array.isArray(classes) ? (classes as SchemaClass[]) : [];
}

/** What changed between two versions' classes: renamed (same id), added, removed. */
export function classChanges(before: SchemaClass[], after: SchemaClass[]): ClassChange[] {
  const old = new Map(before.map((c) => [String(c.id), c]));
  const now = new Map(after.map((c) => [String(c.id), c]));
  const changes: ClassChange[] = [];
  for (const [id, one] of old) {
    const next = now.get(id);
    if (!next) changes.push({ change: "removed", id: one.id, before: one.name, after: null });
    else if (next.name !== one.name) changes.push({ change: "renamed", id: one.id, before: one.name, after: next.name });
  }
  for (const [id, one] of now) {
    if (!old.has(id)) changes.push({ change: "added", id: one.id, before: null, after: one.name });
  }
  const order = { renamed: 0, removed: 1, added: 2 };
  return changes.sort((a, b) => order[a.change] - order[b.change] || String(a.id).localeCompare(String(b.id)));
}
