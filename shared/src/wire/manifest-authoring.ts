// Checks a manifest must pass when a model version is made or published, not when one is loaded.
// Windows name each feature once (the hub refuses a window naming one twice, hub/src/ingest/plausibility.ts),
// so a model whose manifest gives two features the same name would have every window of every box
// refused. The Manifest schema cannot refuse it: an agent that already installed such a version must
// still load it after an upgrade. So `model pack`, `model sign` and the hub's push refuse it instead
// (docs/cli.md "model pack"). An authored manifest's fields the schema does not know would be dropped
// from the bundle without a word, so `model pack` refuses them (unknown-fields.ts).
import { AppError } from '../errors.js';
import { MAX_ORT_THREADS } from '../agent-settings.js';
import { Manifest } from './manifest.js';
import { unknownFields } from './unknown-fields.js';

/** What a new model version's manifest gets wrong beyond its schema: one message per problem. */
export function authoringProblems(m: Manifest): string[] {
  const problems: string[] = [];
  const repeated = (names: readonly string[], what: string) => {
    const first = new Map<string, number>();
    names.forEach((n, i) => {
      const j = first.get(n);
      if (j === undefined) first.set(n, i);
      else problems.push(`${what}[${j}] and ${what}[${i}] are both named ${JSON.stringify(n)}; expected each name once (summaries and drift are keyed by name)`);
    });
  };
  repeated((m.features ?? []).map((f) => f.name), 'features');
  repeated((m.reference?.features ?? []).map((r) => r.name), 'reference.features');
  // An agent creating a session with 100,000 threads sat in it for minutes (agent-settings.ts MAX_ORT_THREADS).
  for (const k of ['intraOpThreads', 'interOpThreads'] as const) {
    const n = m.runtime[k];
    if (n !== undefined && n > MAX_ORT_THREADS) problems.push(`runtime.${k} is ${n}; expected at most ${MAX_ORT_THREADS} threads (more than an edge box has cores: a larger pool only slows the session's creation)`);
  }
  return problems;
}

/** Throws BUNDLE_INVALID naming every problem authoringProblems finds in a new version's manifest. */
export function assertAuthoredManifest(m: Manifest, what: string): void {
  const problems = authoringProblems(m);
  if (problems.length) throw new AppError('BUNDLE_INVALID', `${what}: ${problems.join('; ')}`);
}

/**
 * Throws SCHEMA_INVALID naming every field of an authored manifest (as read, before parsing) that the
 * manifest schema does not know and would drop: a misspelt optional field would otherwise be replaced
 * by its default in the bundle.
 */
export function assertKnownManifestFields(authored: unknown, what: string): void {
  const problems = unknownFields(Manifest, authored);
  if (problems.length) throw new AppError('SCHEMA_INVALID', `${what}: ${problems.join('; ')}; such a field would be dropped from the bundle`);
}
