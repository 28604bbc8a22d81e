// `model pack --sample/--expect/--tolerance`: turns the flags into bundle files
// under samples/ and the manifest's `samples` list (docs/decisions/0009-model-samples.md).
import { resolve } from 'node:path';
import { AppError, MAX_SAMPLES } from '@edgefleet/shared';
import { optBool, optString, optStrings, problemOf, UsageError, type ParsedArgs } from '../args.js';

export interface SampleFlags {
  files: { path: string; source: string }[];
  samples: { request: string; expected?: string; tolerance?: number }[];
}

/** --tolerance's check (OptionSpec.check). */
export const toleranceCheck = problemOf((t) => parseTolerance(t));

function parseTolerance(text: string): number {
  const t = Number(text);
  if (text.trim() === '' || !Number.isFinite(t) || t < 0) throw new UsageError(`--tolerance ${text}: expected a non-negative number such as 1e-4`);
  return t;
}

/**
 * --sample FILE (repeatable), --expect FILE (none, or one per --sample in the
 * same order), --tolerance T (none, one for all, or one per --sample).
 */
export function sampleFlags(args: ParsedArgs, cwd: string): SampleFlags {
  const requests = optStrings(args, 'sample');
  const expects = optStrings(args, 'expect');
  const tolerances = optStrings(args, 'tolerance').map(parseTolerance);
  const problems = packProblems(args);
  if (problems.length) throw new UsageError(problems.join('; '));
  if (requests.length > MAX_SAMPLES) throw new AppError('INVALID_INPUT', `${requests.length} samples given; expected at most ${MAX_SAMPLES}`);
  const out: SampleFlags = { files: [], samples: [] };
  requests.forEach((req, i) => {
    const request = `samples/sample-${i + 1}.request.json`;
    out.files.push({ path: request, source: resolve(cwd, req) });
    const expect = expects[i];
    let expected: string | undefined;
    if (expect !== undefined) {
      expected = `samples/sample-${i + 1}.response.json`;
      out.files.push({ path: expected, source: resolve(cwd, expect) });
    }
    const tolerance = tolerances.length === 1 ? tolerances[0] : tolerances[i];
    out.samples.push({ request, ...(expected ? { expected } : {}), ...(tolerance !== undefined ? { tolerance } : {}) });
  });
  return out;
}

/** What `model pack`'s options say wrong together (its Command check): counts of --expect and --tolerance, --key-out without --encrypt. */
export function packProblems(args: ParsedArgs): string[] {
  const [requests, expects, tolerances] = [optStrings(args, 'sample').length, optStrings(args, 'expect').length, optStrings(args, 'tolerance').length];
  return [
    requests === 0 && (expects > 0 || tolerances > 0) ? '--expect and --tolerance apply to samples: give --sample request.json first' : '',
    requests > 0 && expects !== 0 && expects !== requests ? `${expects} --expect for ${requests} --sample: expected none, or one per --sample in the same order` : '',
    requests > 0 && tolerances > 1 && tolerances !== requests ? `${tolerances} --tolerance for ${requests} --sample: expected none, one for all, or one per --sample` : '',
    optString(args, 'key-out') !== undefined && !optBool(args, 'encrypt') ? '--key-out goes with --encrypt' : '',
  ].filter(Boolean);
}
