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
import { closest } from '../cli/suggest.js';
import { isSemver } from '../semver.js';

/**
 * The longest `version` a new model may have: `model pack` names its bundle NAME-VERSION.efb (and the
 * content key NAME-VERSION.key), written under a temp name `.NAME-VERSION.efb.tmp-XXXXXXXXXXXX`, which
 * with a 64-character name stays within the 255 bytes of a file name.
 */
export const MAX_VERSION_LENGTH = 128;

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
  problems.push(...columnProblems(m), ...versionProblems(m));
  // An agent creating a session with 100,000 threads sat in it for minutes (agent-settings.ts MAX_ORT_THREADS).
  for (const k of ['intraOpThreads', 'interOpThreads'] as const) {
    const n = m.runtime[k];
    if (n !== undefined && n > MAX_ORT_THREADS) problems.push(`runtime.${k} is ${n}; expected at most ${MAX_ORT_THREADS} threads (more than an edge box has cores: a larger pool only slows the session's creation)`);
  }
  return problems;
}

/**
 * Versions the schema lets through but an agent cannot use: the schema's pattern takes any run of
 * letters, digits, "." and "-" after the "-" of a prerelease ("1.0.0-a..b", "1.0.0-."), which the
 * agent's semver comparison (semver.ts) refuses, so a runtime.minAgentVersion like that failed every
 * box at install (INVALID_INPUT) after pack, sign, verify and push had taken it. The schema stays as
 * it is: a box that installed such a version must still load it.
 */
function versionProblems(m: Manifest): string[] {
  const problems: string[] = [];
  const expected = 'expected MAJOR.MINOR.PATCH[-prerelease][+build] with dot-separated identifiers that are not empty, such as 1.2.3 or 1.2.3-rc.1';
  if (!isSemver(m.version)) problems.push(`version ${JSON.stringify(m.version)} is not a semantic version an agent can compare; ${expected}`);
  else if (m.version.length > MAX_VERSION_LENGTH) problems.push(`version is ${m.version.length} characters; expected at most ${MAX_VERSION_LENGTH} (the bundle's file name NAME-VERSION.efb must fit a file system's 255 bytes)`);
  const min = m.runtime.minAgentVersion;
  if (!isSemver(min)) problems.push(`runtime.minAgentVersion ${JSON.stringify(min)} is not a semantic version an agent can compare (every agent would refuse the bundle at install); ${expected}`);
  return problems;
}

/**
 * Columns one row of a tensor of `shape` holds as an agent's summaries read it (agent/src/summaries:
 * every dimension after the first; a rank-1 tensor is one row of its elements, a scalar one value), or
 * null when one of them is free.
 */
function columnsOf(shape: readonly number[], last: boolean): number | null {
  if (shape.length === 0) return 1;
  const dims = last ? shape.slice(-1) : shape.length === 1 ? shape : shape.slice(1);
  return dims.some((d) => d < 0) ? null : dims.reduce((a, b) => a * b, 1);
}

const listed = (names: readonly string[]) => names.map((n) => JSON.stringify(n)).join(', ');
const meant = (name: string, names: readonly string[]) => {
  const guess = closest(name, names);
  return guess === undefined ? '' : `; did you mean ${JSON.stringify(guess)}?`;
};

/**
 * What the summaries would read wrong: a column past its tensor's row (an agent steps through the data by
 * the row's length, so column 5 of a 2-column output reads column 1 of the rows after the first two and
 * past the end), a reference naming no feature or no output (that feature gets no bins, so no drift), a
 * reference of another kind than its feature (docs/drift.md, docs/agent-summaries.md).
 */
function columnProblems(m: Manifest): string[] {
  const problems: string[] = [];
  const inputs = new Map(m.io.inputs.map((t) => [t.name, t.shape]));
  const features = m.features ?? [];
  features.forEach((f, i) => {
    const input = f.input ?? m.io.inputs[0]?.name ?? '';
    const shape = inputs.get(input);
    const cols = shape === undefined ? null : columnsOf(shape, false);
    if (cols !== null && f.index >= cols) {
      problems.push(`features[${i}] ${JSON.stringify(f.name)} reads column ${f.index} of input ${JSON.stringify(input)} of shape [${shape!.join(', ')}]; expected a column from 0 to ${cols - 1}`);
    }
  });
  const names = features.map((f) => f.name);
  (m.reference?.features ?? []).forEach((r, i) => {
    const f = features.find((x) => x.name === r.name);
    if (f === undefined) {
      problems.push(`reference.features[${i}] is named ${JSON.stringify(r.name)}, which no feature is${meant(r.name, names)} (expected one of ${names.length ? listed(names) : 'the features, and the manifest has none'}: a feature is compared with the reference of its name)`);
    } else if (f.kind !== r.kind) {
      problems.push(`reference.features[${i}] ${JSON.stringify(r.name)} is ${r.kind} but the feature of that name is ${f.kind}; expected the same kind`);
    }
  });
  const outputs = m.io.outputs.map((t) => t.name);
  (m.reference?.outputs ?? []).forEach((r, i) => {
    const out = m.io.outputs.find((t) => t.name === r.name);
    if (out === undefined) {
      problems.push(`reference.outputs[${i}] is named ${JSON.stringify(r.name)}, which no output is${meant(r.name, outputs)} (expected one of the io outputs ${listed(outputs)})`);
      return;
    }
    const cols = columnsOf(out.shape, true);
    if (cols !== null && r.index >= cols) {
      problems.push(`reference.outputs[${i}] ${JSON.stringify(r.name)} reads column ${r.index} of output ${JSON.stringify(out.name)} of shape [${out.shape.join(', ')}]; expected an index from 0 to ${cols - 1}`);
    }
  });
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
