// The reference id of each model version's manifest, for the ingest guard: a window binned on another
// reference (its `referenceId` names another manifest's) is refused as other_reference rather than merged
// into the version's drift (docs/drift.md "Rollups", docs/decisions/0152-windows-of-another-reference.md).
import type { Db } from '../store/db.js';
import type { HubStatement as Statement } from '../store/hub-db.js';

/** Versions whose reference id is cached; past it the cache starts again. */
const MAX_CACHED = 10_000;
/** A cached id a window contradicts is read again after this long (a version deleted and pushed anew). */
export const REFERENCE_RELOAD_MS = 60_000;

interface Entry { id: string | null; readAt: number }

export class VersionReferences {
  private readonly cache = new Map<string, Entry>();
  private stmt: Statement | null = null;

  constructor(private readonly db: Db) {}

  /**
   * The manifest's reference id of MODEL@VERSION (null: the manifest has none; undefined: the registry
   * lacks the version, so nothing to check). `sent`: the id a window names; one the cache contradicts
   * reads the manifest again when the cached id is older than REFERENCE_RELOAD_MS.
   */
  of(model: string, version: string, sent: string, nowMs: number): string | null | undefined {
    const key = `${model}@${version}`;
    const hit = this.cache.get(key);
    if (hit && (hit.id === sent || nowMs - hit.readAt < REFERENCE_RELOAD_MS)) return hit.id;
    const row = (this.stmt ??= this.db.prepare('SELECT manifest FROM model_versions WHERE name = ? AND version = ?')).get(model, version) as { manifest: string } | undefined;
    if (!row) {
      this.cache.delete(key);
      return undefined;
    }
    const ref = (JSON.parse(row.manifest) as { reference?: { id?: unknown } | null }).reference;
    const id = typeof ref?.id === 'string' ? ref.id : null;
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(key, { id, readAt: nowMs });
    return id;
  }
}
