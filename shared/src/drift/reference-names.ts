// Output reference names (no zod: the agent's daemon path reads it through @edgefleet/shared/core).
/**
 * The name each output reference goes by in summaries, rollups, drift and gates: its output's name, or
 * `name[index]` when several references share the name (columns of one tensor). Agents and the hub must
 * agree on it: a window's output the hub does not know is left out of its rollups.
 */
export function outputReferenceNames(refs: ReadonlyArray<{ name: string; index: number }>): string[] {
  const uses = new Map<string, number>();
  for (const r of refs) uses.set(r.name, (uses.get(r.name) ?? 0) + 1);
  return refs.map((r) => ((uses.get(r.name) ?? 0) > 1 ? `${r.name}[${r.index}]` : r.name));
}
