// Brings the serving runtime in line with the active versions the store records (docs/agent.md): at
// start, each active version's files are re-hashed first (bit rot), falling back to the previous version
// with a bit_rot event on a mismatch; afterwards (reconcile), a switch committed by another process (the
// CLI) is loaded and swapped in. Run by ModelManager one operation at a time with installs and switches.
import { AppError } from '@edgefleet/shared/core';
import type { Manifest } from '@edgefleet/shared';
import type { Logger } from '../log.js';
import type { BlobStore } from '../store/blobs.js';
import type { EventsRepo } from '../store/events-repo.js';
import type { ModelsRepo } from '../store/models-repo.js';
import type { LoadedVersion, ModelRuntime } from '../runtime/runtime.js';
import type { Switched } from './manager-deps.js';

export interface LoadActiveDeps {
  models: ModelsRepo;
  events: EventsRepo;
  blobs: Pick<BlobStore, 'verify'>;
  runtime: ModelRuntime;
  logger: Logger;
}

/** The paths of `m`'s files whose stored copy no longer matches its sha256. */
export async function rottenFiles(blobs: Pick<BlobStore, 'verify'>, m: Manifest): Promise<string[]> {
  const out: string[] = [];
  for (const f of m.files) if (!(await blobs.verify(f.sha256, f.size))) out.push(f.path);
  return out;
}

/** HASH_MISMATCH naming `m`'s `rotten` files. */
export const hashMismatch = (m: Manifest, rotten: string[]): AppError =>
  new AppError('HASH_MISMATCH', `${m.name}@${m.version}: stored files ${rotten.join(', ')} no longer match their sha256: reinstall the bundle`);

/** HASH_MISMATCH (and a bit_rot event) when a stored file of `m` no longer matches its sha256. */
export async function checkFiles(d: Pick<LoadActiveDeps, 'blobs' | 'events'>, m: Manifest): Promise<void> {
  const rotten = await rottenFiles(d.blobs, m);
  if (rotten.length) {
    d.events.add({ kind: 'bit_rot', model: m.name, version: m.version, code: 'HASH_MISMATCH', message: `${m.name}@${m.version}: ${rotten.join(', ')} no longer match their sha256` });
    throw hashMismatch(m, rotten);
  }
}

/** A start that served the previous version of a model because its active one did not load or had rotted. */
export interface FellBack { from: string; to: string }

/**
 * At start: re-hash each active version's files (bit rot); on a mismatch or a failed load fall back to the
 * previous version and record it; then load it (`load`: the files were just re-hashed). Returns the models
 * of which no version loaded, and the fallbacks (undone by undoFallback when new runtime settings are
 * blamed for them, config-start.ts).
 */
export async function loadActiveAtStart(d: LoadActiveDeps, load: (m: Manifest) => Promise<LoadedVersion>): Promise<{ notLoaded: string[]; fellBack: Map<string, FellBack> }> {
  const notLoaded: string[] = [];
  const fellBack = new Map<string, FellBack>();
  for (const entry of d.models.listActive()) {
    const candidates = [entry.active, ...(entry.previous ? [entry.previous] : [])];
    const loaded = await loadOne(d, load, entry, candidates);
    if (!loaded) notLoaded.push(entry.name);
    else if (loaded !== entry.active) fellBack.set(entry.name, { from: entry.active, to: loaded });
  }
  return { notLoaded, fellBack };
}

/** The first of `candidates` that loads, made active (a fallback recorded): its version; undefined when none does. */
async function loadOne(d: LoadActiveDeps, load: (m: Manifest) => Promise<LoadedVersion>, entry: { name: string; active: string }, candidates: string[]): Promise<string | undefined> {
  for (const version of candidates) {
    const v = d.models.getVersion(entry.name, version);
    if (!v) continue;
    const rotten = await rottenFiles(d.blobs, v.manifest);
    if (rotten.length) {
      const msg = `${entry.name}@${version}: ${rotten.join(', ')} no longer match their sha256 (bit rot)`;
      d.events.add({ kind: 'bit_rot', model: entry.name, version, code: 'HASH_MISMATCH', message: msg, data: { files: rotten } });
      d.logger.error({ model: entry.name, version, files: rotten }, 'bit rot detected');
      continue;
    }
    try {
      const loaded = await load(v.manifest);
      if (version !== entry.active) {
        d.models.setActivePair(entry.name, version, undefined);
        d.events.add({ kind: 'rolled_back', model: entry.name, version, message: `fell back from ${entry.active} to ${version} at start` });
      }
      d.runtime.activate(loaded);
      return version;
    } catch (err) {
      const e = err instanceof AppError ? err : new AppError('MODEL_LOAD_FAILED', (err as Error).message);
      d.events.add({ kind: 'error', model: entry.name, version, code: e.code, message: e.message });
      d.logger.error({ model: entry.name, version, err: e.message }, 'model failed to load at start');
    }
  }
  return undefined;
}

/** Daemon: loads and swaps in the switches committed by another process (the CLI); `switched` is told of each. */
export async function reconcileActive(d: LoadActiveDeps, load: (m: Manifest) => Promise<LoadedVersion>, switched: (s: Switched) => void): Promise<void> {
  for (const entry of d.models.listActive()) {
    if (d.runtime.active(entry.name)?.version === entry.active) continue;
    const v = d.models.getVersion(entry.name, entry.active);
    if (!v) continue;
    try {
      const loaded = await load(v.manifest);
      d.runtime.activate(loaded);
      switched({ name: entry.name, version: entry.active, previous: entry.previous, reason: 'reconcile' });
      d.logger.info({ model: entry.name, version: entry.active }, 'switched (committed by another process)');
    } catch (err) {
      d.logger.error({ model: entry.name, version: entry.active, err: (err as Error).message }, 'could not load the version committed by another process');
    }
  }
}
