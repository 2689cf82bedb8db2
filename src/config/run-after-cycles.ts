/**
 * The one rule of run-after chains (`syncs.NAME.schedule.after`) that spans syncs: they must not
 * loop. Pure; validate-project.ts reports what it finds.
 */

/**
 * Cycles of run-after chains among `syncs` (sync name -> the syncs it runs after; names not in the
 * map are ignored), found by a depth-first search in the map's order: each as the path
 * `[a, b, …, a]`, where each sync runs after the next. Every graph with a cycle gives at least one;
 * none gives `[]`.
 */
export function runAfterCycles(syncs: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'active' | 'done'>();
  const path: string[] = [];
  const visit = (sync: string) => {
    state.set(sync, 'active');
    path.push(sync);
    for (const next of syncs.get(sync) ?? []) {
      if (!syncs.has(next)) continue;
      if (state.get(next) === 'active') cycles.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(sync, 'done');
  };
  for (const sync of syncs.keys()) if (!state.has(sync)) visit(sync);
  return cycles;
}
