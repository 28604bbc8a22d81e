// The wire schemas (zod), loaded on first need instead of at start-up: zod and the
// schemas cost ~20 MB of RSS, and a standalone agent serving installed models never
// needs them (docs/performance.md). Paths that do (install, the hub link, the CLI's
// admin commands) are async and call loadWire() first; the synchronous code under
// them (e.g. TrustRepo.get()) then uses wire().
import { AppError } from '@edgefleet/shared/core';

type Wire = typeof import('@edgefleet/shared');

let loaded: Wire | undefined;

/** Loads @edgefleet/shared with its zod schemas (once). */
export async function loadWire(): Promise<Wire> {
  loaded ??= await import('@edgefleet/shared');
  return loaded;
}

/** The loaded schemas; a programming error (INTERNAL) when loadWire() has not run yet. */
export function wire(): Wire {
  if (loaded === undefined) throw new AppError('INTERNAL', 'the wire schemas are not loaded: call loadWire() before parsing wire documents');
  return loaded;
}
